import { useCallback, useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { SettingsCompare } from './SettingsCompare.js';
import { ApplyOutcomes, EvidenceNote, type JbdExit } from './SettingsParts.js';
import { checkStaged, fieldText, groupRows, rangeText, show, type SettingsView } from './settings-form.js';
import './settings.css';

/**
 * The Settings screen: every setting the connected board exposes, grouped as the catalogue groups
 * them, with units and the range the board accepts. Changes are typed into the table, checked as
 * they are typed (the same checks the host makes before sending), reviewed as a list of old → new
 * and written only when confirmed; the board's answer (the value it holds) is shown per setting.
 * Backups go to a file; a backup or a profile is compared with the board and a backup restored
 * after its differences are shown and confirmed. Where a write destroys evidence (a JBD board's
 * protection counters) the screen says so in words before anything is sent.
 */
type ApplyView = Res<'settings.apply'>;

export function SettingsScreen() {
  const { api, connection, go } = useApp();
  const [view, setView] = useState<SettingsView | null>(null);
  const [loading, setLoading] = useState(false);
  const [staged, setStaged] = useState<Record<string, string>>({});
  const [reviewing, setReviewing] = useState(false);
  const [writing, setWriting] = useState(false);
  const [result, setResult] = useState<{ title: string; report: ApplyView } | null>(null);
  const [exit, setExit] = useState<JbdExit>('keep-counters');
  const [operator, setOperator] = useState('');
  const [saved, setSaved] = useState<Res<'settings.backup'> | null>(null);
  const [highlight, setHighlight] = useState<Map<string, number | null>>(new Map());
  const [error, setError] = useState<UiError | null>(null);
  const connected = connection !== null;

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setView(await api.call('settings.read', {}));
      setError(null);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    if (connected) void load();
    else setView(null);
  }, [connected, load]);

  if (!connected) {
    return (
      <div className="card">
        <h2>Settings</h2>
        <p>Connect a board first: the settings are read from it.</p>
        <button onClick={() => go('connect')}>Connect</button>
      </div>
    );
  }

  const check = view ? checkStaged(view, staged) : { changes: {}, issues: new Map<string, string>() };
  const pending = Object.keys(check.changes);
  const canReview = pending.length > 0 && check.issues.size === 0;
  const who = operator.trim() ? { operator: operator.trim() } : {};
  const jbd = view?.protocol === 'jbd' ? { jbdExit: exit } : {};

  const write = async () => {
    setWriting(true);
    setError(null);
    try {
      const report = await api.call('settings.apply', { changes: check.changes, ...who, ...jbd });
      setResult({ title: 'Written', report });
      setStaged({});
      setReviewing(false);
      await load();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setWriting(false);
    }
  };

  const backup = async () => {
    setError(null);
    try {
      setSaved(await api.call('settings.backup', {}));
    } catch (e) {
      setError(asUiError(e));
    }
  };

  return (
    <div className="settings">
      <div className="card">
        <h2>Settings</h2>
        {view ? (
          <p data-testid="settings-board">
            {view.board.model} {view.board.serial} ({view.board.boardId}), firmware {view.board.firmwareVersion} · {view.protocol} protocol ·{' '}
            {Object.keys(view.values).length} settings
            {view.snapshotDigest && <span className="muted small"> · signed snapshot {view.snapshotDigest.slice(0, 16)}…</span>}
          </p>
        ) : (
          <p>{loading ? 'Reading the settings from the board…' : 'No settings read yet.'}</p>
        )}
        <div className="row">
          <button onClick={() => void load()} disabled={loading || writing}>
            {loading ? 'Reading…' : 'Read again'}
          </button>
          <button data-testid="settings-backup" onClick={() => void backup()} disabled={!view || writing}>
            Back up to a file
          </button>
          <label className="inline">
            Operator
            <input value={operator} onChange={(e) => setOperator(e.target.value)} placeholder="optional" aria-label="Operator (signed with changes)" />
          </label>
        </div>
        {saved && (
          <p className="ok-text" data-testid="settings-backup-saved">
            {saved.settings} settings saved to <code>{saved.path}</code> (digest {saved.digest.slice(0, 16)}…)
          </p>
        )}
        {view?.notes.map((n) => (
          <p key={n} className="muted small">
            {n}
          </p>
        ))}
      </div>
      {result && <ApplyOutcomes title={result.title} report={result.report} />}
      {view && <EvidenceNote view={view} exit={exit} onExit={setExit} />}
      {view && (
        <SettingsCompare
          view={view}
          backupsChanged={saved?.path ?? ''}
          operator={operator}
          exit={exit}
          onDifferences={setHighlight}
          onRestored={async (report) => {
            setResult({ title: 'Restored', report });
            setStaged({});
            await load();
          }}
          onError={setError}
        />
      )}
      {view &&
        groupRows(view).map((g) => (
          <fieldset key={g.group} className="card settings-group" data-testid={`settings-group-${g.group}`}>
            <legend>{g.title}</legend>
            <table>
              <thead>
                <tr>
                  <th>Setting</th>
                  <th>On the board</th>
                  <th>New value</th>
                  <th>Allowed</th>
                </tr>
              </thead>
              <tbody>
                {g.rows.map(({ def, value, limit, writable }) => {
                  const issue = check.issues.get(def.id);
                  const changed = def.id in check.changes;
                  const differs = highlight.has(def.id);
                  return (
                    <tr
                      key={def.id}
                      data-testid={`setting-row-${def.id}`}
                      data-differs={differs ? 'yes' : 'no'}
                      className={[differs ? 'differs' : '', changed ? 'staged' : '', issue ? 'invalid' : ''].join(' ').trim() || undefined}
                    >
                      <td title={def.description}>
                        {def.label}
                        <div className="muted small">
                          <code>{def.id}</code>
                          {differs && <> · file: {show(def.id, highlight.get(def.id))}</>}
                        </div>
                      </td>
                      <td data-testid={`setting-value-${def.id}`}>{show(def.id, value)}</td>
                      <td>
                        {writable ? (
                          def.type === 'boolean' ? (
                            <select
                              aria-label={`New value of ${def.label}`}
                              data-testid={`setting-input-${def.id}`}
                              value={staged[def.id] ?? fieldText(def, value)}
                              onChange={(e) => setStaged({ ...staged, [def.id]: e.target.value })}
                            >
                              <option value="on">on</option>
                              <option value="off">off</option>
                            </select>
                          ) : (
                            <input
                              className="setting-input"
                              aria-label={`New value of ${def.label}${def.unit ? ` in ${def.unit}` : ''}`}
                              aria-invalid={issue ? true : undefined}
                              data-testid={`setting-input-${def.id}`}
                              inputMode="decimal"
                              value={staged[def.id] ?? fieldText(def, value)}
                              onChange={(e) => setStaged({ ...staged, [def.id]: e.target.value })}
                            />
                          )
                        ) : (
                          <span className="muted">read-only</span>
                        )}
                        {writable && def.unit && <span className="unit"> {def.unit}</span>}
                        {issue && (
                          <div className="bad-text small" role="alert" data-testid={`setting-issue-${def.id}`}>
                            {issue}
                          </div>
                        )}
                      </td>
                      <td className="muted small">{rangeText(def, limit)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </fieldset>
        ))}
      {view && (
        <div className="card settings-stage" data-testid="settings-stage">
          <h2>Changes</h2>
          {error && <ErrorBox error={error} />}
          {pending.length === 0 && check.issues.size === 0 && (
            <p className="muted">Type new values in the table; changed values are listed here before anything is written.</p>
          )}
          {check.issues.size > 0 && (
            <p className="bad-text" data-testid="settings-invalid">
              {check.issues.size === 1 ? 'One value cannot be sent' : `${check.issues.size} values cannot be sent`}: nothing is written until every value is
              inside its range.
            </p>
          )}
          {pending.length > 0 && (
            <table data-testid="settings-pending">
              <tbody>
                {pending.map((id) => (
                  <tr key={id}>
                    <td>{id}</td>
                    <td>{show(id, view.values[id])}</td>
                    <td>→</td>
                    <td>
                      <strong>{show(id, check.changes[id])}</strong>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="row">
            {!reviewing ? (
              <button data-testid="settings-review" className="primary" disabled={!canReview || writing} onClick={() => setReviewing(true)}>
                Review {pending.length || ''} change{pending.length === 1 ? '' : 's'}
              </button>
            ) : (
              <>
                <span>
                  Write {pending.length} change{pending.length === 1 ? '' : 's'} to {view.board.model} {view.board.serial}?
                </span>
                <button data-testid="settings-confirm" className="primary" disabled={!canReview || writing} onClick={() => void write()}>
                  {writing ? 'Writing…' : 'Write to the board'}
                </button>
                <button onClick={() => setReviewing(false)} disabled={writing}>
                  Back
                </button>
              </>
            )}
            <button
              onClick={() => {
                setStaged({});
                setReviewing(false);
              }}
              disabled={Object.keys(staged).length === 0 || writing}
            >
              Discard changes
            </button>
          </div>
        </div>
      )}
      {!view && error && <ErrorBox error={error} />}
    </div>
  );
}
