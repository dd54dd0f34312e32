/**
 * Settings on a native board: PARAM_LIST for values and the board's own limits, SETTINGS_WRITE for
 * one or many values at once (the board answers per value with the value it holds, and signs every
 * accepted change into its journal with the tool's identity), SETTINGS_SNAPSHOT for the signed
 * snapshot kept with backups, log pulls and packages.
 */
import { PackscopeError } from '../../../shared/errors.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import { decodeContainer, decodeSnapshot, wireValue } from '../../../shared/settings/evidence.js';
import {
  NATIVE_PARAM_SETTINGS,
  SETTINGS_CMD,
  SETTINGS_REGION,
  SETTINGS_WRITE,
  SETTINGS_WRITTEN,
  SNAPSHOT_FROZEN,
  SNAPSHOT_REQUEST,
} from '../../../shared/settings/native.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import { ERR } from '../../../shared/protocol/constants.js';
import { DeviceError } from '../link/errors.js';
import { bulkRead } from '../link/bulk.js';
import type { NativeLink } from '../link/native-link.js';
import { toHex } from '../../../shared/util/bytes.js';
import type { NativeDriver } from '../drivers/native.js';
import type { ParamInfo } from '../../../shared/protocol/messages.js';
import { backupBoard, type SettingsAccess, type SettingsRead, type WriteOptions, type WriteOutcome } from './access.js';

/**
 * The board's settings evidence over `nonce`: SETTINGS_SNAPSHOT freezes its signed snapshot and
 * every change record it keeps into region 0x05, which the bulk transfer reads in small
 * retransmitted chunks (a noisy line lets few large answers through whole). Null for a board
 * without the settings commands (UNKNOWN_COMMAND).
 */
export async function readSettingsEvidence(link: NativeLink, nonce: Uint8Array, signal?: AbortSignal): Promise<Uint8Array | null> {
  let frozen: { length: number };
  try {
    frozen = SNAPSHOT_FROZEN.decode(
      await link.request(SETTINGS_CMD.SETTINGS_SNAPSHOT, SNAPSHOT_REQUEST.encode({ nonce }), { ...(signal ? { signal } : {}), retries: 20 }),
    );
  } catch (e) {
    if (e instanceof DeviceError && e.deviceCode === ERR.UNKNOWN_COMMAND) return null;
    throw e;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await bulkRead(link, { region: SETTINGS_REGION, offset: 0, length: frozen.length, chunkSize: 256, ...(signal ? { signal } : {}) });
      return r.data!;
    } catch (e) {
      if (!(e instanceof PackscopeError) || e.code !== 'TIMEOUT' || attempt >= 5) throw e;
    }
  }
}

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
    const ev = await readSettingsEvidence(this.driver.link, crypto.getRandomValues(new Uint8Array(16)), signal);
    const snap = ev ? decodeContainer(ev).snapshot : null;
    if (!this.driver.identity) await this.driver.identify(signal);
    const info = this.driver.identity!;
    return {
      protocol: 'native',
      board: backupBoard(info),
      values,
      limits,
      ...(snap ? { deviceSnapshot: { hex: toHex(snap), digest: toHex(decodeSnapshot(snap).digest) } } : {}),
      notes: ['Every accepted change is signed by the board into its settings journal, with this PackScope’s identity.'],
    };
  }

  /** Snapshot and change records in the container a pull and a package keep (shared/settings/evidence.ts). */
  async evidence(nonce: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const ev = await readSettingsEvidence(this.driver.link, nonce, signal);
    if (!ev) throw new PackscopeError('DEVICE', 'this board keeps no signed settings records');
    return ev;
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
