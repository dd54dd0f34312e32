/**
 * The verifier's own report of a package, as the Verify screen showed it: the verdict decided with
 * the verifier's policy (clause titles, not ids), what it rests on, every check, the device, the
 * claim with its flagged fields, the findings. One self-contained HTML file (no script, a strict
 * CSP), laid out for printing; every string from the package is escaped.
 */
import type { Res } from '../../../shared/api/contract.js';
import { escapeHtml as h } from '../../../shared/evidence/report.js';
import type { Evaluation } from '../../../shared/warranty/evaluation.js';
import { summaryInWords } from '../../../shared/warranty/summary-words.js';
import { healthLines, lifetimeLines } from '../../../shared/health/text.js';

type View = Res<'package.verify'>;

const REMEDY: Record<string, string> = { repair: 'Repair', replacement: 'Replacement', consultation: 'Advice only' };
const CLAIM_LABELS: Record<string, string> = {
  customer: 'Customer',
  contact: 'Contact',
  model: 'Model',
  serial: 'Serial',
  purchaseDate: 'Purchase date',
  failureDate: 'Problem started',
  remedy: 'Remedy asked for',
  description: 'What went wrong',
};

/** The title of a clause of the deciding policy, by id. */
export function clauseTitle(evaluation: Evaluation, id: string): string {
  if (id === 'unreadable-segments') return 'Parts of the log cannot be read';
  return evaluation.clauses.find((c) => c.id === id)?.title ?? id;
}

/** The verdict in words, as the screen's banner says it. */
export function verdictText(v: View): string {
  const e = v.evaluation;
  if (!v.ok && v.root?.matches === false && v.checks.every((c) => c.ok || c.id === 'device-certificate'))
    return 'Wrong root key: the board was certified by another key';
  if (!v.ok) return 'Do not trust this package: it failed verification';
  if (!e) return 'Verified';
  if (e.verdict === 'covered') return 'Covered by the warranty';
  if (e.verdict === 'excluded') return `Not covered: ${e.excludedBy.map((id) => clauseTitle(e, id)).join('; ')}`;
  return 'Inconclusive: physical inspection needed';
}

export function renderVerificationReport(v: View, verifiedAt: string): string {
  const rows = (pairs: [string, string, string?][]) =>
    pairs.map(([k, val, cls]) => `<tr${cls ? ` class="${cls}"` : ''}><th>${h(k)}</th><td>${h(val)}</td></tr>`).join('');
  const e = v.evaluation;
  const parts: string[] = [];
  parts.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  parts.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  parts.push(`<title>PackScope verification: ${h(v.manifest?.device.serial ?? v.path)}</title>`);
  parts.push(
    '<style>body{font:14px/1.45 system-ui,sans-serif;max-width:800px;margin:2em auto;color:#222}' +
      'table{border-collapse:collapse;margin:.5em 0;width:100%}th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}' +
      'th{color:#555;font-weight:600;width:30%}.verdict{font-size:1.3em;font-weight:700;padding:.6em;border-left:6px solid #888}' +
      '.ok{border-color:#2ca02c}.bad{border-color:#d62728;color:#b00}.warn{color:#a35d00}.flag td{color:#b00;font-weight:600}' +
      '@media print{body{margin:0;max-width:none}}</style></head><body>',
  );
  parts.push('<h1>Verification report</h1>');
  parts.push(`<p>${h(v.path)}<br>SHA-256 ${h(v.sha256)}<br>Verified ${h(verifiedAt)}</p>`);
  const good = v.ok && e?.verdict === 'covered';
  parts.push(`<div class="verdict ${good ? 'ok' : 'bad'}">${h(verdictText(v))}</div>`);
  if (e) parts.push(`<p>${h(summaryInWords(e))}</p>`);
  parts.push('<h2>What the verdict rests on</h2><table>');
  parts.push(
    rows([
      ['Decided with', v.policy.decidedBy ? `${v.policy.decidedBy.id}${v.policy.decidedBy.source === 'default' ? " (PackScope's default)" : ''}` : 'no policy'],
      ['Freshness', v.freshness.detail],
      ['Attested history', v.extent ?? 'not attested'],
      [
        'Installation key',
        v.installKey
          ? `${v.installKey.fingerprint}${v.installKey.pinned === true ? ' (known)' : v.installKey.pinned === false ? ' (UNKNOWN)' : ' (not pinned)'}`
          : 'none',
      ],
    ]),
  );
  parts.push('</table>');
  if (v.manifest) {
    const d = v.manifest.device;
    parts.push('<h2>Device</h2><table>');
    parts.push(
      rows([
        ['Device', `${d.model}, serial ${d.serial}`],
        ['Firmware', d.firmwareVersion ?? 'not recorded'],
        ['Evidence', d.source === 'device' ? 'signed by the board itself' : 'desktop recording (unsigned)'],
        ['Package created', `${v.manifest.createdAt} by PackScope ${v.manifest.tool.version}`],
      ]),
    );
    parts.push('</table>');
  }
  if (v.claim) {
    const flags = new Map((v.claimFields ?? []).map((f) => [f.field, f]));
    const claim = v.claim as Record<string, unknown>;
    const failure =
      typeof claim.failureDate === 'string' ? claim.failureDate : e ? `${e.claim.failureDate} (not given: the day the claim was made)` : 'not given';
    parts.push('<h2>Claim</h2><table>');
    const line = (field: string, value: string): [string, string, string?] => {
      const f = flags.get(field);
      if (!f || f.state === 'verified') return [CLAIM_LABELS[field] ?? field, value];
      const note = f.state === 'altered' ? ` — ALTERED: the signed data says ${f.signed}` : ' — NOT VERIFIED';
      return [CLAIM_LABELS[field] ?? field, value + note, 'flag'];
    };
    parts.push(
      rows([
        line('customer', `${String(claim.customer)}`),
        line('contact', String(claim.contact)),
        line('model', String(claim.model)),
        line('serial', String(claim.serial)),
        line('purchaseDate', String(claim.purchaseDate)),
        line('failureDate', failure),
        line('remedy', REMEDY[String(claim.remedy)] ?? String(claim.remedy)),
        line('description', String(claim.description)),
      ]),
    );
    parts.push('</table>');
  }
  if (e && e.findings.length) {
    parts.push('<h2>Findings</h2><table><tr><th>Finding</th><th>Measured</th><th>When</th><th>Records</th></tr>');
    for (const f of e.findings) {
      parts.push(
        `<tr><td>${h(f.title)}</td><td>${h(`${f.measured.value} ${f.measured.unit} (limit ${f.threshold.comparison} ${f.threshold.value} ${f.threshold.unit})`)}</td>` +
          `<td>${h(`${f.from} – ${f.to}`)}</td><td>#${f.records.first}–#${f.records.last}</td></tr>`,
      );
    }
    parts.push('</table>');
  }
  if (v.health) {
    // Recomputed from the signed records and the board's lifetime counters (never the package's copy).
    parts.push(`<h2>Pack health</h2><pre>${h([...healthLines(v.health.report), '', ...lifetimeLines(v.health.lifetime)].join('\n'))}</pre>`);
  }
  parts.push('<h2>Checks</h2><table>');
  parts.push(rows(v.checks.map((c): [string, string, string?] => [`${c.ok ? '✓' : '✗'} ${c.id}`, c.detail, c.ok ? undefined : 'flag'])));
  parts.push('</table>');
  if (v.caveats.length) parts.push(`<h2>Also worth knowing</h2><ul>${v.caveats.map((c) => `<li>${h(c)}</li>`).join('')}</ul>`);
  parts.push('</body></html>\n');
  return parts.join('');
}
