import {
  createPylonRs485Extractor,
  encodePylonAlarmInfo,
  encodePylonAnalog,
  encodePylonManagementInfo,
  encodePylonManufacturerInfo,
  encodePylonRequest,
  encodePylonResponse,
  encodePylonSerial,
  encodePylonSystemParameters,
  PYLON_ALL_MODULES,
  PYLON_CID1_BATTERY,
  PYLON_CID2,
  PYLON_MANAGEMENT_STATUS,
  PYLON_STATUS2,
  type PylonAlarmInfo,
  type PylonModuleAnalog,
} from '../../../shared/bms/pylontech-rs485.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import type { SimBoard } from '../board.js';
import type { PackState } from '../pack/types.js';
import type { PersonalityOptions } from '../personalities.js';
import type { Personality } from '../personality.js';
import { busPacks, type BusPack } from './bus-packs.js';
import { bmsPersonality, hasAlarm, hasStatus, sensorLayout, type BmsPersonalityOptions } from './common.js';

/**
 * A stack of Pylontech modules on one RS485 pair (9600 8N1), the ASCII "~…\r" protocol: module i
 * answers at address 2 + i (the first module of a real stack is 2), from its own pack model.
 * Answered: 0x4F protocol version, 0x51 manufacturer info, 0x93 serial number, 0x42 analog values
 * (INFO 0xFF: every module in one answer, as the master module does), 0x44 alarm info, 0x47 system
 * parameters, 0x92 charge/discharge management. An unknown CID2 gets RTN 04; a request for an
 * address nobody has, or with a broken checksum, gets silence (on a shared bus nobody may answer
 * for someone else).
 */
export const PYLON_SIM_LINE: LineSettings = { baudRate: 9600, parity: 'none' };
export const PYLON_SIM_FIRST_ADDRESS = 2;
export const PYLON_SIM_DEFAULT_MODULES = 3;
const RTN_CID2_INVALID = 0x04;

function moduleAnalog(board: SimBoard, p: BusPack, s: PackState): PylonModuleAnalog {
  const { cellSensors } = sensorLayout(board);
  const boardTemp = s.temperatures[s.temperatures.length - 1] ?? 25;
  const total = p.pack.config.capacityAh;
  return {
    cellVoltages: s.cellVoltages,
    temperatures: [boardTemp, ...cellSensors.map((i) => s.temperatures[i]!)],
    current: s.current,
    voltage: s.packVoltage,
    remainingAh: s.remainingAh,
    totalAh: total,
    cycles: s.cycleCount,
    // Capacities of 65 Ah and more do not fit the 16-bit fields: the 24-bit items follow.
    userDefinedItems: total >= 65 ? 4 : 2,
  };
}

function moduleAlarms(board: SimBoard, adr: number, s: PackState): PylonAlarmInfo {
  const { cellSensors } = sensorLayout(board);
  const cellState = hasAlarm(s, 'cell_overvoltage') ? 2 : hasAlarm(s, 'cell_undervoltage') ? 1 : 0;
  const tempHigh = hasAlarm(s, 'charge_overtemperature') || hasAlarm(s, 'discharge_overtemperature');
  const tempLow = hasAlarm(s, 'charge_undertemperature') || hasAlarm(s, 'discharge_undertemperature');
  const status1 =
    (hasAlarm(s, 'pack_overvoltage') ? 0x01 : 0) |
    (hasAlarm(s, 'cell_undervoltage') ? 0x02 : 0) |
    (hasAlarm(s, 'charge_overcurrent') ? 0x04 : 0) |
    (hasAlarm(s, 'discharge_overcurrent') ? 0x10 : 0) |
    (hasAlarm(s, 'discharge_overtemperature') ? 0x20 : 0) |
    (hasAlarm(s, 'charge_overtemperature') ? 0x40 : 0) |
    (hasAlarm(s, 'pack_undervoltage') ? 0x80 : 0);
  const status2 = (hasStatus(s, 'charge_fet_on') ? PYLON_STATUS2.chargeMos : 0) | (hasStatus(s, 'discharge_fet_on') ? PYLON_STATUS2.dischargeMos : 0);
  return {
    dataFlag: 0x10,
    command: adr,
    cellStates: s.cellVoltages.map(() => cellState),
    temperatureStates: [0, ...cellSensors.map(() => (tempHigh ? 2 : tempLow ? 1 : 0))],
    chargeCurrentState: hasAlarm(s, 'charge_overcurrent') ? 2 : 0,
    moduleVoltageState: hasAlarm(s, 'pack_overvoltage') ? 2 : hasAlarm(s, 'pack_undervoltage') ? 1 : 0,
    dischargeCurrentState: hasAlarm(s, 'discharge_overcurrent') ? 2 : 0,
    status: [status1, status2, 0, s.balancingMask & 0xff, (s.balancingMask >>> 8) & 0xff],
  };
}

export function createPylonRs485Personality(board: SimBoard, options: PersonalityOptions & BmsPersonalityOptions = {}): Personality {
  const packs = busPacks(board, options, PYLON_SIM_DEFAULT_MODULES);
  const at = (adr: number) => packs[adr - PYLON_SIM_FIRST_ADDRESS];
  const [major, minor] = board.firmwareVersion.split('.');
  const version = `${major ?? '1'}.${minor ?? '0'}`;

  const answer = (cid2: number, adr: number, info: Uint8Array): Uint8Array | null => {
    const p = at(adr);
    if (!p) return null;
    const s = p.state();
    switch (cid2) {
      case PYLON_CID2.protocolVersion:
        return encodePylonResponse(adr, new Uint8Array(0));
      case PYLON_CID2.manufacturer:
        return encodePylonResponse(
          adr,
          encodePylonManufacturerInfo({ device: p.pack.config.capacityAh >= 65 ? 'US3000C' : 'US2000C', version, manufacturer: 'Pylon' }),
        );
      case PYLON_CID2.serial:
        return encodePylonResponse(adr, encodePylonSerial(adr, `${board.identity.serial}${String(p.index + 1).padStart(2, '0')}`.slice(-16)));
      case PYLON_CID2.analog: {
        if (info[0] === PYLON_ALL_MODULES) {
          const modules = packs.map((q) => moduleAnalog(board, q, q.state()));
          return encodePylonResponse(adr, encodePylonAnalog({ dataFlag: 0x11, command: modules.length, modules }));
        }
        return encodePylonResponse(adr, encodePylonAnalog({ dataFlag: 0x11, command: adr, modules: [moduleAnalog(board, p, s)] }));
      }
      case PYLON_CID2.alarm:
        return encodePylonResponse(adr, encodePylonAlarmInfo(moduleAlarms(board, adr, s)));
      case PYLON_CID2.systemParameters: {
        const cells = s.cellVoltages.length;
        const lfp = p.pack.config.chemistry === 'lfp';
        const [hi, lo, under] = lfp ? [3.65, 3.05, 2.9] : [4.2, 3.2, 3.0];
        return encodePylonResponse(
          adr,
          encodePylonSystemParameters({
            cellHighVoltage: hi,
            cellLowVoltage: lo,
            cellUnderVoltage: under,
            chargeHighTemperature: 50,
            chargeLowTemperature: 0,
            chargeCurrentLimit: s.chargeCurrentLimit,
            moduleHighVoltage: hi * cells,
            moduleLowVoltage: lo * cells,
            moduleUnderVoltage: under * cells,
            dischargeHighTemperature: 60,
            dischargeLowTemperature: -10,
            dischargeCurrentLimit: -s.dischargeCurrentLimit,
          }),
        );
      }
      case PYLON_CID2.management:
        return encodePylonResponse(
          adr,
          encodePylonManagementInfo({
            command: adr,
            chargeVoltageLimit: s.chargeVoltageLimit,
            dischargeVoltageLimit: s.dischargeVoltageLimit,
            chargeCurrentLimit: s.chargeCurrentLimit,
            dischargeCurrentLimit: -s.dischargeCurrentLimit,
            status:
              (hasStatus(s, 'charge_fet_on') ? PYLON_MANAGEMENT_STATUS.chargeEnable : 0) |
              (hasStatus(s, 'discharge_fet_on') ? PYLON_MANAGEMENT_STATUS.dischargeEnable : 0),
          }),
        );
      default:
        return encodePylonResponse(adr, new Uint8Array(0), RTN_CID2_INVALID);
    }
  };

  const modules = bmsPersonality('pylontech-rs485', PYLON_SIM_LINE, { clock: () => board.clock.now(), ...options }, createPylonRs485Extractor(), (link, f) => {
    // Another device class, or another module's answer (RTN 00 where a request has its CID2).
    if (f.cid1 !== PYLON_CID1_BATTERY || f.cid2 === 0) return;
    const reply = answer(f.cid2, f.adr, f.info);
    if (reply) link.send(reply);
  });
  const period = options.inverterPollMs;
  if (period === undefined) return modules;
  // The inverter asks every module for its analog values and alarms, and now and then for its
  // limits, as a hybrid inverter in "Pylontech RS485" battery mode does.
  let cancel: (() => void) | null = null;
  let round = 0;
  return {
    name: modules.name,
    attach(link) {
      modules.attach(link);
      cancel?.();
      cancel = board.clock.every(period, () => {
        const asks: number[] = [PYLON_CID2.analog, PYLON_CID2.alarm, ...(round++ % 10 === 0 ? [PYLON_CID2.systemParameters] : [])];
        for (const p of packs) {
          const adr = PYLON_SIM_FIRST_ADDRESS + p.index;
          for (const cid2 of asks) {
            const req = encodePylonRequest(cid2, adr);
            link.send(req);
            const reply = answer(cid2, adr, Uint8Array.of(adr));
            if (reply) link.send(reply);
          }
        }
      });
    },
    detach() {
      cancel?.();
      cancel = null;
      modules.detach();
    },
  };
}
