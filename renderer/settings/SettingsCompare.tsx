import { useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { BUILTIN_PROFILES } from '../../shared/settings/profiles.js';
import { useApp } from '../app/state.js';
import { asUiError, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import type { JbdExit } from './SettingsParts.js';
import { evidenceWarning, show, type SettingsView } from './settings-form.js';

/**
 * Compare and restore: the board against a backup file, a profile file or a built-in profile
 * (differing settings are highlighted in the table too); a backup's differences are listed as the
 * writes a restore would make, and it is restored only after that list is confirmed (and, for a
 * backup of another board, after the user says so explicitly).
 */
type Compared = Res<'settings.compare'>;

export function SettingsCompare(props: {
  view: SettingsView;
  /** Changes when a backup was written, so the file list shows it. */
  backupsChanged: string;
  operator: string;
  exit: JbdExit;
  onDifferences: (d: Map<string, number | null>) => void;
  onRestored: (report: Res<'settings.restore'>) => Promise<void>;
  onError: (e: UiError | null) => void;
}) {
  const { api, dataDir } = useApp();
  const [compared, setCompared] = useState<{ path: string | null; result: Compared } | null>(null);
  const [profile, setProfile] = useState(BUILTIN_PROFILES[0]!.id);
  const [confirming, setConfirming] = useState(false);
  const [anyBoard, setAnyBoard] = useState(false);
  const [busy, setBusy] = useState(false);

  const compare = async (req: { path: string } | { profile: string }) => {
    props.onError(null);
    setConfirming(false);
    setAnyBoard(false);
    setBusy(true);
    try {
      const result = await api.call('settings.compare', req);
      setCompared({ path: 'path' in req ? req.path : null, result });
      props.onDifferences(new Map(result.differences.map((d) => [d.id, d.right])));
    } catch (e) {
      setCompared(null);
      props.onDifferences(new Map());
      props.onError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };

  const restore = async () => {
    if (!compared?.path) return;
    props.onError(null);
    setBusy(true);
    try {
      const report = await api.call('settings.restore', {
        path: compared.path,
        anyBoard,
        ...(props.operator.trim() ? { operator: props.operator.trim() } : {}),
        ...(props.view.protocol === 'jbd' ? { jbdExit: props.exit } : {}),
      });
      setConfirming(false);
      await props.onRestored(report);
      await compare({ path: compared.path });
    } catch (e) {
      props.onError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };

  const r = compared?.result;
  const writes = r ? r.differences.filter((d) => r.writable.includes(d.id)) : [];
  const warning = evidenceWarning(props.view, props.exit);
  return (
    <div className="card" data-testid="settings-compare">
      <h2>Compare and restore</h2>
      <div className="row">
        <label className="inline">
          Profile
          <select value={profile} onChange={(e) => setProfile(e.target.value)} aria-label="Built-in profile">
            {BUILTIN_PROFILES.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="settings-compare-profile" disabled={busy} onClick={() => void compare({ profile })}>
          Compare with the profile
        </button>
      </div>
      <FilePicker
        key={props.backupsChanged}
        label="Backup or profile file"
        extensions={['.json']}
        initialDir={dataDir || undefined}
        onPick={(p) => void compare({ path: p })}
      />
      {r && (
        <div data-testid="settings-differences" data-count={r.differences.length}>
          <h3>
            Board against {r.kind === 'backup' ? 'backup' : 'profile'} {r.name}
          </h3>
          {r.backup && (
            <p className="muted small">
              Taken {new Date(r.backup.createdAt).toLocaleString()} from {r.backup.board.model} {r.backup.board.serial} ({r.backup.board.boardId}) · digest{' '}
              {r.backup.digest.slice(0, 16)}… (checked)
            </p>
          )}
          {r.backup && !r.backup.sameBoard && (
            <p className="bad-text" data-testid="settings-other-board">
              This backup was taken from another board ({r.backup.board.model} {r.backup.board.serial}).
            </p>
          )}
          {r.differences.length === 0 ? (
            <p className="ok-text" data-testid="settings-identical">
              The board matches {r.kind === 'backup' ? 'the backup' : 'the profile'}.
            </p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Setting</th>
                  <th>Board</th>
                  <th>{r.kind === 'backup' ? 'Backup' : 'Profile'}</th>
                </tr>
              </thead>
              <tbody>
                {r.differences.map((d) => (
                  <tr key={d.id} data-testid={`difference-${d.id}`}>
                    <td>{d.id}</td>
                    <td>{show(d.id, d.left)}</td>
                    <td>
                      {show(d.id, d.right)}
                      {!r.writable.includes(d.id) && d.right !== null && <span className="muted small"> (not written: read-only)</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {r.kind === 'backup' && writes.length > 0 && !confirming && (
            <button data-testid="settings-restore" onClick={() => setConfirming(true)} disabled={busy}>
              Restore this backup…
            </button>
          )}
          {confirming && (
            <div className="notice" data-testid="settings-restore-confirm">
              <p>
                Restoring writes {writes.length} setting{writes.length === 1 ? '' : 's'} (
                {writes.map((d) => `${d.id} ${show(d.id, d.left)} → ${show(d.id, d.right)}`).join('; ')}), then reads everything back and compares it with the
                backup.
              </p>
              {warning && <p>{warning.text}</p>}
              {r.backup && !r.backup.sameBoard && (
                <label className="inline">
                  <input type="checkbox" checked={anyBoard} onChange={(e) => setAnyBoard(e.target.checked)} />
                  Restore onto this board anyway
                </label>
              )}
              <div className="row">
                <button
                  data-testid="settings-restore-go"
                  className="primary"
                  disabled={busy || (r.backup !== null && !r.backup.sameBoard && !anyBoard)}
                  onClick={() => void restore()}
                >
                  {busy ? 'Restoring…' : 'Restore'}
                </button>
                <button onClick={() => setConfirming(false)} disabled={busy}>
                  Cancel
                </button>
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
