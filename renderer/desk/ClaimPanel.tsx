/**
 * One claim on the Claims screen: the verifier's own result for its latest package (verdict line,
 * every check, findings, freshness, extent, the policy that decided and what the customer saw),
 * the recorded data, the claim form, photos' hashes, decisions and status history; acknowledging
 * and deciding (signed with the supplier's key into a decision file).
 */
import { useEffect, useMemo, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { DECISION_KINDS, type DecisionKind } from '../../shared/desk/decision.js';
import { useApp } from '../app/state.js';
import { RecordedChart } from '../charts/RecordedChart.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { bytes } from '../common/format.js';
import { slaText } from './sla-text.js';

const KIND_TEXT: Record<DecisionKind, string> = {
  covered: 'Covered',
  denied: 'Denied (name the clause)',
  'return-requested': 'Return the pack for inspection',
  'more-info-requested': 'Ask for more information',
};

const when = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

function Decide({
  claimId,
  clauses,
  suggested,
  canDecide,
  onDone,
}: {
  claimId: string;
  clauses: string[];
  suggested: string | null;
  canDecide: boolean;
  onDone: () => void;
}) {
  const { api } = useApp();
  const [kind, setKind] = useState<DecisionKind>('covered');
  const [clause, setClause] = useState(suggested ?? clauses[0] ?? '');
  const [note, setNote] = useState('');
  const [done, setDone] = useState<Res<'desk.decide'> | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (what: 'ack' | 'decide') => {
    setBusy(true);
    setError(null);
    try {
      if (what === 'ack') await api.call('desk.ack', { claimId, note });
      else setDone(await api.call('desk.decide', { claimId, kind, clause: kind === 'denied' ? clause : null, note }));
      onDone();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };
  if (!canDecide) return <p className="muted">The supplier file names no signing key: decisions cannot be signed here.</p>;
  return (
    <div className="form" data-testid="decide">
      <label className="field">
        Decision
        <select value={kind} onChange={(e) => setKind(e.target.value as DecisionKind)} aria-label="Decision">
          {DECISION_KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_TEXT[k]}
            </option>
          ))}
        </select>
      </label>
      {kind === 'denied' && (
        <label className="field">
          Clause
          <select value={clause} onChange={(e) => setClause(e.target.value)} aria-label="Clause">
            {clauses.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
      )}
      <label className="field">
        Note to the customer{kind === 'more-info-requested' ? ' (what you need)' : ''}
        <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} aria-label="Note" />
      </label>
      <div className="row">
        <button className="primary" disabled={busy} onClick={() => void run('decide')} data-testid="decide-sign">
          Sign and record the decision
        </button>
        <button disabled={busy} onClick={() => void run('ack')} data-testid="decide-ack">
          Acknowledge only
        </button>
      </div>
      {done && (
        <p className="ok-text" data-testid="decide-done">
          Decision {done.sequence} signed by {done.keyFingerprint}: <code>{done.path}</code>. Send this file to the customer; its VERIFY.txt says how to check
          it with openssl or ssh-keygen.
        </p>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}

export function ClaimPanel({ claimId, info, onChanged }: { claimId: string; info: NonNullable<Res<'desk.info'>>; onChanged: () => void }) {
  const { api } = useApp();
  const [data, setData] = useState<Res<'desk.claim'> | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [reportOut, setReportOut] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const load = useMemo(
    () => () =>
      api
        .call('desk.claim', { claimId })
        .then((d) => (setData(d), setError(null)))
        .catch((e) => setError(asUiError(e))),
    [api, claimId],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const markers = useMemo(() => (data?.detail.findings ?? []).filter((f) => f.fromMs !== null).map((f) => ({ t: f.fromMs!, label: f.title })), [data]);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p className="muted">Loading {claimId}…</p>;
  const { detail: d, series } = data;
  const p = d.package;
  const saveReport = async () => {
    try {
      const r = await api.call('desk.report', { claimId, out: reportOut });
      setSaved(`${r.path} (${bytes(r.bytes)})`);
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <div className="card desk-claim" data-testid="claim-panel">
      <h2>
        Claim {d.summary.claimId} <span className="muted small">{d.summary.status}</span>
      </h2>
      <p className={p.ok ? 'ok-text' : 'bad-text'} data-testid="claim-line">
        {p.ok ? '' : 'Do not trust this package: '}
        {p.line}
      </p>
      <p data-testid="claim-sla">SLA: {slaText(d.summary)}</p>
      <div className="grid2">
        <div>
          <h3>What the verifier checked</h3>
          <ul className="checks" data-testid="claim-checks">
            {d.checks.map((c, i) => (
              <li key={c.id + i} className={c.ok ? '' : 'bad-text'}>
                {c.ok ? '✓' : '✗'} <strong>{c.id}</strong>: {c.detail}
              </li>
            ))}
          </ul>
          <dl className="facts">
            <dt>Freshness</dt>
            <dd>{p.freshness}</dd>
            <dt>Extent</dt>
            <dd>{p.extent ?? '—'}</dd>
            <dt>Decided by</dt>
            <dd>
              {p.policyId ?? '—'}
              {p.packagePolicyId && p.packagePolicyId !== p.policyId ? ` (the customer saw ${p.packagePolicyId})` : ''}
              {p.policyDifferences ? `, ${p.policyDifferences} difference(s)` : ''}
            </dd>
            <dt>Customer saw</dt>
            <dd>{p.customerVerdict ?? '—'}</dd>
            <dt>Installation key</dt>
            <dd>
              {p.installKey ?? '—'} {p.installKeyPinned ? '(known)' : '(not pinned)'}
            </dd>
          </dl>
          {p.caveats.map((c) => (
            <p key={c} className="warn small">
              {c}
            </p>
          ))}
        </div>
        <div>
          <h3>Claim</h3>
          <dl className="facts">
            <dt>Customer</dt>
            <dd>
              {d.claim.customer ?? '—'} {d.claim.contact ? `<${d.claim.contact}>` : ''}
            </dd>
            <dt>Pack</dt>
            <dd>
              {d.claim.model ?? '—'} {d.claim.serial ?? ''} · firmware {d.summary.firmware ?? '—'} · batch {d.summary.batch ?? '—'}
            </dd>
            <dt>Purchased</dt>
            <dd>{d.claim.purchaseDate ?? '—'}</dd>
            <dt>Failed</dt>
            <dd>{d.claim.failureDate ?? '—'}</dd>
            <dt>Asks for</dt>
            <dd>{d.claim.remedy ?? '—'}</dd>
            <dt>Says</dt>
            <dd>{d.claim.description ?? '—'}</dd>
            <dt>Package</dt>
            <dd>
              {p.fileName}, {bytes(p.bytes)}, {p.records} records in {p.segments} segments, {when(p.logFromMs)} – {when(p.logToMs)}
              {d.packageCount > 1 ? ` (${d.packageCount} packages for this claim)` : ''}
            </dd>
          </dl>
          {d.photos.length > 0 && (
            <ul className="small" data-testid="claim-photos">
              {d.photos.map((ph) => (
                <li key={ph.name}>
                  {ph.name} · {bytes(ph.bytes)} · sha256 <code>{ph.sha256.slice(0, 16)}…</code>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {d.findings.length > 0 && (
        <table className="grid" data-testid="claim-findings">
          <thead>
            <tr>
              <th>Finding</th>
              <th>Measured</th>
              <th>For</th>
              <th>When</th>
              <th>Records</th>
            </tr>
          </thead>
          <tbody>
            {d.findings.map((f, i) => (
              <tr key={i}>
                <td>
                  <span className={f.type === 'void' ? 'bad-text' : 'warn'}>{f.type === 'void' ? 'misuse' : 'defect'}</span> {f.title}
                </td>
                <td>
                  {f.measured} {f.unit}
                </td>
                <td>{f.durationS} s</td>
                <td className="small">{when(f.fromMs)}</td>
                <td className="small">
                  {f.firstRecord}–{f.lastRecord}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {series && <RecordedChart series={series} markers={markers} label={`Recorded data of ${d.summary.claimId}`} />}
      <div className="row">
        <label className="inline grow">
          Save the verifier&apos;s report to
          <input
            className="grow"
            value={reportOut}
            onChange={(e) => setReportOut(e.target.value)}
            placeholder="/path/to/report.html"
            aria-label="Report path"
          />
        </label>
        <button disabled={!reportOut.trim() || !d.hasReport} onClick={() => void saveReport()}>
          Save report
        </button>
      </div>
      {saved && <p className="ok-text small">Report written: {saved}</p>}
      <h3>Decide</h3>
      <Decide
        claimId={claimId}
        clauses={info.clauses}
        suggested={p.excludedBy[0] ?? null}
        canDecide={info.canDecide}
        onDone={() => {
          void load();
          onChanged();
        }}
      />
      <h3>History</h3>
      <ol className="small" data-testid="claim-history">
        {d.history.map((h) => (
          <li key={h.seq}>
            {when(h.atMs)} <strong>{h.status}</strong> {h.note}
          </li>
        ))}
      </ol>
      {d.decisions.length > 0 && (
        <ul className="small" data-testid="claim-decisions">
          {d.decisions.map((x) => (
            <li key={x.seq}>
              {x.seq}. {x.kind}
              {x.clause ? ` (${x.clause})` : ''} {when(x.decidedAtMs)}: <code>{x.filePath}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
