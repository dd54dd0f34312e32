import { ALARM_FLAGS, STATUS_FLAGS, type AlarmFlag, type StatusFlag } from '../../../shared/types/domain.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import type { SimBoard } from '../board.js';
import type { DeviceLink } from '../line.js';
import { temperatureSensorNames } from '../pack/index.js';
import type { PackState } from '../pack/types.js';
import type { Personality } from '../personality.js';

/**
 * What the JBD, Daly and JK personalities share: they answer requests from the board's pack model
 * (board.pack.state(), stepped by the board's own clock), each on its protocol's fixed line.
 */
export interface BmsPersonalityOptions {
  /** Line the board talks on; commodity boards have a fixed rate, so it is set on attach. */
  line?: LineSettings;
}

export const JBD_LINE: LineSettings = { baudRate: 9600, parity: 'none' };
export const DALY_LINE: LineSettings = { baudRate: 9600, parity: 'none' };
export const JK_LINE: LineSettings = { baudRate: 115200, parity: 'none' };

export function hasAlarm(state: PackState, name: AlarmFlag): boolean {
  return ((state.alarms >>> ALARM_FLAGS.indexOf(name)) & 1) === 1;
}

export function hasStatus(state: PackState, name: StatusFlag): boolean {
  return ((state.status >>> STATUS_FLAGS.indexOf(name)) & 1) === 1;
}

/** Indices of the cell-group sensors and the MOSFET sensor in PackState.temperatures. */
export function sensorLayout(board: SimBoard): { cellSensors: number[]; mosfet: number | null } {
  const names = temperatureSensorNames(board.pack.config.cells);
  const cellSensors: number[] = [];
  let mosfet: number | null = null;
  names.forEach((n, i) => {
    if (n.startsWith('cells')) cellSensors.push(i);
    else if (n === 'mosfet') mosfet = i;
  });
  return { cellSensors, mosfet };
}

/** "1.4.2" → 0x14: the one-byte version JBD boards report (major nibble, minor nibble). */
export function versionByte(v: string): number {
  const [a, b] = v.split('.').map((x) => parseInt(x, 10));
  return (((a ?? 0) & 0x0f) << 4) | ((b ?? 0) & 0x0f);
}

/**
 * Attach/detach bookkeeping: one link at a time, listeners removed on detach, the protocol's line
 * set on attach, and every request answered from a fresh pack state.
 */
export function bmsPersonality(
  name: string,
  defaultLine: LineSettings,
  options: BmsPersonalityOptions,
  onBytes: (link: DeviceLink, data: Uint8Array) => void,
  /** Forget half-received requests from a previous line (re-attach after a power cut). */
  onAttach: () => void = () => undefined,
): Personality {
  let unsubs: Array<() => void> = [];
  const detach = () => {
    for (const u of unsubs) u();
    unsubs = [];
  };
  return {
    name,
    attach(link: DeviceLink) {
      detach();
      onAttach();
      link.setSettings(options.line ?? defaultLine);
      unsubs.push(link.onReceive((d) => onBytes(link, d)));
      unsubs.push(link.onDisconnect(() => detach()));
    },
    detach,
  };
}
