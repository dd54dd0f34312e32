/**
 * Settings on a JBD / Xiaoxiang board: the EEPROM registers of the published map, reached through
 * factory mode. The 0xAA protection counters are read and kept before anything is written, and
 * factory mode is left with 0x01 = 0000, which keeps them; 0x01 = 2828 (the vendor tool's "save")
 * zeroes them, so PackScope uses it only when asked (--jbd-exit save-and-reset-counters) and says so.
 */
import { PackscopeError } from '../../../shared/errors.js';
import { encodeJbdRead, encodeJbdRequest, jbdFrameAsResponse, JBD_READ, JBD_WRITE, type JbdFrame } from '../../../shared/bms/jbd.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import {
  decodeJbdErrorCounts,
  decodeJbdRegister,
  encodeJbdRegister,
  jbdFieldFor,
  jbdFieldRange,
  jbdFieldStep,
  jbdFieldsOf,
  JBD_EXIT_KEEP,
  JBD_EXIT_SAVE_RESET,
  JBD_FACTORY_PASSWORD,
  JBD_FIELDS,
  JBD_REG_ERROR_COUNTS,
  JBD_REG_FACTORY_ENTER,
  JBD_REG_FACTORY_EXIT,
  JBD_SETTING_REGISTERS,
} from '../../../shared/settings/jbd-registers.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import type { BmsChannel } from '../drivers/bms-polling.js';
import { backupBoard, type SettingsAccess, type SettingsRead, type WriteOptions, type WriteOutcome } from './access.js';

export const JBD_COUNTER_NOTE =
  'Leaving factory mode with 0x01 = 2828 ("save") zeroes the board’s protection counters (register 0xAA), which are evidence of past ' +
  'over-voltage, under-voltage, over-current and temperature trips. PackScope reads and keeps them first, and leaves factory mode ' +
  'with 0x01 = 0000, which keeps them.';

const answers = (register: number) => (f: JbdFrame) => f.b1 === register && f.b1 !== JBD_READ && f.b1 !== JBD_WRITE;

export class JbdSettingsAccess implements SettingsAccess {
  readonly protocol = 'jbd' as const;

  constructor(
    private readonly ch: BmsChannel<JbdFrame>,
    private readonly info: DeviceInfo,
  ) {}

  private async exchange(request: Uint8Array, register: number, signal?: AbortSignal): Promise<{ status: number; data: Uint8Array }> {
    const [frame] = await this.ch.request({ request, accept: answers(register), expectBytes: 7 + 32 }, signal);
    const res = jbdFrameAsResponse(frame!);
    return { status: res.status, data: res.data };
  }

  private async readRegister(register: number, signal?: AbortSignal): Promise<Uint8Array> {
    const r = await this.exchange(encodeJbdRead(register), register, signal);
    if (r.status !== 0) throw new PackscopeError('DEVICE', `JBD board refused to read register 0x${register.toString(16)} (status 0x${r.status.toString(16)})`);
    return r.data;
  }

  private async writeRegister(register: number, data: Uint8Array, signal?: AbortSignal): Promise<number> {
    return (await this.exchange(encodeJbdRequest({ kind: 'write', register, data }), register, signal)).status;
  }

  private async enter(signal?: AbortSignal): Promise<void> {
    const status = await this.writeRegister(JBD_REG_FACTORY_ENTER, JBD_FACTORY_PASSWORD, signal);
    if (status !== 0) throw new PackscopeError('REFUSED', 'the JBD board refused factory mode (password 0x5678); a board with a user password needs it first');
  }

  private async exit(save: boolean, signal?: AbortSignal): Promise<void> {
    await this.writeRegister(JBD_REG_FACTORY_EXIT, save ? JBD_EXIT_SAVE_RESET : JBD_EXIT_KEEP, signal);
  }

  async errorCounters(signal?: AbortSignal): Promise<Record<string, number>> {
    return decodeJbdErrorCounts(await this.readRegister(JBD_REG_ERROR_COUNTS, signal));
  }

  /** Every settings register, in factory mode (left with the counter-keeping exit). */
  private async readAll(signal?: AbortSignal): Promise<Record<string, number>> {
    await this.enter(signal);
    try {
      const values: Record<string, number> = {};
      for (const reg of JBD_SETTING_REGISTERS) Object.assign(values, decodeJbdRegister(reg, await this.readRegister(reg, signal)));
      return values;
    } finally {
      await this.exit(false, signal).catch(() => undefined);
    }
  }

  async read(signal?: AbortSignal): Promise<SettingsRead> {
    const jbdErrorCounters = await this.errorCounters(signal);
    const raw = await this.readAll(signal);
    const values: Record<string, number> = {};
    const limits = new Map<string, BoardLimit>();
    for (const x of JBD_FIELDS) {
      const def = settingDef(x.setting);
      if (!def) continue;
      values[x.setting] = quantize(def, raw[x.setting]!);
      limits.set(x.setting, { ...jbdFieldRange(x), writable: !def.readOnly, step: jbdFieldStep(x) });
    }
    return { protocol: 'jbd', board: backupBoard(this.info), values, limits, jbdErrorCounters, notes: [JBD_COUNTER_NOTE] };
  }

  async write(changes: Readonly<Record<string, number>>, options: WriteOptions): Promise<WriteOutcome[]> {
    const signal = options.signal;
    const save = options.jbdExit === 'save-and-reset-counters';
    // The counters first: they are evidence, and the save exit would zero them.
    await this.errorCounters(signal);
    await this.enter(signal);
    const outcomes: WriteOutcome[] = [];
    try {
      const registers = [...new Set(Object.keys(changes).map((id) => jbdFieldFor(id)?.register))];
      for (const reg of registers) {
        if (reg === undefined) throw new PackscopeError('USAGE', `a JBD board has no register for ${Object.keys(changes).find((id) => !jbdFieldFor(id))}`);
        const current = decodeJbdRegister(reg, await this.readRegister(reg, signal));
        const mine = jbdFieldsOf(reg).filter((x) => x.setting in changes);
        const status = await this.writeRegister(reg, encodeJbdRegister(reg, { ...current, ...changes }), signal);
        const stored = status === 0 ? null : decodeJbdRegister(reg, await this.readRegister(reg, signal));
        for (const x of mine) {
          const def = settingDef(x.setting)!;
          if (status === 0) outcomes.push({ id: x.setting, requested: changes[x.setting]!, result: 'written', stored: quantize(def, changes[x.setting]!) });
          else
            outcomes.push({
              id: x.setting,
              requested: changes[x.setting]!,
              result: 'refused',
              stored: quantize(def, stored![x.setting]!),
              reason: `the board refused register 0x${reg.toString(16)} (status 0x${status.toString(16)})`,
            });
        }
      }
    } finally {
      await this.exit(save, signal).catch(() => undefined);
    }
    return outcomes;
  }
}
