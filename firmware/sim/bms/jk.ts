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
import { decodeJkWritePayload, encodeJkRaw, JK_CMD_WRITE, JK_TYPE_WRITE } from '../../../shared/settings/jk-registers.js';
import type { SimBoard } from '../board.js';
import { JkSettingsStore } from './jk-settings.js';
import type { PackState } from '../pack/types.js';
import type { Personality } from '../personality.js';
import { bmsPersonality, hasStatus, JK_LINE, sensorLayout, type BmsPersonalityOptions } from './common.js';

/**
 * The board as a JK BMS presents it on its RS485 / TTL port (115200 8N1): a read-all request
 * (command 0x06) gets every field in the order a JK board sends them — 0x79 cells, 0x80…0x8C
 * live values (no 0x88, no 0x8D), 0x8E…0xBA settings and identity, 0xC0 protocol version last —
 * so a driver that assumed the protocol version came first would misread the current sign. A
 * write (command 0x02) changes one settings field and is answered with the value the board holds.
 * Requests with a bad checksum and other commands are ignored.
 */
export function jkFieldsFor(board: SimBoard, s: PackState, settings: JkSettingsStore = new JkSettingsStore(board)): JkField[] {
  const cfg = board.pack.config;
  const n = s.cellVoltages.length;
  const lfp = cfg.chemistry === 'lfp';
  const { cellSensors, mosfet } = sensorLayout(board);
  const t = (i: number | undefined) => encodeJkTemperature(i === undefined ? 0 : (s.temperatures[i] ?? 0));
  const statusBits = (hasStatus(s, 'charge_fet_on') ? 1 : 0) | (hasStatus(s, 'discharge_fet_on') ? 2 : 0) | (hasStatus(s, 'balancing') ? 4 : 0);
  const fw = board.firmwareVersion;
  const hw = board.identity.hardwareRevision;
  const fields = [
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
    // The settings fields 0x8E … 0xAC come from the board's settings (jk-settings.ts).
    ...settingsFields(settings),
    jkU16(0xa0, 100),
    jkU16(0xa1, 100),
    jkU16(0xa2, 20),
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
  // In ascending id order, as a JK board sends them (0x79 first).
  return fields.sort((a, b) => a.id - b.id);
}

function settingsFields(settings: JkSettingsStore): JkField[] {
  return settings.fields().map(({ x, raw }) => ({ id: x.id, value: encodeJkRaw(x, raw) }));
}

export function createJkPersonality(board: SimBoard, options: BmsPersonalityOptions = {}): Personality {
  const settings = new JkSettingsStore(board);
  return bmsPersonality('jk', JK_LINE, { clock: () => board.clock.now(), ...options }, createJkExtractor(), (link, f) => {
    const reply = (command: number, payload: Uint8Array) =>
      link.send(encodeJkFrame({ bmsId: f.bmsId, command, source: JK_SOURCE_BMS, type: JK_TYPE_RESPONSE, payload, recordNumber: 0 }));
    if (f.command === JK_CMD_READ_ALL && f.type === JK_TYPE_REQUEST) {
      reply(JK_CMD_READ_ALL, encodeJkFields(jkFieldsFor(board, board.pack.state(), settings)));
      return;
    }
    if (f.command !== JK_CMD_WRITE || f.type !== JK_TYPE_WRITE) return;
    let w: ReturnType<typeof decodeJkWritePayload>;
    try {
      w = decodeJkWritePayload(f);
    } catch {
      return; // not a settings field, or the wrong size for it: a JK board stays silent
    }
    settings.write(w.field, w.raw);
    // The answer carries the value the board holds now: the old one when it refused.
    reply(JK_CMD_WRITE, Uint8Array.of(w.field.id, ...encodeJkRaw(w.field, settings.raw(w.field))));
  });
}
