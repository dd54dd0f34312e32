import { createBoard, type SimBoard } from '../../../firmware/sim/board.js';
import { createDeviceLink, type DeviceLink } from '../../../firmware/sim/line.js';
import { PERSONALITIES } from '../../../firmware/sim/personalities.js';
import type { Personality } from '../../../firmware/sim/personality.js';
import { openPty, type PtyBridge } from '../../../firmware/sim/pty.js';
import { parseFaultSpec } from '../../../firmware/sim/faults.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { expect } from 'vitest';
import { requirePython } from '../cli-process.js';

/**
 * A simulated commodity BMS on a real pseudo-terminal. The board is built but its clock is not
 * started, so the pack state stays put and what the host reads can be compared with
 * board.pack.state() exactly (to the protocol's resolution).
 */
export interface BmsRig {
  board: SimBoard;
  personality: Personality;
  link: DeviceLink;
  pty: PtyBridge;
  stop(): Promise<void>;
}

export async function startRig(
  personality: 'jbd' | 'daly' | 'jk',
  opts: { faults?: string; cells?: number; scenario?: 'idle' | 'normal' } = {},
): Promise<BmsRig> {
  requirePython();
  const board = await createBoard({ cells: opts.cells ?? 16, subsystems: false, seed: 7, scenario: opts.scenario ?? 'normal', initialSoc: 63 });
  // Step the pack a little so current, balancing and temperatures are not at their start values.
  board.pack.step(120);
  const p = await (await PERSONALITIES[personality]!())(board);
  const pty = await openPty();
  const link = createDeviceLink(pty.pipe, { settings: { baudRate: 115200, parity: 'none' }, faults: parseFaultSpec(opts.faults), seed: 3 });
  p.attach(link);
  return {
    board,
    personality: p,
    link,
    pty,
    async stop() {
      p.detach();
      link.disconnect('test done');
      pty.close();
      await board.stop();
    },
  };
}

export const RESOLUTION = {
  jbd: { voltage: 0.01, current: 0.01, soc: 1, cell: 0.001, temp: 0.1 },
  daly: { voltage: 0.1, current: 0.1, soc: 0.1, cell: 0.001, temp: 1 },
  jk: { voltage: 0.01, current: 0.01, soc: 1, cell: 0.001, temp: 1 },
} as const;

/** Temperatures as each protocol carries them (see the personalities and shared/bms). */
export function expectedTemperatures(protocol: 'jbd' | 'daly' | 'jk', board: SimBoard): number[] {
  const t = board.pack.state().temperatures;
  if (protocol !== 'jk') return t;
  // JK: two battery sensors (0x81, 0x82) then the MOSFET sensor (0x80); cell sensors come first
  // in PackState, then mosfet, then board.
  const cellSensors = t.length - 2;
  const sensors = cellSensors >= 2 ? [t[0]!, t[1]!] : [t[0]!];
  return [...sensors, t[cellSensors]!];
}

/** Within half a resolution step (rounding) plus float slack. */
function near(actual: number, expected: number, step: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: got ${actual}, simulator ${expected}`).toBeLessThanOrEqual(step / 2 + 1e-9);
}

export function expectMatchesBoard(
  protocol: 'jbd' | 'daly' | 'jk',
  frame: Pick<TelemetryFrame, 'packVoltage' | 'current' | 'soc' | 'cellVoltages' | 'temperatures'>,
  board: SimBoard,
): void {
  const s = board.pack.state();
  const r = RESOLUTION[protocol];
  near(frame.packVoltage, s.packVoltage, r.voltage, 'pack voltage');
  near(frame.current, s.current, r.current, 'current');
  near(frame.soc, s.soc, r.soc, 'SOC');
  expect(frame.cellVoltages.length).toBe(s.cellVoltages.length);
  frame.cellVoltages.forEach((v, i) => near(v, s.cellVoltages[i]!, r.cell, `cell ${i + 1}`));
  const temps = expectedTemperatures(protocol, board);
  expect(frame.temperatures.length).toBe(temps.length);
  frame.temperatures.forEach((v, i) => near(v, temps[i]!, r.temp, `temperature ${i + 1}`));
}

/** Waits (polling every 20 ms of real time) until cond holds; fails after ms, naming what it waited for. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
