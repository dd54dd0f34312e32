import { ALARM_FLAGS, STATUS_FLAGS, type AlarmFlag, type StatusFlag } from '../../../shared/types/domain.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import type { SimBoard } from '../board.js';
import type { FrameExtractor } from '../../../shared/bms/extractor.js';
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
  /** Milliseconds clock for the receive idle timeout (default: the board's; tests drive it by hand). */
  clock?: () => number;
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
 * How long the line must be quiet before a board drops a half-received request. Real boards run
 * their UART receiver with an idle timeout; without one, a stray start byte (another protocol's
 * probe, noise while a cable is plugged in) followed by a large "length" would make the board
 * swallow every later request as the rest of that frame. 50 ms is far longer than the gap between
 * two bytes of one request, even on a loaded host, and shorter than any host's retry interval.
 */
export const RX_IDLE_RESET_MS = 50;

/**
 * Attach/detach bookkeeping: one link at a time, listeners removed on detach, the protocol's line
 * set on attach, requests reassembled by the protocol's extractor (which forgets a partial request
 * after RX_IDLE_RESET_MS of silence), and every request answered from a fresh pack state.
 */
export function bmsPersonality<F>(
  name: string,
  defaultLine: LineSettings,
  options: BmsPersonalityOptions,
  rx: FrameExtractor<F>,
  onRequest: (link: DeviceLink, frame: F) => void,
): Personality {
  const now = options.clock ?? (() => performance.now());
  let lastByteAt = -Infinity;
  let unsubs: Array<() => void> = [];
  const detach = () => {
    for (const u of unsubs) u();
    unsubs = [];
  };
  const onBytes = (link: DeviceLink, data: Uint8Array) => {
    const t = now();
    // Give up on what is pending the way a receive timeout does: skip its first byte and rescan,
    // so a whole request queued behind a stray start byte is still answered.
    if (t - lastByteAt > RX_IDLE_RESET_MS) for (const f of rx.flush()) onRequest(link, f);
    lastByteAt = t;
    for (const f of rx.push(data)) onRequest(link, f);
  };
  return {
    name,
    attach(link: DeviceLink) {
      detach();
      rx.reset(); // forget half-received requests from a previous line (re-attach after a power cut)
      lastByteAt = -Infinity;
      link.setSettings(options.line ?? defaultLine);
      unsubs.push(link.onReceive((d) => onBytes(link, d)));
      unsubs.push(link.onDisconnect(() => detach()));
    },
    detach,
  };
}
