import { ALARM_FLAGS, STATUS_FLAGS, flagBit, type AlarmFlag } from '../../../shared/types/domain.js';
import { EVENTS, alarmClearedEvent, alarmRaisedEvent } from '../../../shared/blackbox/events.js';
import { Random } from '../../../shared/util/random.js';
import { CHEMISTRIES, ocvAt, resistanceFactor, socAtOcv, type ChemistryParams } from './chemistry.js';
import { SCENARIO_SPECS, type Phase, type ScenarioSpec } from './scenarios.js';
import {
  SCENARIOS,
  type BenchLoad,
  type BenchState,
  type FetSwitches,
  type PackConfig,
  type PackModel,
  type PackState,
  type ProtectionLimits,
} from './types.js';

/**
 * The pack model: N series cells (each with its own capacity, SOC, ohmic resistance and one RC
 * polarisation pair), a lumped thermal model (cell mass + MOSFET + board), a BMS that raises alarms
 * and switches its charge/discharge FETs, passive balancing, a CC/CV charger, and a scenario that
 * drives the current. Internally it integrates in steps of at most 1 s.
 */

const STATUS = Object.fromEntries(STATUS_FLAGS.map((f) => [f, flagBit(STATUS_FLAGS, f)])) as Record<(typeof STATUS_FLAGS)[number], number>;
const ALARM = Object.fromEntries(ALARM_FLAGS.map((f) => [f, flagBit(ALARM_FLAGS, f)])) as Record<AlarmFlag, number>;

const MAX_SUBSTEP = 1;
const POLARISATION_TAU = 40; // s
const BALANCE_CURRENT = 0.1; // A, bleed resistor
const BALANCE_DELTA = 0.01; // V
const SELF_DISCHARGE_PER_HOUR = 0.00004; // ~3 %/month, a healthy cell

/**
 * The limits a board of this chemistry and capacity enforces out of the factory: the chemistry's
 * cell thresholds, 1.5C charge and 4C discharge for 1 s, charging between −10 and 55 °C,
 * discharging between −30 and 70 °C.
 */
export function defaultProtection(chemistry: PackConfig['chemistry'], capacityAh: number): ProtectionLimits {
  const chem = CHEMISTRIES[chemistry];
  return {
    cellOvProtect: chem.ovProtect,
    cellOvRelease: chem.ovRelease,
    cellUvProtect: chem.uvProtect,
    cellUvRelease: chem.uvRelease,
    chargeOcA: 1.5 * capacityAh,
    dischargeOcA: 4 * capacityAh,
    chargeOcDelayS: 1,
    dischargeOcDelayS: 1,
    chargeOtC: 55,
    chargeUtC: -10,
    dischargeOtC: 70,
    dischargeUtC: -30,
    chargeMinTempC: 0,
    balanceStart: chem.balanceStart,
    balanceWindow: BALANCE_DELTA,
  };
}

export function temperatureSensorCount(cells: number): number {
  return Math.min(4, Math.max(1, Math.ceil(cells / 4))) + 2;
}

/** Names of the temperature sensors in PackState.temperatures order: cell sensors, MOSFET, board. */
export function temperatureSensorNames(cells: number): string[] {
  const n = temperatureSensorCount(cells) - 2;
  return [...Array.from({ length: n }, (_, i) => `cells${i + 1}`), 'mosfet', 'board'];
}

export function resolvePackConfig(config: Partial<PackConfig> & { seed?: number } = {}): PackConfig {
  const scenario = config.scenario ?? 'normal';
  if (!SCENARIOS.includes(scenario)) throw new RangeError(`unknown scenario "${scenario}" (known: ${SCENARIOS.join(', ')})`);
  const cells = config.cells ?? 16;
  if (!Number.isInteger(cells) || cells < 1 || cells > 32) throw new RangeError('cells must be an integer from 1 to 32');
  const chemistry = config.chemistry ?? 'lfp';
  if (!(chemistry in CHEMISTRIES)) throw new RangeError(`unknown chemistry "${chemistry}"`);
  const capacityAh = config.capacityAh ?? 100;
  if (!(capacityAh > 0)) throw new RangeError('capacityAh must be positive');
  const spec = SCENARIO_SPECS[scenario];
  return {
    cells,
    chemistry,
    capacityAh,
    scenario,
    seed: config.seed ?? 1,
    startTimeMs: config.startTimeMs ?? Date.UTC(2026, 0, 1),
    initialSoc: config.initialSoc ?? spec.initialSoc,
    ambientC: config.ambientC ?? spec.ambientC,
  };
}

interface AlarmTimer {
  /** Seconds the raise condition has held. */
  pending: number;
}

export class SimPackModel implements PackModel {
  readonly config: PackConfig;
  private readonly chem: ChemistryParams;
  private prot: ProtectionLimits;
  private readonly spec: ScenarioSpec;
  private readonly n: number;
  private readonly C: number; // nominal capacity, Ah (1C in amperes)
  private readonly noise: Random;
  private readonly profileRng: Random;

  // Per-cell state.
  private readonly cap: Float64Array; // Ah
  private readonly soc: Float64Array; // fraction
  private readonly r0: Float64Array; // Ω at 25 °C
  private readonly vrc: Float64Array; // polarisation voltage
  private readonly selfDis: Float64Array; // fraction per second
  private readonly vTrue: Float64Array;
  private readonly bleed: Float64Array;

  // Thermal state.
  private tPack: number;
  private tFet: number;
  private readonly sensorGain: Float64Array;
  private readonly sensorOffset: Float64Array;
  private readonly tSensorsTrue: Float64Array;

  // BMS and charger state.
  private timeMs: number;
  private current = 0;
  private chargeFet = true;
  private dischargeFet = true;
  private chargeFetOkFor = 0;
  private dischargeFetOkFor = 0;
  /** The user's switches: a FET conducts only when protection allows it AND its switch is on. */
  private sw: FetSwitches = { charge: true, discharge: true };
  private chargeOcFor = 0;
  private dischargeOcFor = 0;
  private alarms = 0;
  private readonly alarmTimers: AlarmTimer[] = ALARM_FLAGS.map(() => ({ pending: 0 }));
  private balancingMask = 0;
  private chargerConnected = false;
  private readonly initialCycles: number;
  private dischargedAh = 0;
  private events: number[] = [];

  // Scenario state.
  private phases: Phase[] = [];
  private phaseIndex = -1;
  private phaseElapsed = 0;
  private loadWobble = 0;
  private loadWobbleTarget = 0;
  private wobbleTimer = 0;

  // A bench load the board drives instead of the scenario (the guided capacity test).
  private benchRun: { load: BenchLoad; phase: Phase; state: BenchState } | null = null;

  // Latest measured state (computed at the end of every step, so that state() has no side effects).
  private measured!: PackState;

  setProtection(limits: Partial<ProtectionLimits>): void {
    this.prot = { ...this.prot, ...limits };
  }

  protection(): ProtectionLimits {
    return { ...this.prot };
  }

  setSwitches(switches: Partial<FetSwitches>): void {
    const was = { charge: this.chargeOn(), discharge: this.dischargeOn() };
    this.sw = { ...this.sw, ...switches };
    const now = { charge: this.chargeOn(), discharge: this.dischargeOn() };
    if (was.charge !== now.charge) this.events.push(now.charge ? EVENTS.charge_fet_on : EVENTS.charge_fet_off);
    if (was.discharge !== now.discharge) this.events.push(now.discharge ? EVENTS.discharge_fet_on : EVENTS.discharge_fet_off);
    // An opened FET stops its current at once, as the hardware does, not at the next step.
    if ((!now.charge && this.current > 0) || (!now.discharge && this.current < 0)) {
      this.current = 0;
      this.updateCellVoltages();
    }
    this.measure();
  }

  switches(): FetSwitches {
    return { ...this.sw };
  }

  /** The charge FET conducts: protection allows it and the user's switch is on. */
  private chargeOn(): boolean {
    return this.chargeFet && this.sw.charge;
  }

  private dischargeOn(): boolean {
    return this.dischargeFet && this.sw.discharge;
  }

  setBench(load: BenchLoad | null): void {
    if (load && !(load.currentA >= 0 && Number.isFinite(load.currentA))) throw new RangeError('bench current must be a finite number ≥ 0');
    this.benchRun = load ? { load, phase: benchPhase(load, this.C), state: { elapsedS: 0, ah: 0, wh: 0, done: null } } : null;
    this.connectCharger(load ? load.kind === 'charge' : this.phase.kind === 'charge');
  }

  bench(): BenchState | null {
    return this.benchRun ? { ...this.benchRun.state } : null;
  }

  /** Counts the bench step's charge and ends it when its condition is met. */
  private benchProgress(bench: NonNullable<SimPackModel['benchRun']>, chargeDone: boolean, dt: number): void {
    const st = bench.state;
    if (st.done) return;
    let pack = 0;
    for (const v of this.vTrue) pack += v;
    st.ah += (this.current * dt) / 3600;
    st.wh += (this.current * pack * dt) / 3600;
    const { kind, untilCellV } = bench.load;
    if (kind === 'charge' && chargeDone) {
      this.events.push(EVENTS.charge_complete);
      st.done = 'charged';
    } else if (kind === 'charge' && !this.chargeFet) st.done = 'protection';
    else if (kind === 'discharge' && !this.dischargeFet) st.done = 'protection';
    else if (kind === 'discharge' && untilCellV !== undefined && vMinNow(this.vTrue) <= untilCellV) st.done = 'end-voltage';
    if (st.done) {
      // The charger or load is switched off at once: the pack rests from the next step on.
      bench.phase = { kind: 'rest', cRate: 0, seconds: Infinity };
      this.connectCharger(false);
    }
  }

  private connectCharger(want: boolean): void {
    if (want === this.chargerConnected) return;
    this.chargerConnected = want;
    this.events.push(want ? EVENTS.charger_connected : EVENTS.charger_disconnected);
  }

  constructor(config: Partial<PackConfig> & { seed?: number } = {}) {
    this.config = resolvePackConfig(config);
    const cfg = this.config;
    this.chem = CHEMISTRIES[cfg.chemistry];
    this.prot = defaultProtection(cfg.chemistry, cfg.capacityAh);
    this.spec = SCENARIO_SPECS[cfg.scenario];
    this.n = cfg.cells;
    this.C = cfg.capacityAh;
    const root = new Random(cfg.seed);
    const spread = root.fork();
    this.noise = root.fork();
    this.profileRng = root.fork();
    this.timeMs = cfg.startTimeMs;

    const n = this.n;
    this.cap = new Float64Array(n);
    this.soc = new Float64Array(n);
    this.r0 = new Float64Array(n);
    this.vrc = new Float64Array(n);
    this.selfDis = new Float64Array(n);
    this.vTrue = new Float64Array(n);
    this.bleed = new Float64Array(n);
    const baseR = (this.chem.r0At100Ah * 100) / this.C;
    const soc0 = (cfg.initialSoc ?? 50) / 100;
    for (let i = 0; i < n; i++) {
      // Manufacturing spread of a matched batch: ~1 % capacity, ~5 % resistance, ~0.5 % SOC.
      this.cap[i] = this.C * (1 + 0.01 * clamp(spread.normal(), -3, 3));
      this.r0[i] = baseR * (1 + 0.05 * clamp(spread.normal(), -3, 3));
      this.soc[i] = soc0 + 0.005 * clamp(spread.normal(), -3, 3);
      this.selfDis[i] = SELF_DISCHARGE_PER_HOUR / 3600;
    }
    const weak = this.spec.weakCell;
    if (weak) {
      const k = spread.int(n);
      this.cap[k] = this.cap[k]! * weak.capacityFactor;
      this.r0[k] = this.r0[k]! * weak.resistanceFactor;
      this.selfDis[k] = weak.selfDischargePerHour / 3600;
    }
    this.initialCycles = 5 + spread.int(60);

    const ambient = this.ambientAt(this.timeMs);
    this.tPack = ambient;
    this.tFet = ambient;
    const sensors = temperatureSensorCount(n) - 2;
    this.sensorGain = new Float64Array(sensors);
    this.sensorOffset = new Float64Array(sensors);
    for (let j = 0; j < sensors; j++) {
      // Sensors in the middle of the stack see more of the pack's self-heating than those at the ends.
      const centre = sensors === 1 ? 1 : 1 - Math.abs((2 * j) / (sensors - 1) - 1);
      this.sensorGain[j] = 0.1 * centre - 0.05;
      this.sensorOffset[j] = 0.2 * clamp(spread.normal(), -2, 2);
    }
    this.tSensorsTrue = new Float64Array(sensors);
    this.updateTemperatureSensors();
    this.updateCellVoltages();
    this.nextPhase();
    this.measure();
    this.events = [];
  }

  step(dtSeconds: number): void {
    if (!(dtSeconds >= 0) || !Number.isFinite(dtSeconds)) throw new RangeError('dtSeconds must be a finite number ≥ 0');
    let left = dtSeconds;
    while (left > 1e-9) {
      const dt = Math.min(MAX_SUBSTEP, left);
      this.substep(dt);
      left -= dt;
    }
    this.measure();
  }

  state(): PackState {
    const m = this.measured;
    return { ...m, cellVoltages: m.cellVoltages.slice(), temperatures: m.temperatures.slice() };
  }

  takeEvents(): number[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  // ---------------------------------------------------------------------------------------------

  private get phase(): Phase {
    return this.phases[this.phaseIndex]!;
  }

  private nextPhase(): void {
    this.phaseIndex++;
    if (this.phaseIndex >= this.phases.length) {
      this.phases = this.spec.cycle(this.profileRng);
      this.phaseIndex = 0;
    }
    this.phaseElapsed = 0;
    this.connectCharger(this.phase.kind === 'charge');
  }

  private ambientAt(timeMs: number): number {
    // A gentle day/night swing around the scenario's ambient, coolest at 05:00.
    const hour = (timeMs / 3_600_000) % 24;
    return (this.config.ambientC ?? 22) + 2 * Math.sin((2 * Math.PI * (hour - 11)) / 24);
  }

  private packSoc(): number {
    return (100 * this.remainingAh()) / this.fullChargeAh();
  }

  private remainingAh(): number {
    let r = Infinity;
    for (let i = 0; i < this.n; i++) r = Math.min(r, this.soc[i]! * this.cap[i]!);
    return Math.max(0, r);
  }

  private fullChargeAh(): number {
    let r = Infinity;
    for (let i = 0; i < this.n; i++) r = Math.min(r, this.cap[i]!);
    return r;
  }

  private minCellT(): number {
    let m = Infinity;
    for (const t of this.tSensorsTrue) m = Math.min(m, t);
    return m;
  }

  private maxCellT(): number {
    let m = -Infinity;
    for (const t of this.tSensorsTrue) m = Math.max(m, t);
    return m;
  }

  private limits(): { chargeA: number; dischargeA: number } {
    const tMin = this.minCellT();
    const tMax = this.maxCellT();
    let vMax = -Infinity;
    let vMin = Infinity;
    for (const v of this.vTrue) {
      vMax = Math.max(vMax, v);
      vMin = Math.min(vMin, v);
    }
    let chargeA = 0.5 * this.C;
    if (tMin < 0 || tMax > 45) chargeA = 0;
    else if (tMin < 10) chargeA = 0.1 * this.C;
    if (vMax > this.chem.balanceStart + 0.05) chargeA = Math.min(chargeA, 0.1 * this.C);
    // Top cell at the charge set-point: the BMS asks for a trickle so balancing can catch up.
    if (vMax > this.chem.chargeVoltage) chargeA = Math.min(chargeA, 0.02 * this.C);
    let dischargeA = this.C;
    if (tMin < 0) dischargeA = 0.5 * this.C;
    if (tMin < -20 || tMax > 60 || vMin < this.chem.uvAlarm) dischargeA = 0;
    return { chargeA, dischargeA };
  }

  private substep(dt: number): void {
    const n = this.n;
    const chem = this.chem;
    const bench = this.benchRun;
    const ph = bench ? bench.phase : this.phase;
    const elapsed = bench ? (bench.state.elapsedS += dt) : (this.phaseElapsed += dt);

    // 1. What the scenario asks for.
    this.wobbleTimer -= dt;
    if (this.wobbleTimer <= 0) {
      this.wobbleTimer = 10;
      this.loadWobbleTarget = 2 * this.profileRng.next() - 1;
    }
    this.loadWobble += (this.loadWobbleTarget - this.loadWobble) * Math.min(1, dt / 5);

    let ocvSum = 0;
    let rSum = 0;
    const rf = resistanceFactor(this.meanCellT());
    for (let i = 0; i < n; i++) {
      ocvSum += ocvAt(chem, this.soc[i]!) + this.vrc[i]!;
      rSum += this.r0[i]! * rf;
    }

    let current = 0;
    let chargeDone = false;
    if (ph.kind === 'discharge') {
      current = this.dischargeOn() ? -ph.cRate * this.C * (1 + (ph.variation ?? 0) * this.loadWobble) : 0;
    } else if (ph.kind === 'charge') {
      const lim = this.limits();
      const request = ph.ignoreLimits ? ph.cRate * this.C : Math.min(ph.cRate * this.C, lim.chargeA);
      const cv = (n * chem.chargeVoltage - ocvSum) / rSum;
      current = this.chargeOn() ? Math.max(0, Math.min(request, cv)) : 0;
      // CC/CV termination: in CV with the current tapered below C/30.
      if (cv < request && current < this.C / 30 && elapsed > 60) chargeDone = true;
      // A BMS-controlled charger also stops when the highest cell reaches full (the BMS declares
      // the pack full); a charger that ignores the BMS keeps pushing until the FET protection trips.
      if (!ph.ignoreLimits && elapsed > 60 && vMaxNow(this.vTrue) > chem.chargeVoltage + 0.04) chargeDone = true;
    }

    // 2. Balancing (passive): during charge or rest, near the top of charge.
    let vMax = -Infinity;
    let vMin = Infinity;
    for (const v of this.vTrue) {
      vMax = Math.max(vMax, v);
      vMin = Math.min(vMin, v);
    }
    let mask = 0;
    const window = this.prot.balanceWindow;
    if (current >= 0 && vMax > this.prot.balanceStart && vMax - vMin > window) {
      for (let i = 0; i < n; i++) if (this.vTrue[i]! - vMin > window) mask |= 1 << i;
    }
    if ((mask !== 0) !== (this.balancingMask !== 0)) this.events.push(mask ? EVENTS.balancing_started : EVENTS.balancing_stopped);
    this.balancingMask = mask;

    // 3. Electrochemistry.
    const decay = Math.exp(-dt / POLARISATION_TAU);
    let heat = 0;
    for (let i = 0; i < n; i++) {
      const bleed = (mask >>> i) & 1 ? BALANCE_CURRENT : 0;
      this.bleed[i] = bleed;
      const r = this.r0[i]! * rf;
      const iCell = current - bleed;
      this.soc[i] = this.soc[i]! + (iCell * dt) / 3600 / this.cap[i]! - this.selfDis[i]! * dt;
      this.vrc[i] = this.vrc[i]! * decay + current * 0.5 * r * (1 - decay);
      heat += current * current * r + bleed * bleed * 33;
    }
    if (current < 0) this.dischargedAh += (-current * dt) / 3600;
    this.current = current;
    this.updateCellVoltages();

    // 4. Thermal: cells as one lumped mass exchanging heat with ambient; MOSFETs heat faster.
    const ambient = this.ambientAt(this.timeMs);
    const cth = n * this.C * 20;
    const gth = n * this.C * 0.01;
    this.tPack += ((heat - gth * (this.tPack - ambient)) * dt) / cth;
    const rFet = (0.0005 * 100) / this.C;
    const fetHeat = current * current * rFet;
    this.tFet += ((fetHeat - 1.2 * (this.tFet - ambient)) * dt) / 60;
    this.updateTemperatureSensors();

    this.timeMs += dt * 1000;

    // 5. BMS: alarms and protection.
    this.runProtection(dt);

    // 6. Phase progression (a bench load holds the scenario where it is).
    if (bench) {
      this.benchProgress(bench, chargeDone, dt);
      return;
    }
    const soc = this.packSoc();
    let end = this.phaseElapsed >= ph.seconds;
    if (ph.kind === 'discharge' && (soc <= (ph.untilSoc ?? -Infinity) || !this.dischargeOn())) end = true;
    if (ph.kind === 'charge' && chargeDone) {
      this.events.push(EVENTS.charge_complete);
      end = true;
    }
    if (end) this.nextPhase();
  }

  private meanCellT(): number {
    let s = 0;
    for (const t of this.tSensorsTrue) s += t;
    return s / this.tSensorsTrue.length;
  }

  private updateCellVoltages(): void {
    const rf = resistanceFactor(this.tSensorsTrue.length ? this.meanCellT() : 25);
    for (let i = 0; i < this.n; i++) {
      this.vTrue[i] = ocvAt(this.chem, this.soc[i]!) + this.vrc[i]! + this.current * this.r0[i]! * rf;
    }
  }

  private updateTemperatureSensors(): void {
    const ambient = this.ambientAt(this.timeMs);
    for (let j = 0; j < this.tSensorsTrue.length; j++) {
      this.tSensorsTrue[j] = this.tPack + (this.tPack - ambient) * this.sensorGain[j]! + this.sensorOffset[j]!;
    }
  }

  private setAlarm(flag: AlarmFlag, raise: boolean, clear: boolean, delay: number, dt: number): void {
    const bit = ALARM[flag];
    const idx = ALARM_FLAGS.indexOf(flag);
    const timer = this.alarmTimers[idx]!;
    if (this.alarms & bit) {
      if (clear) {
        this.alarms &= ~bit;
        timer.pending = 0;
        this.events.push(alarmClearedEvent(idx));
      }
    } else if (raise) {
      timer.pending += dt;
      if (timer.pending >= delay) {
        this.alarms |= bit;
        this.events.push(alarmRaisedEvent(idx));
      }
    } else {
      timer.pending = 0;
    }
  }

  private runProtection(dt: number): void {
    const chem = this.chem;
    const n = this.n;
    const C = this.C;
    let vMax = -Infinity;
    let vMin = Infinity;
    let pack = 0;
    for (const v of this.vTrue) {
      vMax = Math.max(vMax, v);
      vMin = Math.min(vMin, v);
      pack += v;
    }
    const tMin = this.minCellT();
    const tMax = this.maxCellT();
    const I = this.current;
    const charging = I > C / 50;
    const discharging = I < -C / 50;

    this.setAlarm('cell_overvoltage', vMax > chem.ovAlarm, vMax < chem.ovAlarm - 0.1, 1, dt);
    this.setAlarm('cell_undervoltage', vMin < chem.uvAlarm, vMin > chem.uvAlarm + 0.2, 1, dt);
    this.setAlarm('pack_overvoltage', pack > n * (chem.chargeVoltage + 0.05), pack < n * chem.chargeVoltage, 1, dt);
    this.setAlarm('pack_undervoltage', pack < n * (chem.uvAlarm + 0.2), pack > n * (chem.uvAlarm + 0.4), 1, dt);
    this.setAlarm('charge_overcurrent', I > C, I < 0.8 * C, 2, dt);
    this.setAlarm('discharge_overcurrent', -I > 2 * C, -I < 1.5 * C, 2, dt);
    this.setAlarm('short_circuit', -I > 10 * C, -I < C, 0, dt);
    this.setAlarm('charge_overtemperature', charging && tMax > 45, !charging || tMax < 40, 2, dt);
    const pr = this.prot;
    this.setAlarm('charge_undertemperature', charging && tMin < pr.chargeMinTempC, !this.chargerConnected || tMin > pr.chargeMinTempC + 2, 2, dt);
    this.setAlarm('discharge_overtemperature', discharging && tMax > 60, !discharging || tMax < 55, 2, dt);
    this.setAlarm('discharge_undertemperature', discharging && tMin < -20, !discharging || tMin > -15, 2, dt);
    // Imbalance is judged at rest below the top knee: at the very top of an LFP curve a fraction of
    // a percent of SOC is 100 mV, which says nothing about the cells' health.
    const judgeable = !charging && !discharging && vMax < chem.balanceStart;
    this.setAlarm('cell_imbalance', judgeable && vMax - vMin > 0.1, judgeable && vMax - vMin < 0.05, 10, dt);

    // FET protection: harder thresholds than the alarms, with hysteresis and a recovery delay.
    // The limits are the board's settings (setProtection), defaults from the chemistry.
    this.chargeOcFor = I > pr.chargeOcA ? this.chargeOcFor + dt : 0;
    this.dischargeOcFor = -I > pr.dischargeOcA ? this.dischargeOcFor + dt : 0;
    const chargeTrip = vMax > pr.cellOvProtect || tMin < pr.chargeUtC || tMax > pr.chargeOtC || this.chargeOcFor >= Math.max(pr.chargeOcDelayS, dt);
    const chargeOk = vMax < pr.cellOvRelease && tMin > pr.chargeUtC + 2 && tMax < pr.chargeOtC - 5;
    const dischargeTrip =
      vMin < pr.cellUvProtect || tMax > pr.dischargeOtC || tMin < pr.dischargeUtC || this.dischargeOcFor >= Math.max(pr.dischargeOcDelayS, dt) || -I > 10 * C;
    const dischargeOk = vMin > pr.cellUvRelease && tMax < pr.dischargeOtC - 5 && tMin > pr.dischargeUtC + 2;
    if (this.chargeFet && chargeTrip) {
      this.chargeFet = false;
      this.chargeFetOkFor = 0;
      if (this.sw.charge) this.events.push(EVENTS.charge_fet_off);
    } else if (!this.chargeFet) {
      this.chargeFetOkFor = chargeOk ? this.chargeFetOkFor + dt : 0;
      if (this.chargeFetOkFor >= 10) {
        this.chargeFet = true;
        if (this.sw.charge) this.events.push(EVENTS.charge_fet_on);
      }
    }
    if (this.dischargeFet && dischargeTrip) {
      this.dischargeFet = false;
      this.dischargeFetOkFor = 0;
      this.current = 0; // the FET opens: the load current stops at once
      this.updateCellVoltages();
      if (this.sw.discharge) this.events.push(EVENTS.discharge_fet_off);
    } else if (!this.dischargeFet) {
      this.dischargeFetOkFor = dischargeOk ? this.dischargeFetOkFor + dt : 0;
      if (this.dischargeFetOkFor >= 30) {
        this.dischargeFet = true;
        if (this.sw.discharge) this.events.push(EVENTS.discharge_fet_on);
      }
    }
  }

  private measure(): void {
    const n = this.n;
    const rnd = this.noise;
    const cellVoltages = new Array<number>(n);
    let pack = 0;
    for (let i = 0; i < n; i++) {
      const v = this.vTrue[i]! + 0.0005 * rnd.normal();
      cellVoltages[i] = v;
      pack += v;
    }
    const temperatures: number[] = [];
    for (const t of this.tSensorsTrue) temperatures.push(t + 0.05 * rnd.normal());
    const ambient = this.ambientAt(this.timeMs);
    temperatures.push(this.tFet + 0.05 * rnd.normal());
    temperatures.push(ambient + 2 + 0.2 * (this.tFet - ambient) + 0.05 * rnd.normal());
    const current = this.current + 0.02 * rnd.normal();
    const C = this.C;
    let status = 0;
    if (this.current > C / 100) status |= STATUS.charging;
    else if (this.current < -C / 100) status |= STATUS.discharging;
    else status |= STATUS.rest;
    if (this.balancingMask) status |= STATUS.balancing;
    if (this.chargeOn()) status |= STATUS.charge_fet_on;
    if (this.dischargeOn()) status |= STATUS.discharge_fet_on;
    if (this.chargerConnected) status |= STATUS.charger_connected;
    const lim = this.limits();
    const full = this.fullChargeAh();
    const remaining = this.remainingAh();
    this.measured = {
      timeMs: Math.round(this.timeMs),
      packVoltage: pack,
      current,
      soc: clamp((100 * remaining) / full, 0, 100),
      soh: (100 * full) / C,
      cellVoltages,
      temperatures,
      status,
      alarms: this.alarms,
      remainingAh: remaining,
      fullChargeAh: full,
      cycleCount: this.initialCycles + Math.floor(this.dischargedAh / C),
      chargeVoltageLimit: n * this.chem.chargeVoltage,
      chargeCurrentLimit: lim.chargeA,
      dischargeCurrentLimit: lim.dischargeA,
      dischargeVoltageLimit: n * this.chem.dischargeVoltage,
      balancingMask: this.balancingMask,
    };
  }
}

function vMinNow(v: Float64Array): number {
  let m = Infinity;
  for (const x of v) m = Math.min(m, x);
  return m;
}

/** The scenario phase a bench load drives like: constant current, no end but its own condition. */
function benchPhase(load: BenchLoad, capacityAh: number): Phase {
  return { kind: load.kind, cRate: load.currentA / capacityAh, seconds: Infinity, variation: 0 };
}

function vMaxNow(v: Float64Array): number {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  return m;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

// Re-exported for tests that start a cell from a rest voltage.
export { socAtOcv };

/**
 * Creates a simulated pack. Defaults: 16 cells, LFP, 100 Ah, scenario 'normal', seed 1, RTC start
 * 2026-01-01T00:00Z. The same config and the same sequence of step() calls give identical states.
 */
export function createPackModel(config: Partial<PackConfig> & { seed?: number } = {}): PackModel {
  return new SimPackModel(config);
}
