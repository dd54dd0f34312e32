import { encodeChangeBody, encodeSnapshotBody, signRecord, ZERO_HASH, type ChangeRecord, type SnapshotRecord } from '../../../shared/settings/evidence.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../../../shared/util/bytes.js';
import type { SimStorage } from '../board.js';
import { readJson, writeJson } from '../state.js';
import type { DeviceKey } from './device-key.js';
import { encodeUpdateBody, type UpdateRecord } from '../../../shared/settings/update-record.js';

/**
 * The board's settings journal: every accepted change (and every firmware update the board
 * test-boots, confirms or reverts, update-record.ts) as a record signed by the device key, each
 * chained to the one before by its hash (shared/settings/evidence.ts), kept in non-volatile state.
 * The journal holds the newest JOURNAL_CAPACITY records; the count and the chain head survive the
 * eviction of older ones, so a verifier sees how many it no longer gets. Snapshots sign the current
 * values with the journal's count and head, binding "what the board holds now" to "how it got there".
 */
export const JOURNAL_CAPACITY = 256;
const FILE = 'settings-journal.json';

interface Stored {
  count: number;
  head: string;
  entries: string[];
}

export class SettingsJournal {
  private entries: Uint8Array[] = [];
  private total = 0;
  private headHash: Uint8Array = ZERO_HASH;

  constructor(
    private readonly storage: SimStorage,
    private readonly key: DeviceKey,
  ) {
    const s = readJson<Stored>(storage, FILE);
    if (s && Number.isInteger(s.count) && /^[0-9a-f]{64}$/.test(s.head) && Array.isArray(s.entries)) {
      this.total = s.count;
      this.headHash = fromHex(s.head);
      this.entries = s.entries.map((h) => fromHex(h));
    }
  }

  get count(): number {
    return this.total;
  }

  get head(): Uint8Array {
    return this.headHash;
  }

  /** Signs, chains and stores one change; returns the signed record. */
  append(change: Omit<ChangeRecord, 'seq' | 'prevHash'>): Uint8Array {
    return this.chain(encodeChangeBody({ ...change, seq: this.total + 1, prevHash: this.headHash }));
  }

  /** Signs, chains and stores a firmware update (test boot, confirm, revert) in the same journal. */
  appendUpdate(update: Omit<UpdateRecord, 'seq' | 'prevHash'>): Uint8Array {
    return this.chain(encodeUpdateBody({ ...update, seq: this.total + 1, prevHash: this.headHash }));
  }

  private chain(body: Uint8Array): Uint8Array {
    const record = signRecord(body, (m) => this.key.sign(m));
    this.total++;
    this.headHash = sha256(body);
    this.entries.push(record);
    if (this.entries.length > JOURNAL_CAPACITY) this.entries.splice(0, this.entries.length - JOURNAL_CAPACITY);
    writeJson(this.storage, FILE, { count: this.total, head: toHex(this.headHash), entries: this.entries.map((e) => toHex(e)) } satisfies Stored);
    return record;
  }

  /** Records with seq > from, oldest first, at most max. */
  page(from: number, max: number): { total: number; entries: Uint8Array[] } {
    const firstSeq = this.total - this.entries.length + 1;
    const start = Math.max(0, from + 1 - firstSeq);
    return { total: this.total, entries: this.entries.slice(start, start + max) };
  }

  /** A signed snapshot of `values` with the journal's count and head. */
  snapshot(input: Omit<SnapshotRecord, 'journalCount' | 'journalHead'>): Uint8Array {
    return signRecord(encodeSnapshotBody({ ...input, journalCount: this.total, journalHead: this.headHash }), (m) => this.key.sign(m));
  }
}
