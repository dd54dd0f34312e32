import {
  createJkExtractor,
  encodeJkCurrent,
  encodeJkFields,
  encodeJkFrame,
  encodeJkTemperature,
  JK_CMD_READ_ALL,
  JK_SOURCE_BMS,
  JK_TYPE_REQUEST,
  JK_TYPE_RESPONSE,
  jkAscii,
  jkCells,
  jkU16,
  jkU32,
  jkU8,
  jkWarningsFor,
  type JkField,
} from '../../../shared/bms/jk.js';
import type { SimBoard } from '../board.js';
import type { PackState } from '../pack/types.js';
import type { Personality } from '../personality.js';
import { bmsPersonality, hasStatus, JK_LINE, sensorLayout, type BmsPersonalityOptions } from './common.js';

/**
 * The board as a JK BMS presents it on its RS485 / TTL port (115200 8N1): a read-all request
 * (command 0x06) gets every field in the order a JK board sends them — 0x79 cells, 0x80…0x8C
 * live values (no 0x88, no 0x8D), 0x8E…0xBA settings and identity, 0xC0 protocol version last —
 * so a driver that assumed the protocol version came first would misread the current sign.
 * Requests with a bad checksum and other commands are ignored.
 */
export function jkFieldsFor(board: SimBoard, s: PackState): JkField[] {
  const cfg = board.pack.config;
  const n = s.cellVoltages.length;
  const lfp = cfg.chemistry === 'lfp';
  const cellOv = lfp ? 3650 : 4250;
  const cellUv = lfp ? 2500 : 3000;
  const { cellSensors, mosfet } = sensorLayout(board);
  const t = (i: number | undefined) => encodeJkTemperature(i === undefined ? 0 : (s.temperatures[i] ?? 0));
  const statusBits = (hasStatus(s, 'charge_fet_on') ? 1 : 0) | (hasStatus(s, 'discharge_fet_on') ? 2 : 0) | (hasStatus(s, 'balancing') ? 4 : 0);
  const fw = board.firmwareVersion;
  const hw = board.identity.hardwareRevision;
  const s16 = (v: number) => v & 0xffff;
  return [
    jkCells(s.cellVoltages),
    jkU16(0x80, t(mosfet ?? undefined)),
    jkU16(0x81, t(cellSensors[0])),
    jkU16(0x82, t(cellSensors[1] ?? cellSensors[0])),
    jkU16(0x83, Math.round(s.packVoltage * 100)),
    jkU16(0x84, encodeJkCurrent(s.current)),
    jkU8(0x85, Math.round(s.soc)),
    jkU8(0x86, Math.min(2, cellSensors.length)),
    jkU16(0x87, s.cycleCount),
    jkU32(0x89, Math.round(s.cycleCount * cfg.capacityAh)),
    jkU16(0x8a, n),
    jkU16(0x8b, jkWarningsFor(s.alarms)),
    jkU16(0x8c, statusBits),
    jkU16(0x8e, Math.round((n * cellOv) / 10)),
    jkU16(0x8f, Math.round((n * cellUv) / 10)),
    jkU16(0x90, cellOv),
    jkU16(0x91, cellOv - 100),
    jkU16(0x92, 5),
    jkU16(0x93, cellUv),
    jkU16(0x94, cellUv + 100),
    jkU16(0x95, 5),
    jkU16(0x96, 300),
    jkU16(0x97, Math.round(cfg.capacityAh)),
    jkU16(0x98, 3),
    jkU16(0x99, Math.round(cfg.capacityAh / 2)),
    jkU16(0x9a, 5),
    jkU16(0x9b, lfp ? 3400 : 4000),
    jkU16(0x9c, 10),
    jkU8(0x9d, 1),
    jkU16(0x9e, 90),
    jkU16(0x9f, 70),
    jkU16(0xa0, 100),
    jkU16(0xa1, 100),
    jkU16(0xa2, 20),
    jkU16(0xa3, 55),
    jkU16(0xa4, 70),
    jkU16(0xa5, s16(-10)),
    jkU16(0xa6, s16(-8)),
    jkU16(0xa7, s16(-30)),
    jkU16(0xa8, s16(-28)),
    jkU8(0xa9, n),
    jkU32(0xaa, Math.round(cfg.capacityAh)),
    jkU8(0xab, 1),
    jkU8(0xac, 1),
    jkU16(0xad, 1000),
    jkU8(0xae, 1),
    jkU8(0xaf, lfp ? 0 : 1),
    jkU16(0xb0, 10),
    jkU8(0xb1, 20),
    // 0xB2 is the board's password field; a simulated board leaves it blank.
    jkAscii(0xb2, ''),
    jkU8(0xb3, 0),
    jkAscii(0xb4, board.identity.serial.replace(/[^A-Za-z0-9]/g, '').slice(-8)),
    jkAscii(0xb5, new Date(cfg.startTimeMs).toISOString().slice(2, 7).replace('-', '')),
    jkU32(0xb6, Math.floor(board.uptimeMs() / 60_000)),
    jkAscii(0xb7, `${hw}_S${fw}`.padEnd(15, '_').slice(0, 15)),
    jkU8(0xb8, 0),
    jkU32(0xb9, Math.round(s.fullChargeAh)),
    jkAscii(0xba, `Input UserdaJK-SIM${n}S`.slice(0, 24)),
    jkU8(0xc0, 1),
  ];
}

export function createJkPersonality(board: SimBoard, options: BmsPersonalityOptions = {}): Personality {
  return bmsPersonality('jk', JK_LINE, { clock: () => board.clock.now(), ...options }, createJkExtractor(), (link, f) => {
    if (f.type !== JK_TYPE_REQUEST || f.command !== JK_CMD_READ_ALL) return;
    const payload = encodeJkFields(jkFieldsFor(board, board.pack.state()));
    link.send(encodeJkFrame({ bmsId: f.bmsId, command: JK_CMD_READ_ALL, source: JK_SOURCE_BMS, type: JK_TYPE_RESPONSE, payload, recordNumber: 0 }));
  });
}
