import { PackscopeError } from '../../../shared/errors.js';
import type { Chemistry } from '../../../shared/types/domain.js';
import type { ByteTransport, CloseReason, LineSettings, TransportInfo } from '../../../shared/types/transport.js';
import type { ScenarioName } from '../../../firmware/sim/pack/types.js';
import { runSim, type RunSimOptions, type RunningSim } from '../../../firmware/sim/run.js';
import { TransportListeners } from './listeners.js';

/**
 * The built-in demo device: the simulated board running in this process behind a paced
 * in-process line, so a user without hardware (and every unit test) sees a live pack.
 * Path: `sim:` with an optional query, e.g. `sim:?scenario=weak-cell&cells=16&seed=3`.
 * Keys: cells, chemistry, scenario, seed, faults, personality, state, capacity, unpaced, prefill,
 * soc, packs (packs on the bus), packsoc (start SOC per pack, comma-separated), inverter (a
 * simulated inverter polls the packs every N ms), timescale (pack time per unit of real time, so a
 * bench test of hours ends in seconds).
 */
export function parseSimPath(path: string): RunSimOptions {
  if (!path.startsWith('sim:')) throw new PackscopeError('USAGE', `not a sim: path: ${path}`);
  const q = path.slice(4).replace(/^\/*\??/, '');
  const params = new URLSearchParams(q);
  const o: RunSimOptions = {};
  const num = (k: string, min: number, max: number) => {
    const v = params.get(k);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new PackscopeError('USAGE', `sim: ${k} must be a number in ${min}..${max}, got '${v}'`);
    return n;
  };
  for (const key of params.keys()) {
    if (
      ![
        'cells',
        'chemistry',
        'scenario',
        'seed',
        'faults',
        'personality',
        'state',
        'capacity',
        'unpaced',
        'prefill',
        'soc',
        'packs',
        'packsoc',
        'inverter',
        'timescale',
      ].includes(key)
    ) {
      throw new PackscopeError('USAGE', `sim: unknown option '${key}'`);
    }
  }
  const cells = num('cells', 1, 32);
  if (cells !== undefined) o.cells = Math.round(cells);
  const chem = params.get('chemistry');
  if (chem !== null) {
    if (chem !== 'lfp' && chem !== 'nmc') throw new PackscopeError('USAGE', `sim: chemistry must be lfp or nmc`);
    o.chemistry = chem as Chemistry;
  }
  const scenario = params.get('scenario');
  if (scenario !== null) o.scenario = scenario as ScenarioName;
  const seed = num('seed', 0, 2 ** 32 - 1);
  if (seed !== undefined) o.seed = seed;
  const capacity = num('capacity', 1, 10000);
  if (capacity !== undefined) o.capacityAh = capacity;
  const soc = num('soc', 0, 100);
  if (soc !== undefined) o.initialSoc = soc;
  const prefill = num('prefill', 0, 24 * 365);
  if (prefill !== undefined) o.prefillHours = prefill;
  const faults = params.get('faults');
  if (faults !== null) o.faults = faults;
  const personality = params.get('personality');
  if (personality !== null) o.personality = personality;
  const state = params.get('state');
  if (state !== null) o.stateDir = state;
  if (params.has('unpaced')) o.unpaced = params.get('unpaced') !== '0';
  const timeScale = num('timescale', 0.001, 10_000);
  if (timeScale !== undefined) o.timeScale = timeScale;
  const packs = num('packs', 1, 16);
  if (packs !== undefined) o.packs = Math.round(packs);
  const inverter = num('inverter', 50, 600_000);
  if (inverter !== undefined) o.inverterPollMs = inverter;
  const packSoc = params.get('packsoc');
  if (packSoc !== null) {
    o.packSoc = packSoc.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n) || n < 0 || n > 100) throw new PackscopeError('USAGE', `sim: packsoc must be percentages 0..100, got '${x}'`);
      return n;
    });
  }
  return o;
}

export class SimTransport extends TransportListeners implements ByteTransport {
  readonly info: TransportInfo;
  private sim: RunningSim | null = null;
  private readonly options: RunSimOptions;
  private closing = false;

  constructor(
    path: string,
    private settings: LineSettings,
    extra: RunSimOptions = {},
  ) {
    super();
    this.info = { kind: 'sim', path, manufacturer: 'PackScope', adapter: 'built-in simulator' };
    this.options = { ...parseSimPath(path), ...extra };
  }

  get isOpen(): boolean {
    return this.sim !== null;
  }

  /** The running simulator (tests and the demo UI reach the board through it). */
  get running(): RunningSim | null {
    return this.sim;
  }

  async open(): Promise<void> {
    if (this.sim) return;
    const sim = await runSim({ ...this.options, baud: this.settings.baudRate, parity: this.settings.parity ?? 'none', pty: false });
    this.sim = sim;
    this.closing = false;
    sim.host!.onData((d) => {
      this.emitData(d);
    });
    void sim.ended.then((why) => {
      if (this.sim !== sim) return;
      this.sim = null;
      const reason: CloseReason = this.closing ? { kind: 'closed' } : { kind: 'disconnected', message: why };
      void sim.stop();
      this.emitClose(reason);
    });
  }

  async close(): Promise<void> {
    const sim = this.sim;
    if (!sim) return;
    this.closing = true;
    sim.host!.close();
    await sim.ended;
    await sim.stop();
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.sim) throw new PackscopeError('DISCONNECTED', 'the simulated device is not connected');
    this.sim.host!.write(data);
  }

  async setLine(settings: LineSettings): Promise<void> {
    this.settings = settings;
    this.sim?.link.setSettings({ baudRate: settings.baudRate, parity: settings.parity ?? 'none' });
  }
}
