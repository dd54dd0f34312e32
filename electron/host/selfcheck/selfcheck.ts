/**
 * The guided self-check against a connected pack (issue 6): identity and firmware currency,
 * active faults, cell balance at rest, capacity (state of health), temperature plausibility, current-sensor offset at rest,
 * charger against the pack's limits, black-box health. Step by step, so the app's wizard can show
 * each step's prompt, run it, show the result, and let the user fix a condition and run it again;
 * `run()` goes through all of them for the CLI. Ends with "no problem found" or "file a claim".
 */
import { PackscopeError } from '../../../shared/errors.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { flagBit, STATUS_FLAGS, type DeviceInfo, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { Session } from '../session.js';
import { checkBlackBox, readTemperatureLabels } from './blackbox-health.js';
import {
  judgeCapacity,
  judgeCellSpread,
  judgeCharger,
  judgeCurrentOffset,
  judgeFaults,
  judgeIdentity,
  judgeTemperatures,
  restCurrent,
  type PackLimits,
  type TelemetrySample,
} from './checks.js';
import type { Conclusion, StepId, StepInfo, StepResult } from './types.js';

export interface SelfCheckOptions {
  /** Thresholds (cell drift) come from the warranty policy; default: the shipped policy. */
  policy?: WarrantyPolicy;
  /** Newest firmware version for this model, from the supplier's catalogue; null/absent: not compared. */
  latestFirmware?: string | null;
  /** The customer's charger ratings, from its label. */
  charger?: { voltageV: number; currentA: number } | null;
  /** Room temperature, °C, if the user knows it. */
  ambientC?: number | null;
  /** Telemetry sample length per measurement, s (default 5). */
  sampleSeconds?: number;
  /** Telemetry rate while sampling, Hz (default 5). */
  sampleRateHz?: number;
  signal?: AbortSignal;
}

export const STEPS: readonly StepInfo[] = [
  { id: 'identity', title: 'Identity and firmware', prompt: '' },
  { id: 'faults', title: 'Active faults', prompt: '' },
  { id: 'cell-spread', title: 'Cell balance at rest', prompt: 'Disconnect any load and the charger, and let the pack rest for at least a minute.' },
  { id: 'capacity', title: 'Capacity (state of health)', prompt: '' },
  { id: 'temperatures', title: 'Temperature sensors', prompt: 'Keep the pack at rest, ideally after an hour in the room.' },
  { id: 'current-offset', title: 'Current sensor at rest', prompt: 'Make sure nothing is connected to the pack.' },
  { id: 'charger', title: 'Charger against the pack limits', prompt: "Have your charger's label at hand, or connect the charger now." },
  { id: 'blackbox', title: 'Black box', prompt: '' },
];

export class SelfCheck {
  readonly steps = STEPS;
  private readonly results = new Map<StepId, StepResult>();
  private sampleCache: { at: number; sample: TelemetrySample } | null = null;
  private readonly policy: WarrantyPolicy;

  constructor(
    private readonly session: Session,
    private readonly options: SelfCheckOptions = {},
  ) {
    this.policy = options.policy ?? DEFAULT_POLICY;
    if (!session.info) throw new PackscopeError('USAGE', 'the session has not identified the device');
  }

  private get info(): DeviceInfo {
    return this.session.info!;
  }

  /** Telemetry frames over sampleSeconds; reused for 20 s so consecutive steps see the same state. */
  private async sample(fresh = false): Promise<TelemetrySample> {
    if (!fresh && this.sampleCache && performance.now() - this.sampleCache.at < 20_000) return this.sampleCache.sample;
    const frames: TelemetryFrame[] = [];
    const seconds = this.options.sampleSeconds ?? 5;
    const rate = this.options.sampleRateHz ?? 5;
    const off = this.session.on('telemetry', (f) => frames.push(f));
    const wasStreaming = this.session.telemetryRateHz > 0;
    try {
      if (!wasStreaming) await this.session.startTelemetry(rate);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, seconds * 1000);
        const signal = this.options.signal;
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(new PackscopeError('CANCELLED', 'self-check cancelled'));
          },
          { once: true },
        );
        this.session.on('disconnect', (why) => {
          clearTimeout(timer);
          reject(new PackscopeError('DISCONNECTED', `the pack went away during the self-check: ${why}`));
        });
      });
    } finally {
      off();
      if (!wasStreaming && !this.session.isDisconnected) await this.session.stopTelemetry().catch(() => undefined);
    }
    if (frames.length === 0) throw new PackscopeError('TIMEOUT', `no telemetry from the pack within ${seconds} s`);
    const sample = { frames };
    this.sampleCache = { at: performance.now(), sample };
    return sample;
  }

  private async packLimits(): Promise<PackLimits> {
    const native = this.session.native;
    const out: PackLimits = { cellOvervoltageV: null, chargeOvercurrentA: null, chargeMinTemperatureC: null };
    if (!native) return out;
    for (const p of await native.params(this.options.signal)) {
      if (p.name === 'cell_overvoltage') out.cellOvervoltageV = p.value;
      if (p.name === 'charge_overcurrent') out.chargeOvercurrentA = p.value;
      if (p.name === 'charge_min_temperature') out.chargeMinTemperatureC = p.value;
    }
    return out;
  }

  /** The charger's ratings, entered or corrected while the check runs (the charger step uses them). */
  setCharger(charger: { voltageV: number; currentA: number } | null): void {
    this.options.charger = charger;
  }

  /** Runs one step (again, if it ran before) and returns its result. */
  async runStep(id: StepId): Promise<StepResult> {
    if (this.options.signal?.aborted) throw new PackscopeError('CANCELLED', 'self-check cancelled');
    const restA = restCurrent(this.policy);
    const again = this.results.has(id);
    let r: StepResult;
    switch (id) {
      case 'identity': {
        const s = await this.sample();
        const testBit = flagBit(STATUS_FLAGS, 'firmware_test_mode');
        r = judgeIdentity(this.info, this.options.latestFirmware ?? null, (s.frames[s.frames.length - 1]!.status & testBit) !== 0);
        break;
      }
      case 'faults': {
        const native = this.session.native;
        if (native) {
          const f = await native.faults();
          r = judgeFaults(f.activeAlarms, f.latchedAlarms);
        } else {
          const s = await this.sample(again);
          r = judgeFaults(
            s.frames[s.frames.length - 1]!.alarms,
            s.frames.reduce((a, f) => a | f.alarms, 0),
          );
        }
        break;
      }
      case 'cell-spread':
        r = judgeCellSpread(await this.sample(again), this.policy);
        break;
      case 'capacity':
        r = judgeCapacity(await this.sample(again), this.policy);
        break;
      case 'temperatures':
        r = judgeTemperatures(await this.sample(again), await this.temperatureLabels(), this.options.ambientC ?? null, restA);
        break;
      case 'current-offset':
        r = judgeCurrentOffset(await this.sample(again), this.info.nominalCapacityAh, restA);
        break;
      case 'charger':
        r = judgeCharger(await this.packLimits(), this.info.cellCount, this.options.charger ?? null, await this.sample(again));
        break;
      case 'blackbox': {
        const native = this.session.native;
        r =
          native && this.info.signsEvidence
            ? await checkBlackBox(native, this.info.serial, this.options.signal)
            : {
                id,
                title: 'Black box',
                status: 'skipped',
                normal: 'a BMS with a signed black box',
                measured: `${this.info.protocol} BMS without a black box`,
                meaning:
                  'This BMS keeps no signed log. Record a session on the desktop (monitor --record) to have data for a claim; it is labelled as unsigned.',
                values: {},
              };
        break;
      }
      default:
        throw new PackscopeError('USAGE', `unknown self-check step '${id as string}'`);
    }
    this.results.set(id, r);
    return r;
  }

  /** Every step in order. */
  async *run(): AsyncGenerator<StepResult> {
    for (const s of this.steps) yield await this.runStep(s.id);
  }

  conclusion(): Conclusion {
    return conclude(this.steps.map((s) => this.results.get(s.id)).filter((r): r is StepResult => r !== undefined));
  }

  private labels: string[] | null | undefined;

  /** Native boards name their sensors in the black-box record schema; commodity BMSs do not. */
  private async temperatureLabels(): Promise<string[] | null> {
    if (this.labels === undefined) {
      const native = this.session.native;
      this.labels = native && this.info.signsEvidence ? await readTemperatureLabels(native, this.options.signal) : null;
    }
    return this.labels;
  }
}

/** The outcome of a set of step results: any failed step (a sign of a defect) means "file a claim". */
export function conclude(results: StepResult[]): Conclusion {
  const failed = results.filter((r) => r.status === 'fail');
  const skipped = results.filter((r) => r.status === 'skipped');
  const warned = results.filter((r) => r.status === 'warn');
  if (failed.length) {
    return {
      outcome: 'file-a-claim',
      summary: `File a claim: ${failed.map((r) => r.title.toLowerCase()).join(', ')} point${failed.length === 1 ? 's' : ''} to a defect. Create a diagnosis package (packscope package create) with the pack still connected.`,
      results,
    };
  }
  const list = (rs: StepResult[]) => rs.map((r) => r.title.toLowerCase()).join(', ');
  const notes = [warned.length ? `Something to do: see ${list(warned)}.` : '', skipped.length ? `Not measured this time: ${list(skipped)}.` : ''].filter(
    Boolean,
  );
  return { outcome: 'no-problem-found', summary: ['No problem found.', ...notes].join(' '), results };
}
