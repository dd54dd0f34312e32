/**
 * The judgement of each self-check step from its measurements: pure functions, so every rule is
 * unit-tested without a device. Thresholds for cell drift come from the warranty policy, so the
 * self-check and the claim evaluation never disagree about what a drifting cell is.
 */
import { ALARM_FLAGS, flagNames, type AlarmFlag, type DeviceInfo, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import type { StepResult } from './types.js';
import { sensorName } from '../../../shared/util/sensor-names.js';

export const HARDWARE_FAULTS: readonly AlarmFlag[] = ['afe_fault', 'temperature_sensor_fault', 'current_sensor_fault', 'precharge_fault'];

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** Compares dotted versions numerically ("1.10.0" > "1.9.3"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split(/[.+-]/);
  const pb = b.replace(/^v/, '').split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

export function judgeIdentity(info: DeviceInfo, latestFirmware: string | null, testMode: boolean): StepResult {
  const base = {
    id: 'identity' as const,
    title: 'Identity and firmware',
    measured: `${info.model}, serial ${info.serial}, hardware ${info.hardwareRevision}, firmware ${info.firmwareVersion}, ${info.cellCount} cells ${info.chemistry.toUpperCase()}, ${info.nominalCapacityAh} Ah`,
    values: {
      model: info.model,
      serial: info.serial,
      firmwareVersion: info.firmwareVersion,
      hardwareRevision: info.hardwareRevision,
      cellCount: info.cellCount,
      nominalCapacityAh: info.nominalCapacityAh,
      latestFirmware,
      firmwareTestMode: testMode,
      signsEvidence: info.signsEvidence,
    },
  };
  if (testMode) {
    return {
      ...base,
      status: 'warn',
      normal: 'confirmed firmware',
      meaning: 'A firmware update is still in test mode: it will revert at the next restart unless it is confirmed (packscope fw confirm).',
    };
  }
  if (latestFirmware === null) {
    return {
      ...base,
      status: 'pass',
      normal: 'the current firmware from the supplier',
      meaning: 'The pack identifies itself correctly. No firmware catalogue was given, so currency was not compared.',
    };
  }
  if (compareVersions(info.firmwareVersion, latestFirmware) < 0) {
    return {
      ...base,
      status: 'warn',
      normal: `firmware ${latestFirmware} or newer`,
      meaning: `Firmware ${latestFirmware} is available. Update it before drawing conclusions: newer firmware may fix the behaviour you see.`,
    };
  }
  return { ...base, status: 'pass', normal: `firmware ${latestFirmware} or newer`, meaning: 'The pack identifies itself correctly and runs current firmware.' };
}

export function judgeFaults(active: number, latched: number): StepResult {
  const activeNames = flagNames(ALARM_FLAGS, active);
  const latchedNames = flagNames(ALARM_FLAGS, latched);
  const hw = [...new Set([...activeNames, ...latchedNames])].filter((n) => HARDWARE_FAULTS.includes(n));
  const base = {
    id: 'faults' as const,
    title: 'Active faults',
    measured: `active: ${activeNames.join(', ') || 'none'}; since last cleared: ${latchedNames.join(', ') || 'none'}`,
    normal: 'no active alarms and no hardware faults',
    values: { activeAlarms: active, latchedAlarms: latched, active: activeNames.join('|'), latched: latchedNames.join('|') },
  };
  if (hw.length) {
    return {
      ...base,
      status: 'fail',
      meaning: `The BMS reports a hardware fault (${hw.join(', ')}). That is a defect of the pack's electronics: file a claim.`,
    };
  }
  if (activeNames.length) {
    return {
      ...base,
      status: 'warn',
      meaning: `A protection is active (${activeNames.join(', ')}). The BMS is protecting the cells from a condition outside their limits (too empty, too full, too hot or cold, too much current); remove the cause (for example, charge an empty pack) and run the check again.`,
    };
  }
  return {
    ...base,
    status: 'pass',
    meaning: latchedNames.length ? 'No alarm is active now; earlier protection events are recorded in the black box.' : 'The BMS reports no fault.',
  };
}

export interface TelemetrySample {
  frames: TelemetryFrame[];
}

/** |current| at or below this counts as rest for the self-check (A); from the policy's drift clause when there is one. */
export function restCurrent(policy: WarrantyPolicy): number {
  const c = policy.defectIndicators.find((d) => d.kind === 'cell_drift_at_rest');
  return c && c.kind === 'cell_drift_at_rest' ? c.restCurrentA : 1;
}

function atRest(frames: TelemetryFrame[], restA: number): boolean {
  return frames.length > 0 && frames.every((f) => Math.abs(f.current) <= restA);
}

export function judgeCellSpread(sample: TelemetrySample, policy: WarrantyPolicy): StepResult {
  const drift = policy.defectIndicators.find((d) => d.kind === 'cell_drift_at_rest');
  const thr = drift && drift.kind === 'cell_drift_at_rest' ? drift : { thresholdV: 0.05, restCurrentA: 1, minSocPercent: 10, maxSocPercent: 90 };
  const frames = sample.frames.filter((f) => f.cellVoltages.length >= 2);
  const base = {
    id: 'cell-spread' as const,
    title: 'Cell balance at rest',
    normal: `no cell more than ${Math.round(thr.thresholdV * 1000)} mV from the others at rest`,
  };
  if (!frames.length)
    return { ...base, status: 'skipped', measured: 'no cell voltages reported', meaning: 'This BMS does not report cell voltages.', values: {} };
  const last = frames[frames.length - 1]!;
  const socOk = last.soc >= thr.minSocPercent && last.soc <= thr.maxSocPercent;
  // Mean over the sample, per cell, to average out ADC noise.
  const n = last.cellVoltages.length;
  const mean = Array.from({ length: n }, (_, i) => frames.reduce((s, f) => s + (f.cellVoltages[i] ?? 0), 0) / frames.length);
  const sum = mean.reduce((a, b) => a + b, 0);
  let worst = 0;
  let dev = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(mean[i]! - (sum - mean[i]!) / (n - 1));
    if (d > dev) {
      dev = d;
      worst = i;
    }
  }
  const spread = Math.max(...mean) - Math.min(...mean);
  const values = { spreadV: r3(spread), worstCell: worst + 1, deviationV: r3(dev), soc: r1(last.soc), currentA: r3(last.current) };
  const measured = `spread ${Math.round(spread * 1000)} mV; cell ${worst + 1} is ${Math.round(dev * 1000)} mV from the mean of the others (SOC ${Math.round(last.soc)} %)`;
  if (!atRest(frames, thr.restCurrentA)) {
    return {
      ...base,
      status: 'skipped',
      measured: `${measured}, but current was flowing`,
      meaning: 'The pack was not at rest, so cell voltages cannot be compared. Disconnect load and charger, wait a minute and run this step again.',
      values,
    };
  }
  if (!socOk) {
    return {
      ...base,
      status: 'skipped',
      measured,
      meaning: `At ${Math.round(last.soc)} % charge the cell voltages spread apart even in a healthy pack. Charge or discharge to between ${thr.minSocPercent} and ${thr.maxSocPercent} % and run this step again.`,
      values,
    };
  }
  if (dev > thr.thresholdV) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `Cell ${worst + 1} has drifted away from the others while the pack rests. A single drifting cell is the typical sign of a weak or defective cell: file a claim.`,
      values,
    };
  }
  if (dev > thr.thresholdV / 2) {
    return {
      ...base,
      status: 'warn',
      measured,
      meaning: 'The cells are slightly unbalanced. Charge fully and leave the charger connected for a few hours so the BMS can balance them, then check again.',
      values,
    };
  }
  return { ...base, status: 'pass', measured, meaning: 'The cells are balanced.', values };
}

export function judgeTemperatures(sample: TelemetrySample, labels: string[] | null, ambientC: number | null, restA: number): StepResult {
  const base = {
    id: 'temperatures' as const,
    title: 'Temperature sensors',
    normal: 'every sensor between −30 and 80 °C; at rest, cell sensors within 8 °C of each other' + (ambientC !== null ? ' and of the room' : ''),
  };
  const frames = sample.frames.filter((f) => f.temperatures.length > 0);
  if (!frames.length)
    return { ...base, status: 'skipped', measured: 'no temperatures reported', meaning: 'This BMS does not report temperatures.', values: {} };
  const last = frames[frames.length - 1]!;
  const temps = last.temperatures;
  const name = (i: number) => sensorName(labels?.[i], i);
  const values: Record<string, number | null> = {};
  temps.forEach((t, i) => (values[labels?.[i] ?? `sensor ${i + 1}`] = r1(t)));
  const measured = temps.map((t, i) => `${name(i)} ${r1(t)} °C`).join(', ');
  // Open or shorted NTCs read at the ends of the ADC range.
  const broken = temps.map((t, i) => [t, i] as const).filter(([t]) => !Number.isFinite(t) || t <= -40 || t >= 120);
  if (broken.length) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `${broken.map(([, i]) => name(i)).join(', ')} ${broken.length === 1 ? 'reads' : 'read'} an impossible value: the sensor or its wiring is broken. That is a defect: file a claim.`,
      values,
    };
  }
  const cellIdx = temps.map((_, i) => i).filter((i) => !labels || /^cell/i.test(labels[i] ?? ''));
  const cellTemps = cellIdx.map((i) => temps[i]!);
  const spread = cellTemps.length ? Math.max(...cellTemps) - Math.min(...cellTemps) : 0;
  const rest = atRest(frames, restA);
  if (rest && spread > 8) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `At rest the cell sensors disagree by ${r1(spread)} °C. In a resting pack they should agree; one sensor is probably faulty: file a claim.`,
      values: { ...values, cellSpreadC: r1(spread) },
    };
  }
  if (rest && ambientC !== null) {
    const off = cellTemps.map((t) => t - ambientC).reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
    if (Math.abs(off) > 10) {
      return {
        ...base,
        status: 'warn',
        measured,
        meaning: `The cells read ${r1(Math.abs(off))} °C ${off > 0 ? 'above' : 'below'} the room. If the pack has rested in this room for an hour, a sensor may be off; otherwise let it settle and check again.`,
        values: { ...values, ambientC },
      };
    }
  }
  const hot = temps.some((t) => t > 60);
  const cold = cellTemps.some((t) => t < 0);
  if (hot || cold) {
    return {
      ...base,
      status: 'warn',
      measured,
      meaning: hot
        ? 'The pack is hot. Let it cool down before using or charging it.'
        : 'The cells are below 0 °C: do not charge the pack until it has warmed up.',
      values,
    };
  }
  return { ...base, status: 'pass', measured, meaning: 'The temperature sensors read plausible values.', values };
}

export function judgeCurrentOffset(sample: TelemetrySample, capacityAh: number, restA: number): StepResult {
  const limit = Math.max(0.1, capacityAh * 0.002);
  const base = { id: 'current-offset' as const, title: 'Current sensor at rest', normal: `|current| ≤ ${r3(limit)} A with nothing connected` };
  const frames = sample.frames;
  if (!frames.length) return { ...base, status: 'skipped', measured: 'no samples', meaning: 'No telemetry was received.', values: {} };
  const mean = frames.reduce((s, f) => s + f.current, 0) / frames.length;
  const values = { meanA: r3(mean), samples: frames.length, limitA: r3(limit) };
  const measured = `${r3(mean)} A mean over ${frames.length} samples`;
  const loaded = frames.some((f) => Math.abs(f.current) > Math.max(restA, 5 * limit));
  if (loaded) {
    return {
      ...base,
      status: 'skipped',
      measured,
      meaning: 'Current was flowing, so the sensor offset cannot be measured. Disconnect load and charger and run this step again.',
      values,
    };
  }
  if (Math.abs(mean) > limit) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `With nothing connected the pack still reads ${r3(mean)} A. Either something is still connected (check), or the current sensor is off, which makes the state of charge drift: if nothing is connected, file a claim.`,
      values,
    };
  }
  return { ...base, status: 'pass', measured, meaning: 'The current sensor reads zero at rest, so the state of charge stays accurate.', values };
}

/**
 * State of health (capacity left of the rating) as the BMS reports it, against the policy's
 * capacity-fade clause: a pack below it has a defect the warranty covers, whatever else is normal.
 */
export function judgeCapacity(sample: TelemetrySample, policy: WarrantyPolicy): StepResult {
  const fade = policy.defectIndicators.find((d) => d.kind === 'capacity_fade');
  const maxFade = fade && fade.kind === 'capacity_fade' ? fade.maxFadePercent : 20;
  const min = 100 - maxFade;
  const base = { id: 'capacity' as const, title: 'Capacity (state of health)', normal: `at least ${min} % of the rated capacity` };
  const reported = sample.frames.map((f) => f.soh).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (!reported.length) return { ...base, status: 'skipped', measured: 'not reported', meaning: 'This BMS does not report its state of health.', values: {} };
  const soh = reported[reported.length - 1]!;
  const values = { sohPercent: r1(soh), minPercent: min };
  const measured = `${Math.round(soh)} % of the rated capacity`;
  if (soh < min) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `The pack holds only ${Math.round(soh)} % of its rated capacity, below the ${min} % the warranty promises. That is a defect: file a claim.`,
      values,
    };
  }
  return { ...base, status: 'pass', measured, meaning: 'The pack still holds its rated capacity.', values };
}

export interface PackLimits {
  cellOvervoltageV: number | null;
  chargeOvercurrentA: number | null;
  chargeMinTemperatureC: number | null;
}

export function judgeCharger(limits: PackLimits, cells: number, charger: { voltageV: number; currentA: number } | null, sample: TelemetrySample): StepResult {
  const base = { id: 'charger' as const, title: 'Charger against the pack limits' };
  const packMax = limits.cellOvervoltageV !== null ? limits.cellOvervoltageV * cells : null;
  const normal = `charger voltage ≤ ${packMax !== null ? r1(packMax) + ' V' : 'the pack maximum'}, current ≤ ${limits.chargeOvercurrentA ?? '?'} A`;
  const charging = sample.frames.filter((f) => f.current > 0.5);
  const observedA = charging.length ? Math.max(...charging.map((f) => f.current)) : null;
  const observedV = charging.length ? Math.max(...charging.map((f) => f.packVoltage)) : null;
  const values = {
    packMaxV: packMax !== null ? r1(packMax) : null,
    packMaxChargeA: limits.chargeOvercurrentA,
    chargerV: charger?.voltageV ?? null,
    chargerA: charger?.currentA ?? null,
    observedChargeA: observedA !== null ? r3(observedA) : null,
    observedV: observedV !== null ? r3(observedV) : null,
    chargeMinC: limits.chargeMinTemperatureC,
  };
  if (!charger && observedA === null) {
    return {
      ...base,
      status: 'skipped',
      measured: `pack limits: ${normal.replace('charger ', '')}`,
      normal,
      meaning:
        "Enter your charger's rated voltage and current (--charger-voltage, --charger-current) or connect the charger during the check to compare it with the pack.",
      values,
    };
  }
  const problems: string[] = [];
  const vIn = charger?.voltageV ?? null;
  const aIn = charger?.currentA ?? observedA;
  if (vIn !== null && packMax !== null && vIn > packMax + 0.05)
    problems.push(`its ${vIn} V is above the pack's ${r1(packMax)} V maximum, so the BMS has to cut it off at every full charge`);
  if (aIn !== null && limits.chargeOvercurrentA !== null && aIn > limits.chargeOvercurrentA)
    problems.push(`its ${r1(aIn)} A is above the pack's ${limits.chargeOvercurrentA} A charge limit`);
  const measured = [
    charger ? `charger rated ${charger.voltageV} V / ${charger.currentA} A` : null,
    observedA !== null ? `measured charging at ${r1(observedA)} A up to ${r1(observedV!)} V` : null,
  ]
    .filter(Boolean)
    .join('; ');
  if (problems.length) {
    return {
      ...base,
      status: 'warn',
      measured,
      normal,
      meaning: `This charger does not suit the pack: ${problems.join('; ')}. Use a charger within the pack's limits; damage from an unsuitable charger is not covered.`,
      values,
    };
  }
  return { ...base, status: 'pass', measured, normal, meaning: "The charger stays within the pack's limits.", values };
}
