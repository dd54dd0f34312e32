/**
 * Settings on a Daly board over its UART / RS485 port: what the protocol lets a host read (rated
 * capacity, the level-1 and level-2 cell and pack voltage thresholds, the SOC and the MOSFET
 * switches) and the three things it lets a host write: the SOC (0x21) and the charge and discharge
 * MOSFET switches (0xDA, 0xD9). Thresholds are read only: Daly publishes no write for them. A
 * board that does not answer a threshold read (some firmware leaves 0x50–0x5A out) is reported
 * without those settings, with a note saying so.
 */
import { DALY_CMD, DALY_HOST_ADDRESS, type DalyFrame } from '../../../shared/bms/daly.js';
import { isPackscopeError, PackscopeError } from '../../../shared/errors.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import {
  dalySettingsFrom,
  DALY_SETTINGS_CMD,
  DALY_SETTINGS_READS,
  DALY_WRITABLE,
  encodeDalyMosSwitch,
  encodeDalySetSoc,
} from '../../../shared/settings/daly-settings.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import type { BmsChannel } from '../drivers/bms-polling.js';
import { answerTo, ask } from '../drivers/daly.js';
import { backupBoard, type SettingsAccess, type SettingsRead, type WriteOptions, type WriteOutcome } from './access.js';

export const DALY_NOTE =
  'Daly boards let a host set the SOC and switch the charge and discharge MOSFETs; their protection thresholds are read only. ' +
  'The MOSFET settings read the MOSFETs as they are, so a protection trip shows as off. The SOC is a state, not a setting: backups leave it out.';

const FRAME = 13;

export class DalySettingsAccess implements SettingsAccess {
  readonly protocol = 'daly' as const;

  constructor(
    private readonly ch: BmsChannel<DalyFrame>,
    private readonly info: DeviceInfo,
    /** Board number on a shared bus (requests go to 0x40 + n). */
    private readonly boardNumber = 0,
    /** The date and time 0x21 sets the board's clock to (the host's, as Daly's own tools send). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  async read(signal?: AbortSignal): Promise<SettingsRead> {
    const values: Record<string, number> = {};
    const notes = [DALY_NOTE];
    for (const command of DALY_SETTINGS_READS) {
      let data: Uint8Array;
      try {
        data = await ask(this.ch, this.boardNumber, command, signal);
      } catch (e) {
        // The live values (0x90, 0x93) every Daly board answers; the settings reads not all do.
        if (command === DALY_CMD.soc || command === DALY_CMD.mos || !isPackscopeError(e) || e.code !== 'TIMEOUT') throw e;
        notes.push(`The board did not answer 0x${command.toString(16).toUpperCase()}: its settings are not shown.`);
        continue;
      }
      for (const [id, v] of Object.entries(dalySettingsFrom(command, data))) values[id] = quantize(settingDef(id)!, v);
    }
    const limits = new Map<string, BoardLimit>();
    for (const id of Object.keys(values)) {
      const def = settingDef(id)!;
      limits.set(id, { min: def.min, max: def.max, writable: DALY_WRITABLE.has(id) && !def.readOnly });
    }
    return { protocol: 'daly', board: backupBoard(this.info), values, limits, notes };
  }

  private async send(request: Uint8Array, command: number, signal?: AbortSignal): Promise<Uint8Array> {
    const [f] = await this.ch.request({ request, accept: answerTo(command), expectBytes: FRAME }, signal);
    return f!.data;
  }

  async write(changes: Readonly<Record<string, number>>, options: WriteOptions): Promise<WriteOutcome[]> {
    const address = DALY_HOST_ADDRESS + this.boardNumber;
    const outcomes: WriteOutcome[] = [];
    for (const [id, requested] of Object.entries(changes)) {
      if (id === 'soc') {
        const answer = await this.send(encodeDalySetSoc(requested, this.now(), address), DALY_SETTINGS_CMD.setSoc, options.signal);
        if (answer[0] === 1) outcomes.push({ id, requested, result: 'written', stored: requested });
        else {
          const held = dalySettingsFrom(DALY_CMD.soc, await ask(this.ch, this.boardNumber, DALY_CMD.soc, options.signal))['soc']!;
          outcomes.push({ id, requested, result: 'refused', stored: held, reason: 'the board refused the SOC and kept its own estimate' });
        }
        continue;
      }
      if (id !== 'charge_mosfet' && id !== 'discharge_mosfet') throw new PackscopeError('USAGE', `a Daly board takes no write for ${id}`);
      const which = id === 'charge_mosfet' ? 'charge' : 'discharge';
      const command = which === 'charge' ? DALY_SETTINGS_CMD.chargeMos : DALY_SETTINGS_CMD.dischargeMos;
      const answer = await this.send(encodeDalyMosSwitch(which, requested !== 0, address), command, options.signal);
      const stored = answer[0] ? 1 : 0;
      outcomes.push(
        stored === requested
          ? { id, requested, result: 'written', stored }
          : { id, requested, result: 'refused', stored, reason: `the board kept its ${which} MOSFET ${stored ? 'on' : 'off'}` },
      );
    }
    return outcomes;
  }
}
