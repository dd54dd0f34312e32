/**
 * The board's own record of its firmware history: whenever it test-boots a new image, confirms
 * it, or reverts from it, it signs an update record (old and new version, the release bundle's
 * sequence number the host announced, the outcome) into its settings journal, the chain a pull and
 * a package carry, and raises the matching black-box event. What the board ran last is kept in its
 * storage, so a swap finished after a power cut is recorded at the next start.
 */
import { EVENTS } from '../../../shared/blackbox/events.js';
import { ZERO_HASH } from '../../../shared/settings/evidence.js';
import type { ReleaseAnnouncement, UpdateOutcome } from '../../../shared/settings/update-record.js';
import { fromHex, toHex } from '../../../shared/util/bytes.js';
import type { SimBoard } from '../board.js';
import { readJson, writeJson } from '../state.js';
import { BOOT_EVENT } from './journal.js';

const FILE = 'fw-history.json';

interface Stored {
  /** The version the board ran when it last knew. */
  running: string | null;
  /** The version the current test image replaced (what a revert goes back to). */
  before: string | null;
  /** The release the host announced for the install in progress. */
  release: { sequence: number; digest: string } | null;
  /** A revert was asked for: the next permanent swap is a swap back, not an install. */
  revertAsked: boolean;
}

const EVENT_OF: Record<UpdateOutcome, number> = {
  'test-boot': EVENTS.firmware_update,
  confirmed: EVENTS.firmware_confirmed,
  reverted: EVENTS.firmware_reverted,
};

export class UpdateHistory {
  private s: Stored;

  constructor(private readonly board: SimBoard) {
    this.s = readJson<Stored>(board.storage, FILE) ?? { running: null, before: null, release: null, revertAsked: false };
  }

  private save(): void {
    writeJson(this.board.storage, FILE, this.s);
  }

  /** FW_RELEASE: the next install belongs to this release bundle. */
  announce(r: ReleaseAnnouncement): void {
    this.s.release = { sequence: r.sequence, digest: toHex(r.metadataSha256) };
    this.save();
  }

  revertAsked(): void {
    this.s.revertAsked = true;
    this.save();
  }

  private record(outcome: UpdateOutcome, oldVersion: string | null, newVersion: string | null): void {
    const rel = this.s.release;
    this.board.settingsJournal.appendUpdate({
      rtcMs: this.board.now(),
      bootCount: this.board.bootCount,
      outcome,
      releaseSequence: rel?.sequence ?? 0,
      releaseDigest: rel ? fromHex(rel.digest) : ZERO_HASH,
      oldVersion: oldVersion ?? '',
      newVersion: newVersion ?? '',
    });
    this.board.raiseEvent(EVENT_OF[outcome]);
  }

  /** After a boot: what changed since the board last knew, as the boot decision reports it. */
  afterBoot(event: number, running: string | null, testing: boolean): void {
    const was = this.s.running;
    if (was !== null && running !== was) {
      if (testing || event === BOOT_EVENT.SWAPPED_TEST) {
        this.s.before = was;
        this.record('test-boot', was, running);
      } else if (event === BOOT_EVENT.REVERTED || this.s.revertAsked || running === this.s.before) {
        this.record('reverted', was, running);
        this.s.release = null;
        this.s.before = null;
      } else {
        // A permanent install: it runs confirmed from its first start.
        this.record('confirmed', was, running);
        this.s.release = null;
        this.s.before = null;
      }
    }
    this.s.revertAsked = false;
    this.s.running = running;
    this.save();
  }

  /** FW_CONFIRM kept the running test image. */
  confirmed(running: string | null): void {
    this.record('confirmed', this.s.before, running);
    this.s.release = null;
    this.s.before = null;
    this.s.running = running;
    this.save();
  }
}
