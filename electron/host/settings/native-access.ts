/**
 * Settings on a native board: PARAM_LIST for values and the board's own limits, SETTINGS_WRITE for
 * one or many values at once (the board answers per value with the value it holds, and signs every
 * accepted change into its journal with the tool's identity), SETTINGS_SNAPSHOT for the signed
 * snapshot kept with backups, log pulls and packages.
 */
import { PackscopeError } from '../../../shared/errors.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import { decodeChange, decodeSnapshot, encodeContainer, wireValue } from '../../../shared/settings/evidence.js';
import {
  JOURNAL_PAGE,
  JOURNAL_QUERY,
  NATIVE_PARAM_SETTINGS,
  SETTINGS_CMD,
  SETTINGS_WRITE,
  SETTINGS_WRITTEN,
  SNAPSHOT_REQUEST,
} from '../../../shared/settings/native.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import { toHex } from '../../../shared/util/bytes.js';
import type { NativeDriver } from '../drivers/native.js';
import type { ParamInfo } from '../../../shared/protocol/messages.js';
import { backupBoard, type SettingsAccess, type SettingsRead, type WriteOptions, type WriteOutcome } from './access.js';

const REASONS: Record<string, string> = {
  out_of_range: 'the board refused: outside its limits',
  read_only: 'the board refused: read-only',
  not_found: 'the board has no such parameter',
  not_applied: 'not written: another value in the same write was refused (the board writes all or nothing)',
};

export class NativeSettingsAccess implements SettingsAccess {
  readonly protocol = 'native' as const;
  private params: ParamInfo[] | null = null;

  constructor(private readonly driver: NativeDriver) {}

  private async list(signal?: AbortSignal): Promise<ParamInfo[]> {
    this.params = await this.driver.params(signal);
    return this.params;
  }

  async read(signal?: AbortSignal): Promise<SettingsRead> {
    const params = await this.list(signal);
    const values: Record<string, number> = {};
    const limits = new Map<string, BoardLimit>();
    for (const p of params) {
      const id = NATIVE_PARAM_SETTINGS[p.name];
      const def = id ? settingDef(id) : undefined;
      if (!id || !def) continue;
      values[id] = quantize(def, wireValue(p.value));
      limits.set(id, { min: wireValue(p.min), max: wireValue(p.max), writable: p.writable && !def.readOnly });
    }
    const snap = await this.snapshot(crypto.getRandomValues(new Uint8Array(16)), signal);
    if (!this.driver.identity) await this.driver.identify(signal);
    const info = this.driver.identity!;
    return {
      protocol: 'native',
      board: backupBoard(info),
      values,
      limits,
      deviceSnapshot: { hex: toHex(snap), digest: toHex(decodeSnapshot(snap).digest) },
      notes: ['Every accepted change is signed by the board into its settings journal, with this PackScope’s identity.'],
    };
  }

  /** The board's signed snapshot of every parameter, over `nonce`. */
  async snapshot(nonce: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    return this.driver.request(SETTINGS_CMD.SETTINGS_SNAPSHOT, SNAPSHOT_REQUEST.encode({ nonce }), { signal, retries: 20 });
  }

  /** Every signed change record the board still holds. */
  async journal(signal?: AbortSignal): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let from = 0;
    for (;;) {
      const page = JOURNAL_PAGE.decode(
        await this.driver.request(SETTINGS_CMD.SETTINGS_JOURNAL, JOURNAL_QUERY.encode({ from, max: 16 }), { signal, retries: 20 }),
      );
      out.push(...page.entries);
      if (page.entries.length === 0) return out;
      from = decodeChange(page.entries[page.entries.length - 1]!).seq;
      if (from >= page.total) return out;
    }
  }

  /** Snapshot and journal in the container a pull and a package keep (shared/settings/evidence.ts). */
  async evidence(nonce: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const snapshot = await this.snapshot(nonce, signal);
    return encodeContainer(snapshot, await this.journal(signal));
  }

  async write(changes: Readonly<Record<string, number>>, options: WriteOptions): Promise<WriteOutcome[]> {
    const params = this.params ?? (await this.list(options.signal));
    const byName = new Map(params.map((p) => [p.name, p]));
    const items: Array<{ id: number; value: number; setting: string }> = [];
    for (const [setting, value] of Object.entries(changes)) {
      const name = Object.keys(NATIVE_PARAM_SETTINGS).find((n) => NATIVE_PARAM_SETTINGS[n] === setting);
      const p = name ? byName.get(name) : undefined;
      if (!p) throw new PackscopeError('USAGE', `this board has no parameter for setting ${setting}`);
      items.push({ id: p.id, value, setting });
    }
    if (!items.length) return [];
    const answer = SETTINGS_WRITTEN.decode(
      await this.driver.request(SETTINGS_CMD.SETTINGS_WRITE, SETTINGS_WRITE.encode({ tool: options.tool.slice(0, 200), items }), {
        ...(options.signal ? { signal: options.signal } : {}),
        retries: 20,
      }),
    );
    this.params = null;
    return items.map((it) => {
      const r = answer.items.find((x) => x.id === it.id);
      const def = settingDef(it.setting)!;
      const stored = r && Number.isFinite(r.stored) ? quantize(def, wireValue(r.stored)) : null;
      if (!r) return { id: it.setting, requested: it.value, result: 'refused', stored: null, reason: 'the board did not answer for this value' };
      const result = r.result === 'written' || r.result === 'unchanged' || r.result === 'not_applied' ? r.result : 'refused';
      return { id: it.setting, requested: it.value, result, stored, ...(REASONS[r.result] ? { reason: REASONS[r.result] } : {}) };
    });
  }
}
