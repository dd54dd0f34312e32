import {
  createDalyExtractor,
  CELLS_PER_FRAME,
  DALY_BMS_ADDRESS,
  DALY_CMD,
  DALY_HOST_ADDRESS,
  dalyFrameCount,
  encodeDalyFrame,
  TEMPS_PER_FRAME,
  writeDalyBalance,
  writeDalyCellFrame,
  writeDalyCellRange,
  writeDalyFailures,
  writeDalyMos,
  writeDalySoc,
  writeDalyStatus,
  writeDalyTempFrame,
  writeDalyTempRange,
} from '../../../shared/bms/daly.js';
import { putU32 } from '../../../shared/bms/common.js';
import { dalySetSocValue, DALY_SETTINGS_CMD, writeDalyThresholds } from '../../../shared/settings/daly-settings.js';
import type { SimBoard } from '../board.js';
import type { PackState } from '../pack/types.js';
import type { PersonalityOptions } from '../personalities.js';
import type { Personality } from '../personality.js';
import { busPacks } from './bus-packs.js';
import { bmsPersonality, DALY_LINE, hasStatus, type BmsPersonalityOptions } from './common.js';

/**
 * The board as a Daly BMS presents it on its UART (9600 8N1): 13-byte frames, requests from
 * address 0x40, answers from 0x01, commands 0x90–0x98 answered from the pack model.
 *
 * Quirks a driver has to survive, reproduced on purpose:
 *  - one transmit buffer is reused, so bytes a reply does not use repeat the previous reply's
 *    (0x91/0x92 tail, 0x94 byte 7, the unused cell slots of the last 0x95 frame, 0x96 padding);
 *  - 0x95 answers one request with ceil(cells / 3) frames and 0x96 with ceil(sensors / 7);
 *  - unknown commands and frames with a bad checksum get no answer at all;
 *  - settings: 0x50 (rated capacity), 0x59/0x5A (level-1 and level-2 cell and pack thresholds,
 *    level 2 being the limits the pack's protection enforces) are read only; 0x21 sets the SOC
 *    estimate (the board keeps counting from the value set, so it moves on with the current; a
 *    value above 100 % is refused with data[0] = 0), 0xDA / 0xD9 switch the charge / discharge
 *    MOSFET (the pack's switches: off holds the FET open) and answer with the switch state. Each
 *    answer sets only the bytes it uses; the rest of the transmit buffer is stale.
 * With --packs N, N boards share the bus: board number n answers requests sent to 0x40 + n, each
 * from its own pack and its own transmit buffer.
 */
export function createDalyPersonality(board: SimBoard, options: BmsPersonalityOptions & PersonalityOptions = {}): Personality {
  // socOffset: the board's SOC estimate minus the pack's true SOC (0 until a host sets the SOC).
  const packs = busPacks(board, options, 1).map((p) => ({ ...p, tx: new Uint8Array(8), socOffset: 0 }));
  type BusBoard = (typeof packs)[number];
  const estimate = (p: BusBoard, s: PackState) => Math.min(100, Math.max(0, s.soc + p.socOffset));

  const write = (command: number, data: Uint8Array, p: BusBoard): Uint8Array[] => {
    const reply = () => encodeDalyFrame({ address: DALY_BMS_ADDRESS, command, data: p.tx });
    switch (command) {
      case DALY_SETTINGS_CMD.setSoc: {
        const soc = dalySetSocValue(data);
        const ok = soc <= 100;
        if (ok) p.socOffset = soc - p.state().soc;
        p.tx[0] = ok ? 1 : 0;
        return [reply()];
      }
      case DALY_SETTINGS_CMD.chargeMos:
      case DALY_SETTINGS_CMD.dischargeMos: {
        const which = command === DALY_SETTINGS_CMD.chargeMos ? 'charge' : 'discharge';
        p.pack.setSwitches({ [which]: data[0] !== 0 });
        p.tx[0] = p.pack.switches()[which] ? 1 : 0;
        return [reply()];
      }
      default:
        return [];
    }
  };

  const answer = (command: number, s: PackState, p: BusBoard): Uint8Array[] => {
    const tx = p.tx;
    const reply = (cmd: number) => encodeDalyFrame({ address: DALY_BMS_ADDRESS, command: cmd, data: tx });
    const cells = s.cellVoltages;
    const temps = s.temperatures;
    switch (command) {
      case DALY_CMD.soc:
        writeDalySoc(tx, { packVoltage: s.packVoltage, current: s.current, soc: estimate(p, s) });
        return [reply(command)];
      case DALY_SETTINGS_CMD.rated:
        putU32(tx, 0, p.pack.config.capacityAh * 1000);
        putU32(tx, 4, p.pack.config.chemistry === 'lfp' ? 3200 : 3700);
        return [reply(command)];
      case DALY_SETTINGS_CMD.cellThresholds:
      case DALY_SETTINGS_CMD.packThresholds: {
        // Level 2 is what the pack's protection enforces; the board warns 50 mV (100 mV) earlier.
        const pr = p.pack.protection();
        const k = command === DALY_SETTINGS_CMD.cellThresholds ? 1 : cells.length;
        const volts: [number, number, number, number] = [
          (pr.cellOvProtect - 0.05) * k,
          pr.cellOvProtect * k,
          (pr.cellUvProtect + 0.1) * k,
          pr.cellUvProtect * k,
        ];
        writeDalyThresholds(tx, volts, command === DALY_SETTINGS_CMD.cellThresholds ? 0.001 : 0.1);
        return [reply(command)];
      }
      case DALY_CMD.cellRange: {
        let hi = 0;
        let lo = 0;
        cells.forEach((v, i) => {
          if (v > cells[hi]!) hi = i;
          if (v < cells[lo]!) lo = i;
        });
        writeDalyCellRange(tx, { maxCellVoltage: cells[hi] ?? 0, maxCell: hi + 1, minCellVoltage: cells[lo] ?? 0, minCell: lo + 1 });
        return [reply(command)];
      }
      case DALY_CMD.tempRange: {
        let hi = 0;
        let lo = 0;
        temps.forEach((v, i) => {
          if (v > temps[hi]!) hi = i;
          if (v < temps[lo]!) lo = i;
        });
        writeDalyTempRange(tx, { maxTemperature: temps[hi] ?? 0, maxSensor: hi + 1, minTemperature: temps[lo] ?? 0, minSensor: lo + 1 });
        return [reply(command)];
      }
      case DALY_CMD.mos:
        writeDalyMos(tx, {
          state: hasStatus(s, 'charging') ? 1 : hasStatus(s, 'discharging') ? 2 : 0,
          chargeMos: hasStatus(s, 'charge_fet_on'),
          dischargeMos: hasStatus(s, 'discharge_fet_on'),
          bmsLife: s.cycleCount & 0xff,
          remainingAh: s.remainingAh,
        });
        return [reply(command)];
      case DALY_CMD.status:
        writeDalyStatus(tx, {
          cellCount: cells.length,
          temperatureCount: temps.length,
          charger: hasStatus(s, 'charger_connected'),
          load: hasStatus(s, 'discharging'),
          dio: 0,
          cycles: s.cycleCount,
        });
        return [reply(command)];
      case DALY_CMD.cells: {
        const out: Uint8Array[] = [];
        for (let n = 1; n <= dalyFrameCount(cells.length, CELLS_PER_FRAME); n++) {
          writeDalyCellFrame(tx, n, cells);
          out.push(reply(command));
        }
        return out;
      }
      case DALY_CMD.temperatures: {
        const out: Uint8Array[] = [];
        for (let n = 1; n <= dalyFrameCount(temps.length, TEMPS_PER_FRAME); n++) {
          writeDalyTempFrame(tx, n, temps);
          out.push(reply(command));
        }
        return out;
      }
      case DALY_CMD.balance: {
        const bal: number[] = [];
        for (let i = 0; i < 32; i++) if ((s.balancingMask >>> i) & 1) bal.push(i);
        writeDalyBalance(tx, bal);
        return [reply(command)];
      }
      case DALY_CMD.failures:
        writeDalyFailures(tx, s.alarms, s.alarms ? 1 : 0);
        return [reply(command)];
      default:
        return [];
    }
  };

  return bmsPersonality('daly', DALY_LINE, { clock: () => board.clock.now(), ...options }, createDalyExtractor(), (link, f) => {
    const p = packs[f.address - DALY_HOST_ADDRESS];
    if (!p) return; // a reply, or a request for another board
    const replies =
      f.command === DALY_SETTINGS_CMD.setSoc || f.command === DALY_SETTINGS_CMD.chargeMos || f.command === DALY_SETTINGS_CMD.dischargeMos
        ? write(f.command, f.data, p)
        : answer(f.command, p.state(), p);
    for (const r of replies) link.send(r);
  });
}
