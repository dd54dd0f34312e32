/**
 * The human-readable report.html of a diagnosis package: verdict, claim, findings, and inline SVG
 * charts of the windows that prove each finding. Self-contained (no script, no network: a strict
 * Content-Security-Policy says so to the browser), and every customer-supplied string is escaped,
 * because the supplier opens this file.
 *
 * The charts are folds over the records: the whole-log charts (WholeLogCharts) need nothing but
 * the records, so they fill in the same pass over the log that decodes and evaluates it; the
 * evaluation then says which finding windows are drawn (ReportCharts), and a second pass collects
 * each window's min/max per pixel column, only when there are findings to draw. A report for a log
 * of any length is drawn in bounded memory. Records are addressed by position, which is their
 * `index` as the evidence decoder numbers them.
 */
import type { LogRecord } from '../types/domain.js';
import type { Claim } from '../warranty/claim.js';
import type { Evaluation, Finding } from '../warranty/evaluation.js';
import { describeMeasurement } from '../warranty/engine.js';
import { healthLines, lifetimeLines } from '../health/text.js';
import type { PackageHealth } from './health-section.js';

export interface ReportInput {
  evaluation: Evaluation;
  claim: Claim;
  device: { serial: string; model: string; firmwareVersion: string | null; source: 'device' | 'desktop' };
  createdAt: string;
  toolVersion: string;
  installKeyFingerprint: string;
  /** The charts, collected from every record (ReportCharts for this evaluation). */
  charts: ReportCharts;
  photos: string[];
  /** The package's health section; null: none (a package made before it existed). */
  health?: PackageHealth | null;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Series {
  label: string;
  color: string;
  value(r: LogRecord): number;
}

function seriesFor(f: Finding): Series[] {
  switch (f.kind) {
    case 'discharge_current_above_c':
    case 'charge_current_above_c':
      return [{ label: 'current, A', color: '#1f77b4', value: (r) => (f.kind === 'discharge_current_above_c' ? -r.current : r.current) }];
    case 'charge_below_temperature':
      return [{ label: 'coldest sensor while charging, °C', color: '#1f77b4', value: (r) => (r.current > 0 ? Math.min(...r.temperatures) : NaN) }];
    case 'temperature_above':
      return [{ label: 'hottest sensor, °C', color: '#d62728', value: (r) => Math.max(...r.temperatures) }];
    case 'cell_voltage_below':
    case 'cell_voltage_above':
      return [
        { label: 'lowest cell, V', color: '#1f77b4', value: (r) => Math.min(...r.cellVoltages) },
        { label: 'highest cell, V', color: '#ff7f0e', value: (r) => Math.max(...r.cellVoltages) },
      ];
    case 'cell_drift_at_rest': {
      const cell = f.measured.cell ?? 0;
      return [
        { label: `cell ${cell + 1}, V`, color: '#d62728', value: (r) => r.cellVoltages[cell] ?? NaN },
        {
          label: 'mean of the other cells, V',
          color: '#1f77b4',
          value: (r) => {
            let s = 0;
            for (let i = 0; i < r.cellVoltages.length; i++) if (i !== cell) s += r.cellVoltages[i]!;
            return s / Math.max(1, r.cellVoltages.length - 1);
          },
        },
      ];
    }
    case 'capacity_fade':
      return [{ label: 'state of charge, %', color: '#2ca02c', value: (r) => r.soc }];
    default:
      return [{ label: 'alarm bits', color: '#d62728', value: (r) => r.alarms }];
  }
}

const W = 720;
const H = 220;
const PAD = { l: 56, r: 12, t: 14, b: 30 };

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(a >= 1 ? 2 : 3);
}

/** Math.min(...values) without spreading (same result: NaN if any is NaN, -0 before +0). */
function minOf(values: readonly number[]): number {
  let m = Infinity;
  for (const v of values) {
    if (v !== v) return NaN;
    if (v < m || (v === 0 && m === 0 && Object.is(v, -0))) m = v;
  }
  return m;
}

/** Math.max(...values) without spreading. */
function maxOf(values: readonly number[]): number {
  let m = -Infinity;
  for (const v of values) {
    if (v !== v) return NaN;
    if (v > m || (v === 0 && m === 0 && Object.is(m, -0))) m = v;
  }
  return m;
}

/** Pixel columns of a chart's plot area. */
export const COLUMNS = W - PAD.l - PAD.r;

/** One chart's window of record positions and what it draws. */
interface ChartPlan {
  from: number;
  to: number;
  series: Series[];
  threshold?: number;
  /** Positions whose times bound the highlighted run. */
  highlight?: { a: number; b: number };
  /** Position of the record the marker circles. */
  marker?: number;
  title: string;
}

/**
 * Min/max per pixel column keeps spikes visible however many records the window holds. The columns
 * are fixed by the window alone, so they fill as the records stream past.
 */
class ChartFold {
  readonly data: [number, number][][];
  t0 = NaN;
  t1 = NaN;
  hlT0 = NaN;
  hlT1 = NaN;
  marker: { t: number; v: number } | null = null;
  private readonly all: boolean;
  private readonly per: number;
  private col = 0;
  private colEnd = -1;
  private readonly lo: { t: number; v: number; i: number }[];
  private readonly hi: { t: number; v: number; i: number }[];

  constructor(readonly plan: ChartPlan) {
    const n = plan.to - plan.from + 1;
    this.all = n <= COLUMNS * 2;
    this.per = n / COLUMNS;
    this.data = plan.series.map(() => []);
    this.lo = plan.series.map(() => ({ t: 0, v: 0, i: -1 }));
    this.hi = plan.series.map(() => ({ t: 0, v: 0, i: -1 }));
  }

  private flush(): void {
    this.plan.series.forEach((_, k) => {
      const lo = this.lo[k]!;
      const hi = this.hi[k]!;
      if (lo.i < 0) return;
      const pair = lo.i < hi.i ? [lo, hi] : [hi, lo];
      for (const p of pair) this.data[k]!.push([p.t, p.v]);
      lo.i = -1;
      hi.i = -1;
    });
  }

  push(pos: number, r: LogRecord): void {
    const { plan } = this;
    if (pos === plan.from) this.t0 = r.t;
    if (pos === plan.to) this.t1 = r.t;
    if (plan.highlight?.a === pos) this.hlT0 = r.t;
    if (plan.highlight?.b === pos) this.hlT1 = r.t;
    if (plan.marker === pos) this.marker = { t: r.t, v: plan.series[0]!.value(r) };
    if (this.all) {
      plan.series.forEach((s, k) => this.data[k]!.push([r.t, s.value(r)]));
      return;
    }
    if (pos > this.colEnd) {
      this.flush();
      while (this.col < COLUMNS && pos > this.colEnd) {
        this.colEnd = Math.min(plan.to, plan.from + Math.floor((this.col + 1) * this.per) - 1);
        this.col++;
      }
      // Rounding can leave the window's last records outside the last column, as it always has.
      if (pos > this.colEnd) return;
    }
    plan.series.forEach((s, k) => {
      const v = s.value(r);
      const lo = this.lo[k]!;
      const hi = this.hi[k]!;
      if (lo.i < 0) {
        lo.i = hi.i = pos;
        lo.t = hi.t = r.t;
        lo.v = hi.v = v;
        return;
      }
      if (v < lo.v) {
        lo.i = pos;
        lo.t = r.t;
        lo.v = v;
      }
      if (v > hi.v) {
        hi.i = pos;
        hi.t = r.t;
        hi.v = v;
      }
    });
  }

  svg(): string {
    if (!this.all) this.flush();
    return svgChart({
      t0: this.t0,
      t1: Math.max(this.t1, this.t0 + 1),
      data: this.data.map((d) => d.filter((p) => Number.isFinite(p[1]))),
      series: this.plan.series,
      ...(this.plan.threshold !== undefined ? { threshold: this.plan.threshold } : {}),
      ...(this.plan.highlight ? { highlight: { t0: this.hlT0, t1: this.hlT1 } } : {}),
      ...(this.marker ? { marker: this.marker } : {}),
      title: this.plan.title,
    });
  }
}

function svgChart(opts: {
  t0: number;
  t1: number;
  data: [number, number][][];
  series: Series[];
  threshold?: number;
  highlight?: { t0: number; t1: number };
  marker?: { t: number; v: number };
  title: string;
}): string {
  const { t0, t1, data, series } = opts;
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of data)
    for (const [, v] of d) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  if (opts.threshold !== undefined) {
    lo = Math.min(lo, opts.threshold);
    hi = Math.max(hi, opts.threshold);
  }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const margin = (hi - lo) * 0.08;
  lo -= margin;
  hi += margin;
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(opts.title)}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  if (opts.highlight) {
    const a = x(opts.highlight.t0);
    const b = Math.max(x(opts.highlight.t1), a + 2);
    out.push(`<rect x="${a.toFixed(1)}" y="${PAD.t}" width="${(b - a).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="#fdd" />`);
  }
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
    out.push(`<text x="${PAD.l - 4}" y="${yy}" font-size="10" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  const span = (t1 - t0) / 1000;
  for (let k = 0; k <= 4; k++) {
    const t = t0 + ((t1 - t0) * k) / 4;
    out.push(
      `<text x="${x(t).toFixed(1)}" y="${H - 12}" font-size="10" text-anchor="middle">${span > 7200 ? fmt((t - t0) / 3_600_000) + ' h' : fmt((t - t0) / 1000) + ' s'}</text>`,
    );
  }
  out.push(`<text x="${W - PAD.r}" y="${H - 1}" font-size="9" text-anchor="end" fill="#666">from ${escapeHtml(new Date(t0).toISOString())}</text>`);
  if (opts.threshold !== undefined) {
    const yy = y(opts.threshold).toFixed(1);
    out.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${yy}" y2="${yy}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    out.push(
      `<text x="${W - PAD.r - 2}" y="${(Number(yy) - 3).toFixed(1)}" font-size="10" text-anchor="end" fill="#d62728">limit ${fmt(opts.threshold)}</text>`,
    );
  }
  data.forEach((d, i) => {
    if (d.length === 0) return;
    const pts = d.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${series[i]!.color}" stroke-width="1.5" points="${pts}"/>`);
    out.push(`<text x="${PAD.l + 6 + i * 230}" y="${PAD.t + 10}" font-size="11" fill="${series[i]!.color}">${escapeHtml(series[i]!.label)}</text>`);
  });
  if (opts.marker) {
    const v = opts.marker.v;
    if (Number.isFinite(v)) out.push(`<circle cx="${x(opts.marker.t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="none" stroke="#000"/>`);
  }
  out.push('</svg>');
  return out.join('');
}

/** The window a finding's chart shows: its run with context either side, clipped to the log. */
function findingPlan(n: number, f: Finding): ChartPlan {
  const pos = (index: number) => Math.max(0, Math.min(n - 1, index));
  const a = pos(f.records.first);
  const b = pos(f.records.last);
  const pad = Math.max(30, Math.ceil((b - a + 1) / 2));
  const thr = f.kind === 'capacity_fade' || f.kind === 'bms_fault' ? undefined : f.kind === 'cell_drift_at_rest' ? undefined : f.threshold.value;
  return {
    from: Math.max(0, a - pad),
    to: Math.min(n - 1, b + pad),
    series: seriesFor(f),
    ...(thr !== undefined ? { threshold: thr } : {}),
    highlight: { a, b },
    marker: pos(f.records.extreme),
    title: `${f.clause} occurrence ${f.occurrence}`,
  };
}

/** Findings drawn in a report. */
const REPORT_FINDINGS = 24;

/** A point of a column: the record's time, value and position. */
interface ColumnPoint {
  t: number;
  v: number;
  i: number;
}

/** One series of a whole-log chart, column by column: each column's lowest and highest point. */
class DoublingSeries {
  lo: ColumnPoint[] = [];
  hi: ColumnPoint[] = [];

  constructor(readonly series: Series) {}
}

/**
 * A chart of the whole log, filled without knowing the log's length: columns start one record
 * wide, and whenever there would be more than 2 × COLUMNS of them, neighbours merge pairwise and
 * columns become twice as wide. Each column keeps its lowest and highest point (the first one on a
 * tie, as a single pass would), so a spike survives every merge; a log of at most 2 × COLUMNS
 * records is drawn point by point.
 */
class WholeLogFold {
  private width = 1;
  private readonly lines: DoublingSeries[];
  private count = 0;
  t0 = NaN;
  t1 = NaN;

  constructor(
    series: Series[],
    readonly title: string,
  ) {
    this.lines = series.map((x) => new DoublingSeries(x));
  }

  private merge(): void {
    for (const l of this.lines) {
      const lo: ColumnPoint[] = [];
      const hi: ColumnPoint[] = [];
      for (let c = 0; c < l.lo.length; c += 2) {
        const a = c + 1 < l.lo.length;
        lo.push(a && l.lo[c + 1]!.v < l.lo[c]!.v ? l.lo[c + 1]! : l.lo[c]!);
        hi.push(a && l.hi[c + 1]!.v > l.hi[c]!.v ? l.hi[c + 1]! : l.hi[c]!);
      }
      l.lo = lo;
      l.hi = hi;
    }
    this.width *= 2;
  }

  push(r: LogRecord): void {
    const pos = this.count++;
    if (pos === 0) this.t0 = r.t;
    this.t1 = r.t;
    let col = Math.floor(pos / this.width);
    if (col === COLUMNS * 2 && pos % this.width === 0) {
      this.merge();
      col = Math.floor(pos / this.width);
    }
    for (const l of this.lines) {
      const v = l.series.value(r);
      if (col === l.lo.length) {
        const p = { t: r.t, v, i: pos };
        l.lo.push(p);
        l.hi.push(p);
        continue;
      }
      if (v < l.lo[col]!.v) l.lo[col] = { t: r.t, v, i: pos };
      if (v > l.hi[col]!.v) l.hi[col] = { t: r.t, v, i: pos };
    }
  }

  /** Records pushed. */
  get records(): number {
    return this.count;
  }

  /** Each series' points [t, value] in log order: per column its lowest and highest, once when they are one record. */
  points(): [number, number][][] {
    return this.lines.map((l) => {
      const out: [number, number][] = [];
      l.lo.forEach((lo, c) => {
        const hi = l.hi[c]!;
        if (lo === hi) out.push([lo.t, lo.v]);
        else for (const p of lo.i < hi.i ? [lo, hi] : [hi, lo]) out.push([p.t, p.v]);
      });
      return out.filter((p) => Number.isFinite(p[1]));
    });
  }

  svg(): string {
    const series = this.lines.map((l) => l.series);
    return svgChart({ t0: this.t0, t1: Math.max(this.t1, this.t0 + 1), data: this.points(), series, title: this.title });
  }
}

/**
 * The report's whole-log charts (current; lowest and highest cell), folded in the pass that
 * decodes the log: push every record in log order. None for fewer than two records.
 */
export class WholeLogCharts {
  private readonly folds = [
    new WholeLogFold([{ label: 'current, A', color: '#1f77b4', value: (r) => r.current }], 'current over the whole log'),
    new WholeLogFold(
      [
        { label: 'lowest cell, V', color: '#1f77b4', value: (r) => minOf(r.cellVoltages) },
        { label: 'highest cell, V', color: '#ff7f0e', value: (r) => maxOf(r.cellVoltages) },
      ],
      'cell voltages over the whole log',
    ),
  ];

  push(records: readonly LogRecord[]): void {
    for (const r of records) for (const f of this.folds) f.push(r);
  }

  /** Records pushed. */
  get records(): number {
    return this.folds[0]!.records;
  }

  svgs(): string[] {
    return this.records > 1 ? this.folds.map((f) => f.svg()) : [];
  }

  /** The charts' points: [current], [lowest cell, highest cell] (what the SVGs draw). */
  points(): [number, number][][][] {
    return this.folds.map((f) => f.points());
  }
}

/**
 * The report's charts for an evaluation of `recordCount` records: the whole-log charts, already
 * folded, and one chart per finding, filled by pushing every record in log order (positions count
 * from 0) when `needsRecords`, then rendered. Memory: a few points per pixel column per chart.
 */
export class ReportCharts {
  private readonly findings: ChartFold[] = [];
  private pos = 0;

  constructor(
    evaluation: Evaluation,
    readonly recordCount: number,
    private readonly whole: WholeLogCharts,
  ) {
    if (whole.records !== recordCount) throw new Error(`ReportCharts: whole-log charts hold ${whole.records} records, the log ${recordCount}`);
    const n = recordCount;
    if (n > 0) for (const f of evaluation.findings.slice(0, REPORT_FINDINGS)) this.findings.push(new ChartFold(findingPlan(n, f)));
  }

  /** Whether the finding charts need a pass over the records (false: no finding is drawn). */
  get needsRecords(): boolean {
    return this.findings.length > 0;
  }

  push(records: readonly LogRecord[]): void {
    for (const r of records) {
      const p = this.pos++;
      for (const f of this.findings) if (p >= f.plan.from && p <= f.plan.to) f.push(p, r);
    }
  }

  /** The whole-log charts (none for fewer than two records). */
  wholeLog(): string[] {
    return this.whole.svgs();
  }

  /** The chart of the k-th finding drawn ('' when the log holds no records). */
  finding(k: number): string {
    return this.findings[k]?.svg() ?? '';
  }
}

export function renderReportHtml(input: ReportInput): string {
  const { evaluation: e, claim, device } = input;
  const h = escapeHtml;
  const colour = e.verdict === 'covered' ? '#2ca02c' : e.verdict === 'excluded' ? '#d62728' : '#ff7f0e';
  const rows = (pairs: [string, string][]) => pairs.map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`).join('');
  const parts: string[] = [];
  parts.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  parts.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:">`);
  parts.push(`<title>PackScope diagnosis: ${h(device.serial)}</title>`);
  parts.push(
    '<style>body{font:14px/1.45 system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}' +
      'table{border-collapse:collapse;margin:.5em 0}th,td{text-align:left;padding:2px 10px 2px 0;vertical-align:top}' +
      'th{color:#555;font-weight:600}.verdict{font-size:1.3em;font-weight:700;padding:.6em;border-left:6px solid}' +
      '.finding{border:1px solid #ddd;padding:.6em;margin:1em 0}.muted{color:#666}svg{max-width:100%;height:auto}</style></head><body>',
  );
  parts.push(`<h1>Diagnosis report</h1>`);
  parts.push(`<div class="verdict" style="border-color:${colour}">${h(e.verdict.toUpperCase())}</div><p>${h(e.summary)}</p>`);
  parts.push('<h2>Claim</h2><table>');
  parts.push(
    rows([
      ['Customer', claim.customer],
      ['Contact', claim.contact],
      ['Model', claim.model],
      ['Serial', claim.serial],
      ['Purchase date', claim.purchaseDate],
      ['Failure date', e.claim.failureDate],
      ['Requested remedy', claim.remedy],
      ['Description', claim.description],
    ]),
  );
  parts.push('</table><h2>Device and log</h2><table>');
  parts.push(
    rows([
      ['Device', `${device.model} ${device.serial}`],
      ['Firmware', device.firmwareVersion ?? 'unknown'],
      ['Data source', device.source === 'device' ? 'black box signed by the device' : 'desktop recording (no device signatures)'],
      ['Signatures', e.log.signature],
      ['Records', `${e.log.records} (${e.log.from ?? '–'} to ${e.log.to ?? '–'})`],
      ['Gaps', `${e.log.integrityGaps} in the signed chain, ${e.log.timeGaps} in time`],
      [
        'Warranty',
        `${e.period.withinWarranty ? 'within' : 'outside'} the period (ends ${e.period.warrantyEnds}); DOA window ${e.period.withinDoa ? 'applies' : 'has passed'} (ended ${e.period.doaEnds})`,
      ],
      ['Policy', `${e.policy.id} (sha256 ${e.policy.sha256.slice(0, 16)}…)`],
    ]),
  );
  parts.push('</table>');
  if (e.missing.length) {
    parts.push('<h2>What is missing</h2><ul>');
    for (const m of e.missing) parts.push(`<li>${h(m.message)}</li>`);
    parts.push('</ul>');
  }
  parts.push('<h2>Clauses</h2><table><tr><th>Clause</th><th>Type</th><th>Result</th><th>Occurrences</th></tr>');
  for (const c of e.clauses) {
    parts.push(
      `<tr><td>${h(c.title)} <span class="muted">(${h(c.id)})</span></td><td>${c.type}</td><td>${h(c.status)}${c.reason ? ': ' + h(c.reason) : ''}</td><td>${c.occurrences}</td></tr>`,
    );
  }
  parts.push('</table>');
  const whole = input.charts.wholeLog();
  if (whole.length) {
    parts.push('<h2>Whole log</h2>');
    parts.push(...whole);
  }
  if (input.health) parts.push(...healthHtml(input.health));
  if (e.findings.length) {
    parts.push('<h2>Findings</h2>');
    e.findings.slice(0, REPORT_FINDINGS).forEach((f, k) => {
      parts.push(`<div class="finding"><b>${h(f.title)}</b> <span class="muted">(${h(f.clause)}, ${f.type}, occurrence ${f.occurrence})</span>`);
      parts.push(
        `<p>Measured ${h(describeMeasurement(f))}, limit ${f.threshold.comparison} ${f.threshold.value} ${h(f.threshold.unit)}, for ${f.durationS} s ` +
          `from ${h(f.from)} to ${h(f.to)}; records ${f.records.first}–${f.records.last} (extreme at ${f.records.extreme}).</p>`,
      );
      parts.push(input.charts.finding(k));
      parts.push('</div>');
    });
  }
  if (input.photos.length) {
    parts.push('<h2>Photos</h2>');
    for (const p of input.photos) parts.push(`<p><img src="${h(p)}" alt="${h(p)}" style="max-width:100%"><br>${h(p)}</p>`);
  }
  parts.push(
    `<p class="muted">Created ${h(input.createdAt)} by PackScope ${h(input.toolVersion)}; installation key ${h(input.installKeyFingerprint)}. ` +
      'VERIFY.txt in this package lists the commands that check it with sha256sum, openssl and ssh-keygen.</p>',
  );
  parts.push('</body></html>\n');
  return parts.join('\n');
}

/** The "Pack health" section: the analysis of the records, then the board's lifetime counters. */
function healthHtml(health: PackageHealth): string[] {
  const h = escapeHtml;
  const r = health.rating;
  const rating =
    r.from === 'certificate'
      ? `rating certified by the manufacturer: ${r.chemistry ?? 'chemistry unknown'}, ${r.ratedCapacityAh ?? '–'} Ah`
      : 'the device certificate states no rating: capacity, cycles and C-rates cannot be judged against it';
  return [
    '<h2>Pack health</h2>',
    `<p class="muted">From the signed records (${h(rating)}) and the board's own lifetime counters, which cover what the log no longer holds.</p>`,
    `<pre>${h([...healthLines(health.report), '', ...lifetimeLines(health.lifetime)].join('\n'))}</pre>`,
  ];
}
