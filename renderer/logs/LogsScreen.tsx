import { useCallback, useEffect, useRef, useState } from 'react';
import type { LogOpenResult, PartialPull, Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { RecordedChart } from '../charts/RecordedChart.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { RootKeyChoice } from '../common/RootKeyChoice.js';
import { FilePicker, Progress } from '../common/FilePicker.js';
import { bytes, fmt } from '../common/format.js';
import { codeProblem, hasTicket, NO_TICKET, TicketField, type TicketChoice } from './TicketField.js';

// The Logs screen's own choice: the root chosen on Verify is the verifier's, not this screen's.
const ROOT_KEY = 'packscope.logs.rootKey';

function stamp(t: number): string {
  return new Date(t).toISOString().slice(0, 19).replace(/[:T]/g, '-');
}

/** What the finished download says about the claim ticket it was sealed for. */
function Sealed({ ticket }: { ticket: NonNullable<Res<'log.pull'>['ticket']> }) {
  const expired = ticket.expiresAt !== null && Date.parse(ticket.expiresAt) <= Date.now();
  return (
    <>
      <p className="sealed" data-testid="pull-ticket">
        {ticket.claimId ? (
          <>
            Sealed for claim <strong>{ticket.claimId}</strong> (ticket file{ticket.serial ? ` for pack ${ticket.serial}` : ''}).
          </>
        ) : (
          <>
            Sealed for the claim code <code>{ticket.code}</code>.
          </>
        )}{' '}
        Your supplier can tell this log was read after the claim was opened.
      </p>
      {expired && (
        <p className="notice" role="status">
          This ticket expired on {new Date(ticket.expiresAt!).toLocaleDateString()}: your supplier may not accept a claim made with it. Ask them for a new one.
        </p>
      )}
    </>
  );
}

export function LogsScreen() {
  const { api, connection, dataDir, takePendingFile, go, jobs, boardMissing } = useApp();
  // The download is a host job: it goes on when this screen is left, and is found again here.
  const pullJob = latestJob(jobs, 'pull');
  const running = pullJob?.state === 'running' ? pullJob : null;
  const pullOp = running?.id ?? null;
  const progress = running?.progress ?? null;
  const ended = pullJob && pullJob.state !== 'running' ? pullJob : null;
  const pulled = ended?.state === 'done' ? (ended.result as Res<'log.pull'>) : null;
  const cancelled = ended?.state === 'cancelled';
  const pullOut = ended && ended.state !== 'done' ? ended.file : null;
  const [partials, setPartials] = useState<PartialPull[]>([]);
  const resumable = !!pullOut && partials.some((p) => p.path === pullOut);
  // The claim ticket for the next download, and the one the download in progress (or cut) uses:
  // a resumed download must be sealed over the nonce it began with.
  const [ticket, setTicket] = useState<TicketChoice>(NO_TICKET);
  const [pullTicket, setPullTicket] = useState<TicketChoice>(NO_TICKET);
  const [checkTicket, setCheckTicket] = useState(false);
  const [log, setLog] = useState<LogOpenResult | null>(null);
  // The log being shown: its chart reads by range from the moment it is chosen, while log.open
  // verifies every segment (the verdict and the segment table follow when that is done).
  const [shown, setShown] = useState<{ path: string; n: number } | null>(null);
  const opens = useRef(0);
  const [root, setRoot] = useState(() => localStorage.getItem(ROOT_KEY) ?? '');
  const [busy, setBusy] = useState<string | null>(null);
  const [exported, setExported] = useState<Res<'log.export'> | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const range = useRef<{ t0: number; t1: number; whole: boolean } | null>(null);
  const [rangeWhole, setRangeWhole] = useState(true);

  // Downloads cut short, from this run or an earlier one: listed until resumed.
  const endedId = ended?.id ?? null;
  useEffect(() => {
    let live = true;
    api
      .call('log.partials', {})
      .then((l) => live && setPartials(l))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, endedId, connection]);

  const open = useCallback(
    async (path: string) => {
      const n = ++opens.current;
      setBusy(`Opening and verifying ${path}…`);
      setError(null);
      setExported(null);
      setLog(null);
      setShown({ path, n });
      try {
        const opened = await api.call('log.open', { path, ...(root ? { rootKeyPath: root } : {}) });
        if (n === opens.current) setLog(opened);
      } catch (e) {
        if (n !== opens.current) return;
        setShown(null);
        setError(asUiError(e));
      } finally {
        if (n === opens.current) setBusy(null);
      }
    },
    [api, root],
  );

  useEffect(() => {
    // Another screen may hand over a log to open, or a claim ticket to download with.
    const f = takePendingFile('logs');
    if (f && /\.psticket$/i.test(f)) setTicket({ code: '', path: f });
    else if (f) void open(f);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // A download that ends while this screen is open is opened at once; one that ended while away is offered.
  const seenEnded = useRef(endedId);
  useEffect(() => {
    if (!endedId || endedId === seenEnded.current) return;
    seenEnded.current = endedId;
    if (pulled) void open(pulled.path);
  }, [endedId, pulled, open]);

  const pull = async (resume: boolean, resumeOut?: string) => {
    const t = resume ? pullTicket : ticket;
    if (!resume && codeProblem(t.code)) return (setCheckTicket(true), setError(null));
    const id = `pull-${Date.now()}`;
    const out = resume && resumeOut ? resumeOut : `${dataDir}/${connection?.device.serial ?? 'board'}-${stamp(Date.now())}.pslog`;
    setPullTicket(t);
    setError(null);
    try {
      // Resuming keeps the claim ticket the download began with: the host reads it from the partial file.
      const sealed = resume ? {} : t.path ? { ticketPath: t.path } : t.code.trim() ? { ticketCode: t.code.trim() } : {};
      await api.call('log.pull', { opId: id, out, resume, ...sealed });
    } catch (e) {
      // The job keeps its outcome; only a request refused before it began is shown from here.
      const err = asUiError(e);
      if (err.code === 'USAGE' && err.message.startsWith('invalid request')) setError(err);
    }
  };

  const doExport = async (visible: boolean) => {
    if (!log) return;
    const base = log.path.replace(/\.pslog$/i, '');
    const r = visible && range.current && !range.current.whole ? { from: range.current.t0, to: range.current.t1 } : undefined;
    const out = r ? `${base}-${stamp(r.from)}_to_${stamp(r.to)}.csv` : `${base}.csv`;
    setBusy('Exporting…');
    setError(null);
    try {
      setExported(await api.call('log.export', { path: log.path, out, opId: `export-${Date.now()}`, ...(r ? { range: r } : {}) }));
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };

  const onRange = useCallback((t0: number, t1: number, whole: boolean) => {
    range.current = { t0, t1, whole };
    setRangeWhole(whole);
  }, []);

  const badSegments = log?.segments.filter((s) => !s.ok) ?? [];
  return (
    <section className="screen" aria-labelledby="logs-title">
      <h1 id="logs-title">Logs</h1>
      <div className="grid2">
        <div className="card">
          <h2>Download from the board</h2>
          {!connection ? (
            <p className="muted">Connect to a board to download its black box.</p>
          ) : connection.protocol !== 'native' ? (
            <p className="muted">
              {connection.device.model} has no black box (it speaks {connection.protocol}); its live data can be recorded from the Live screen.
            </p>
          ) : (
            <>
              <p>
                The black box of {connection.device.model} #{connection.device.serial}, every segment checked against the board's signature as it arrives.
              </p>
              <TicketField
                value={ticket}
                onChange={(t) => (setTicket(t), setCheckTicket(false), setError(null))}
                allowCode
                disabled={!!pullOp}
                showProblem={checkTicket}
                initialDir={dataDir || undefined}
                hint="If your supplier opened a claim for this pack, type the code they gave you or choose their ticket file. The pack then seals this download for that claim."
              />
              <div className="row">
                <button className="primary" onClick={() => pull(false)} disabled={!!pullOp || !!boardMissing} data-testid="pull">
                  {hasTicket(ticket) ? 'Download the log for the claim' : 'Download the log'}
                </button>
                {resumable && pullOut && (
                  <button onClick={() => pull(true, pullOut)} disabled={!!pullOp || !!boardMissing} data-testid="resume">
                    Resume the download
                  </button>
                )}
                {pullOp && (
                  <button className="danger" onClick={() => api.call('op.cancel', { opId: pullOp })} data-testid="cancel-pull">
                    Cancel
                  </button>
                )}
              </div>
            </>
          )}
          {/* What the download job did: shown whatever the link does now (it may be why it stopped). */}
          {pullOp && (
            <Progress
              label={`Downloading${progress?.phase ? ` (${progress.phase})` : ''}`}
              {...(progress ?? { done: 0, total: 0, rate: 0, etaSeconds: null })}
            />
          )}
          {cancelled && (
            <p className="notice" role="status" data-testid="pull-cancelled">
              Download cancelled. What arrived is kept; Resume continues where it stopped.
            </p>
          )}
          {ended && ended.state === 'failed' && ended.error && (
            <ErrorBox error={ended.error}>
              <p className="muted small" data-testid="pull-failed">
                {resumable ? 'What arrived is kept and listed below: Resume continues where it stopped.' : ''}
              </p>
            </ErrorBox>
          )}
          {pulled && (
            <p className="ok-text" role="status" data-testid="pull-result">
              {pulled.segments} segments, {pulled.records.toLocaleString()} records in {fmt(pulled.seconds, 1)} s ({bytes(Math.round(pulled.payloadRate))}/s)
              {pulled.resumedSegments ? `, ${pulled.resumedSegments} segments kept from the earlier attempt` : ''}; signatures{' '}
              {pulled.signaturesOk ? 'valid' : 'NOT valid'}.
            </p>
          )}
          {pulled?.ticket && <Sealed ticket={pulled.ticket} />}
          {pulled && (
            <div className="row">
              <button onClick={() => go('claim', pulled.path)} data-testid="use-for-claim">
                Use this log for a warranty claim
              </button>
            </div>
          )}
          {!connection && pullOp && (
            <button className="danger" onClick={() => api.call('op.cancel', { opId: pullOp })} data-testid="cancel-pull">
              Cancel
            </button>
          )}
        </div>
        {partials.length > 0 && (
          <div className="card" data-testid="partials">
            <h2>Unfinished downloads</h2>
            <p className="muted small">Downloads that were cancelled or cut off. Resuming reads only what is still missing.</p>
            <ul className="plain">
              {partials.map((p) => {
                const other = connection && p.serial && connection.device.serial !== p.serial;
                const why = pullOp
                  ? 'A download is running.'
                  : boardMissing
                    ? boardMissing
                    : other
                      ? `This download is from pack ${p.serial}; connect that pack to resume it.`
                      : null;
                return (
                  <li key={p.path} className="row between" data-testid="partial">
                    <span>
                      <strong>{p.path.split(/[\\/]/).pop()}</strong>
                      <br />
                      <span className="muted small">
                        {p.serial ? `pack ${p.serial} · ` : ''}
                        {p.segments} segments ({bytes(p.bytes)}) · {new Date(p.mtimeMs).toLocaleString()}
                      </span>
                      {why && <span className="why-disabled"> · {why}</span>}
                    </span>
                    <button onClick={() => pull(true, p.path)} disabled={!!why} data-testid="resume-partial">
                      Resume
                    </button>
                  </li>
                );
              })}
            </ul>
          </div>
        )}
        <div className="card">
          <h2>Open a log file (.pslog)</h2>
          <FilePicker key={pulled?.path ?? ''} label="Log file" extensions={['.pslog']} onPick={open} initialDir={dataDir || undefined} />
          <RootKeyChoice
            storageKey={ROOT_KEY}
            value={root}
            onChange={setRoot}
            initialDir={dataDir || undefined}
            unset="No supplier root key chosen: the device certificate is not checked."
          />
        </div>
      </div>
      {busy && <p role="status">{busy}</p>}
      {error && <ErrorBox error={error} />}
      {shown && (
        <div data-testid={log ? 'log-view' : 'log-opening'}>
          <div className="card">
            {log ? (
              <>
                <h2>
                  {log.device ? `${log.device.model} #${log.device.serial}` : 'Unknown device'} · {log.series.records.toLocaleString()} records
                  {!log.complete && <span className="bad-text"> · partial download</span>}
                </h2>
                <p className={log.source === 'desktop' ? 'warn-text' : log.verification.ok ? 'ok-text' : 'bad-text'} data-testid="log-verification">
                  {log.source === 'desktop'
                    ? 'Desktop recording: not signed by the board, so it proves nothing on its own.'
                    : log.verification.ok
                      ? `Every segment's signature and the chain verify${log.verification.rootChecked ? '; the device certificate chains to the supplier root' : ''}.`
                      : `${log.verification.issueCount} problem(s): ${log.verification.issues[0] ?? ''}`}
                </p>
                <p className="muted small">
                  Certificate: {log.verification.certificate.message} · checkpoint{' '}
                  {log.verification.checkpoint.present ? (log.verification.checkpoint.ok ? 'verified' : 'NOT verified') : 'absent'} · {log.segments.length}{' '}
                  segments
                  {log.verification.missingSegments ? ` · ${log.verification.missingSegments} missing` : ''}
                </p>
              </>
            ) : (
              <>
                <h2>{shown.path.split(/[\\/]/).pop()}</h2>
                <p role="status" data-testid="log-verifying">
                  Verifying every segment's hash, signature and the chain… The chart below shows the log as stored until the verdict is here.
                </p>
              </>
            )}
            <RecordedChart key={`${shown.path}:${shown.n}`} path={shown.path} onRange={onRange} label="Log data" />
            <div className="row">
              <button onClick={() => doExport(false)} disabled={!!busy || !log} data-testid="export-all">
                Export whole log (CSV)
              </button>
              <button onClick={() => doExport(true)} disabled={!!busy || !log || rangeWhole} data-testid="export-range">
                Export visible range (CSV)
              </button>
            </div>
            {exported && (
              <p className="ok-text" role="status" data-testid="export-result">
                Wrote {exported.records.toLocaleString()} records ({bytes(exported.bytes)}) to {exported.path}
              </p>
            )}
          </div>
          {log && (
            <div className="card">
              <h2>Segments and signatures</h2>
              {badSegments.length > 0 && <p className="bad-text">{badSegments.length} segment(s) with problems are listed first.</p>}
              <div className="scroll">
                <table className="grid" data-testid="segments">
                  <thead>
                    <tr>
                      <th>Segment</th>
                      <th>Starts</th>
                      <th>Records</th>
                      <th>Signature</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...badSegments, ...log.segments.filter((s) => s.ok)].slice(0, 100).map((s, i) => (
                      <tr key={`${s.counter}-${i}`}>
                        <td>{s.counter < 0 ? 'damage' : `#${s.counter}`}</td>
                        <td>{s.startMs ? new Date(s.startMs).toLocaleString() : '—'}</td>
                        <td>{s.records}</td>
                        <td className={!s.ok ? 'bad-text' : log.source === 'desktop' ? 'warn-text' : 'ok-text'}>
                          {s.ok ? (log.source === 'desktop' ? 'unsigned (desktop)' : '✓ valid') : `✗ ${s.issue}`}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {log.segments.length > 100 && <p className="muted small">First 100 of {log.segments.length} segments shown.</p>}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
