/**
 * The self-check's result as a file the customer keeps or sends: the pack, the outcome and every
 * step in plain words. Self-contained HTML (no script, a strict CSP), every string escaped.
 */
import { escapeHtml as h } from '../../../shared/evidence/report.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import type { Conclusion } from './types.js';

const STATUS = { pass: 'Normal', warn: 'Needs attention', fail: 'Problem found', skipped: 'Not checked' } as const;

export function renderSelfCheckReport(c: Conclusion, device: DeviceInfo, at: string): string {
  const claim = c.outcome === 'file-a-claim';
  const steps = c.results
    .map(
      (r) =>
        `<tr><th>${h(r.title)}</th><td><strong>${STATUS[r.status]}</strong><br>${h(r.meaning)}<br><span class="muted">Measured: ${h(r.measured)}. Normal: ${h(r.normal)}.</span></td></tr>`,
    )
    .join('');
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    `<title>PackScope self-check: ${h(device.serial)}</title>` +
    '<style>body{font:14px/1.45 system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}table{border-collapse:collapse;width:100%}' +
    'th,td{text-align:left;vertical-align:top;padding:6px 10px 6px 0;border-top:1px solid #ddd}th{width:28%}.muted{color:#666}' +
    `.verdict{font-size:1.3em;font-weight:700;padding:.6em;border-left:6px solid ${claim ? '#d62728' : '#2ca02c'}}</style></head><body>` +
    `<h1>Self-check</h1><p>${h(device.model)}, serial ${h(device.serial)}, firmware ${h(device.firmwareVersion)}<br>Checked ${h(at)}</p>` +
    `<div class="verdict">${claim ? 'We found a problem' : 'No problem found'}</div><p>${h(c.summary)}</p>` +
    `<table>${steps}</table></body></html>\n`
  );
}
