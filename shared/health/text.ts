/**
 * The health report in plain text, as `packscope health` prints it and a diagnosis package's
 * report quotes it: capacity with its uncertainty, lifetime figures, each cell, and the histograms
 * as bars. Field names follow the state-of-health parameters of the EU Battery Regulation
 * (2023/1542, Article 14) where they match; the report is aligned with that list, not certified.
 */
import type { Histogram } from './histogram.js';
import type { HealthReport } from './analyzer.js';
import type { LifetimeView } from './report.js';
import type { LoggedCapacityTest } from './capacity-test.js';

export const REGULATION_NOTE = 'Parameters aligned with the state-of-health list of the EU Battery Regulation 2023/1542, Article 14 (not a certification).';

const fix = (x: number | null | undefined, d: number) => (x === null || x === undefined ? '–' : x.toFixed(d));

export function healthLines(r: HealthReport): string[] {
  const out: string[] = [];
  const rated = r.ratedCapacityAh;
  const cap = r.remainingCapacity;
  if (cap) {
    const pct = rated ? ` = ${((100 * cap.ah) / rated).toFixed(1)} % of the rated ${rated} Ah (fade ${fix(r.capacityFadePercent, 1)} %)` : '';
    out.push(`Remaining capacity   ${cap.ah.toFixed(1)} Ah ± ${cap.uncertaintyAh.toFixed(1)} (95 %)${pct}, from ${cap.windows} window(s)`);
  } else out.push(`Remaining capacity   not measurable: ${r.capacityNotAssessable ?? 'no usable window'}`);
  out.push(
    `Throughput           charged ${fix(r.capacityThroughput.chargeAh, 1)} Ah / ${fix(r.energyThroughput.chargeWh / 1000, 2)} kWh, ` +
      `discharged ${fix(r.capacityThroughput.dischargeAh, 1)} Ah / ${fix(r.energyThroughput.dischargeWh / 1000, 2)} kWh`,
  );
  out.push(`Equivalent cycles    ${r.equivalentFullCycles === null ? '– (rated capacity unknown)' : r.equivalentFullCycles.toFixed(2)}`);
  out.push(
    `Extreme temperature  ${r.timeAtExtremeTemperatureH.overall.toFixed(2)} h (≥ 45 °C or < 0 °C), ${r.timeAtExtremeTemperatureH.whileCharging.toFixed(2)} h of it while charging`,
  );
  out.push(
    `Deep discharges      ${r.deepDischargeEvents}    Over-current events ${r.overcurrentEvents}    Resting at ≤ 10 % SOC ${r.storageAtLowSocH.toFixed(2)} h`,
  );
  if (r.balance) {
    const trend = r.balance.trendMvPerDay === null ? '' : `, trend ${r.balance.trendMvPerDay >= 0 ? '+' : ''}${r.balance.trendMvPerDay.toFixed(1)} mV/day`;
    out.push(`Cell spread at rest  ${r.balance.firstMv.toFixed(0)} → ${r.balance.lastMv.toFixed(0)} mV over ${r.balance.points} rests${trend}`);
  }
  for (const t of r.capacityTests ?? []) out.push(capacityTestLine(t, rated));
  out.push('', 'Cell  Capacity Ah        R mΩ   Self-discharge %/h  Deviation mV  Stands out');
  for (const c of r.cells) {
    const capText = c.capacity ? `${c.capacity.ah.toFixed(1)} ± ${c.capacity.uncertaintyAh.toFixed(1)}` : '–';
    out.push(
      `${String(c.cell).padStart(4)}  ${capText.padEnd(16)} ${fix(c.resistanceMilliOhm, 2).padStart(6)}   ${fix(c.relativeSelfDischargePctPerH, 3).padStart(18)}  ${fix(c.restDeviationMv, 1).padStart(12)}  ${c.flags.join('; ')}`,
    );
  }
  for (const h of [r.histograms.temperature, r.histograms.temperatureWhileCharging, r.histograms.soc, r.histograms.cRate]) {
    out.push('', ...histogramLines(h));
  }
  out.push('', REGULATION_NOTE);
  return out;
}

/**
 * The board's signed lifetime counters (null: the board keeps none — absent, not zero): the pack's
 * whole counted life, beyond what the log still holds.
 */
/** The counters in words; `histograms` false leaves out the hours by band (a summary, as log info gives). */
export function lifetimeLines(v: LifetimeView | null, histograms = true): string[] {
  if (!v) return ['Lifetime counters    absent: the board keeps none (not zero: not counted)'];
  const out = [
    `Lifetime counters    ${v.verified ? 'signed by the device and consistent with the log' : `NOT VERIFIED: ${v.problems.join('; ')}`}`,
    `  counted since      ${v.since} (${v.countedH.toFixed(1)} h of operation)`,
    `  throughput         charged ${v.capacityThroughput.chargeAh.toFixed(1)} Ah / ${(v.energyThroughput.chargeWh / 1000).toFixed(2)} kWh, ` +
      `discharged ${v.capacityThroughput.dischargeAh.toFixed(1)} Ah / ${(v.energyThroughput.dischargeWh / 1000).toFixed(2)} kWh`,
    `  equivalent cycles  ${v.equivalentFullCycles.toFixed(2)} (of ${v.ratedCapacityAh} Ah)`,
    `  events             ${v.deepDischargeEvents} deep discharge(s) (a cell below ${v.thresholds.deepDischargeV} V), ${v.overcurrentEvents} over-current`,
    `  stored at low SOC  ${v.storageAtLowSocH.toFixed(2)} h resting at ≤ ${v.thresholds.lowSocPercent} %`,
  ];
  if (histograms)
    for (const h of [v.histograms.temperature, v.histograms.temperatureWhileCharging, v.histograms.soc])
      out.push('', ...histogramLines({ ...h, quantity: `${h.quantity} (lifetime)` }));
  return out;
}

/** One line per band that holds time: label, hours and a bar scaled to the fullest band. */
export function histogramLines(h: Histogram, width = 40): string[] {
  const total = h.bands.reduce((s, b) => s + b.hours, 0);
  const lines = [`Hours by ${h.quantity}${total ? '' : ': none'}`];
  if (!total) return lines;
  const max = Math.max(...h.bands.map((b) => b.hours));
  const labelW = Math.max(...h.bands.map((b) => b.label.length));
  for (const b of h.bands) {
    if (!b.hours) continue;
    const bar = '█'.repeat(Math.max(1, Math.round((width * b.hours) / max)));
    lines.push(`  ${b.label.padEnd(labelW)}  ${b.hours.toFixed(2).padStart(9)} h  ${bar}`);
  }
  return lines;
}

/** One guided capacity test of the log, as its signed records measure it. */
export function capacityTestLine(t: LoggedCapacityTest, ratedAh: number | null): string {
  const when = new Date(t.dischargeFromMs).toISOString().slice(0, 16).replace('T', ' ');
  const pct = ratedAh ? ` = ${((100 * t.dischargedAh) / ratedAh).toFixed(1)} % of rated` : '';
  const what =
    t.outcome === 'complete' ? `${t.dischargedAh.toFixed(2)} Ah${pct}` : `${t.outcome}, ${t.dischargedAh.toFixed(2)} Ah discharged before it stopped`;
  return `Capacity test        ${when} UTC: ${what} at ${t.meanCurrentA.toFixed(1)} A (${t.records} signed records)`;
}
