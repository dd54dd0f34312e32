/**
 * The Claims screen (supplier's claims desk): open a desk (supplier file and claims database),
 * then the queue sorted by SLA urgency with filters by verdict, model, firmware and age; one
 * claim's evidence and decision (ClaimPanel); the fleet view (FleetView). Packages are added here
 * (AddPackages, a host job), or by the command-line ingest while this screen is open.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { QUEUE_VERDICTS, type ClaimSummary, type QueueFilter } from '../../shared/desk/queue.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { AddPackages } from './AddPackages.js';
import { ClaimPanel } from './ClaimPanel.js';
import { FleetView } from './FleetView.js';
import { ageText, slaText } from './sla-text.js';
import './desk.css';

const SUPPLIER_KEY = 'packscope.desk.supplier';
const DB_KEY = 'packscope.desk.db';

type DeskInfo = NonNullable<Res<'desk.info'>>;

function OpenDesk({ onOpen }: { onOpen: (info: DeskInfo) => void }) {
  const { api, dataDir } = useApp();
  const [supplier, setSupplier] = useState(localStorage.getItem(SUPPLIER_KEY) ?? '');
  const [db, setDb] = useState(localStorage.getItem(DB_KEY) ?? '');
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const open = async () => {
    setBusy(true);
    setError(null);
    try {
      const info = await api.call('desk.open', { supplierPath: supplier, dbPath: db });
      localStorage.setItem(SUPPLIER_KEY, supplier);
      localStorage.setItem(DB_KEY, db);
      onOpen(info);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card" data-testid="desk-setup">
      <div className="grid2">
        <div>
          <h2>1. Supplier file (.json)</h2>
          <p className="muted small">Your roots, policy, ticket key, signing key and service levels.</p>
          {supplier ? (
            <p>
              <code>{supplier}</code>{' '}
              <button className="link" onClick={() => setSupplier('')} aria-label="Change supplier file">
                change
              </button>
            </p>
          ) : (
            <FilePicker label="Supplier file" extensions={['.json']} onPick={setSupplier} initialDir={dataDir || undefined} />
          )}
        </div>
        <div>
          <h2>2. Claims database (.duckdb)</h2>
          <p className="muted small">One file; created if it does not exist. Once the desk is open, add packages with “Add packages…”.</p>
          {db ? (
            <p>
              <code>{db}</code>{' '}
              <button className="link" onClick={() => setDb('')} aria-label="Change claims database">
                change
              </button>
            </p>
          ) : (
            <FilePicker label="Claims database" extensions={['.duckdb']} onPick={setDb} initialDir={dataDir || undefined} />
          )}
        </div>
      </div>
      <div className="row">
        <button className="primary big" disabled={!supplier || !db || busy} onClick={() => void open()} data-testid="desk-open">
          {busy ? 'Opening…' : 'Open the desk'}
        </button>
      </div>
      {error && <ErrorBox error={error} />}
    </div>
  );
}

function Filters({ info, filter, onChange }: { info: DeskInfo; filter: QueueFilter; onChange: (f: QueueFilter) => void }) {
  const verdicts = filter.verdict ?? [];
  const toggle = (v: (typeof QUEUE_VERDICTS)[number]) =>
    onChange({ ...filter, verdict: verdicts.includes(v) ? verdicts.filter((x) => x !== v) : [...verdicts, v] });
  const set = <K extends keyof QueueFilter>(k: K, v: QueueFilter[K] | undefined) => {
    const next = { ...filter };
    if (v === undefined || v === '') delete next[k];
    else next[k] = v;
    onChange(next);
  };
  return (
    <div className="row desk-filters" role="group" aria-label="Filters">
      <span className="muted">Verdict</span>
      {QUEUE_VERDICTS.map((v) => (
        <label key={v} className="inline">
          <input type="checkbox" checked={verdicts.includes(v)} onChange={() => toggle(v)} aria-label={`Verdict ${v}`} /> {v}
        </label>
      ))}
      <label className="inline">
        Model
        <select value={filter.model ?? ''} onChange={(e) => set('model', e.target.value || undefined)} aria-label="Model">
          <option value="">any</option>
          {info.models.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label className="inline">
        Firmware
        <select value={filter.firmware ?? ''} onChange={(e) => set('firmware', e.target.value || undefined)} aria-label="Firmware">
          <option value="">any</option>
          {info.firmwares.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label className="inline">
        Age
        <select
          value={filter.minAgeHours === undefined ? '' : String(filter.minAgeHours)}
          onChange={(e) => set('minAgeHours', e.target.value === '' ? undefined : Number(e.target.value))}
          aria-label="Minimum age"
        >
          <option value="">any</option>
          <option value="24">older than 1 day</option>
          <option value="72">older than 3 days</option>
          <option value="168">older than 1 week</option>
        </select>
      </label>
      <label className="inline">
        <input
          type="checkbox"
          checked={filter.openOnly ?? false}
          onChange={(e) => set('openOnly', e.target.checked || undefined)}
          aria-label="Open claims only"
        />{' '}
        open only
      </label>
    </div>
  );
}

function Queue({ claims, nowMs, selected, onSelect }: { claims: ClaimSummary[]; nowMs: number; selected: string | null; onSelect: (id: string) => void }) {
  if (!claims.length)
    return (
      <p className="muted" data-testid="queue-empty">
        No claim matches. Add claim packages (.psdiag) with “Add packages…” above.
      </p>
    );
  return (
    <div className="desk-queue-wrap">
      <table className="grid desk-queue" data-testid="queue">
        <thead>
          <tr>
            <th>SLA</th>
            <th>Claim</th>
            <th>Verdict</th>
            <th>Status</th>
            <th>Model</th>
            <th>Firmware</th>
            <th>Serial</th>
            <th>Age</th>
          </tr>
        </thead>
        <tbody>
          {claims.map((c) => {
            const overdue = c.clock.open && (c.clock.resolutionOverdue || (c.clock.responseOverdue && c.respondedAtMs === null));
            return (
              <tr
                key={c.claimId}
                data-testid="queue-row"
                data-claim={c.claimId}
                data-overdue={overdue ? 'yes' : 'no'}
                aria-selected={selected === c.claimId}
                className={selected === c.claimId ? 'selected' : undefined}
                onClick={() => onSelect(c.claimId)}
              >
                <td className={overdue ? 'bad-text' : c.clock.open ? '' : 'muted'}>{slaText(c)}</td>
                <td>
                  <button className="link" onClick={() => onSelect(c.claimId)}>
                    {c.claimId}
                  </button>
                </td>
                <td>
                  <span className={`chip verdict-${c.verdict}`}>{c.verdict}</span>
                </td>
                <td>{c.status}</td>
                <td>{c.model ?? '—'}</td>
                <td>{c.firmware ?? '—'}</td>
                <td>{c.serial ?? '—'}</td>
                <td>{ageText(nowMs - c.receivedAtMs)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function DeskScreen() {
  const { api } = useApp();
  const [info, setInfo] = useState<DeskInfo | null>(null);
  const [checked, setChecked] = useState(false);
  const [view, setView] = useState<'queue' | 'fleet'>('queue');
  const [filter, setFilter] = useState<QueueFilter>({});
  const [queue, setQueue] = useState<Res<'desk.queue'> | null>(null);
  const [digest, setDigest] = useState<Res<'desk.digest'> | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    api
      .call('desk.info', {})
      .then((i) => setInfo(i))
      .catch(() => undefined)
      .finally(() => setChecked(true));
  }, [api]);

  const refresh = useCallback(async () => {
    if (!info) return;
    try {
      const [q, d] = await Promise.all([api.call('desk.queue', filter), api.call('desk.digest', {})]);
      setQueue(q);
      setDigest(d);
      setError(null);
    } catch (e) {
      setError(asUiError(e));
    }
  }, [api, info, filter]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <section className="screen" aria-labelledby="desk-title">
      <h1 id="desk-title">Claims desk</h1>
      {checked && !info && <OpenDesk onOpen={setInfo} />}
      {info && (
        <>
          <div className="row desk-head">
            <span data-testid="desk-supplier">
              <strong>{info.supplier}</strong> <span className="muted small">{info.dbPath}</span>
            </span>
            <span className="muted small">
              answer within {info.sla.responseHours} h, resolve within {info.sla.resolutionHours} h
              {info.sla.levels.map((l) => `, then ${l.name} (${l.limitHours} h)`).join('')}
            </span>
            <div className="grow" />
            <div className="segmented" role="tablist" aria-label="Desk view">
              <button role="tab" aria-selected={view === 'queue'} onClick={() => setView('queue')} data-testid="desk-tab-queue">
                Queue
              </button>
              <button role="tab" aria-selected={view === 'fleet'} onClick={() => setView('fleet')} data-testid="desk-tab-fleet">
                Fleet
              </button>
            </div>
            <button onClick={() => setAdding(true)} disabled={adding} data-testid="desk-add">
              Add packages…
            </button>
            <button onClick={() => void refresh()}>Refresh</button>
            <button className="link" onClick={() => (setInfo(null), setQueue(null), setSelected(null))}>
              Open another desk
            </button>
          </div>
          {digest && (
            <p className="desk-digest" data-testid="desk-digest">
              {digest.open} open · {digest.responseOverdue.length} awaiting a first answer past target
              {digest.byLevel.map((l) => ` · ${l.claims.length} overdue at ${l.name}`).join('')} · {digest.dueWithin24h.length} due within 24 h
            </p>
          )}
          {adding && <AddPackages onAdded={() => void api.call('desk.info', {}).then(setInfo, () => refresh())} onClose={() => setAdding(false)} />}
          {error && <ErrorBox error={error} />}
          {view === 'queue' ? (
            <div className={selected ? 'desk-split has-claim' : 'desk-split'}>
              <div className="card">
                <Filters info={info} filter={filter} onChange={setFilter} />
                {queue && <Queue claims={queue.claims} nowMs={queue.nowMs} selected={selected} onSelect={setSelected} />}
              </div>
              {selected && <ClaimPanel key={selected} claimId={selected} info={info} onChanged={() => void refresh()} />}
            </div>
          ) : (
            <FleetView />
          )}
        </>
      )}
    </section>
  );
}
