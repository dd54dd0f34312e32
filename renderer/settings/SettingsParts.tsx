import type { Res } from '../../shared/api/contract.js';
import { evidenceWarning, show, type SettingsView } from './settings-form.js';

/**
 * Pieces of the Settings screen: what a write does to evidence (with a JBD board's choice of how to
 * leave factory mode) and the board's answer to a write or a restore, per setting.
 */
export type JbdExit = 'keep-counters' | 'save-and-reset-counters';

export function EvidenceNote({ view, exit, onExit }: { view: SettingsView; exit: JbdExit; onExit: (e: JbdExit) => void }) {
  const w = evidenceWarning(view, exit);
  if (!w) return null;
  return (
    <div className={w.level === 'danger' ? 'error' : 'card'} data-testid="settings-evidence" data-level={w.level}>
      {view.protocol === 'jbd' && (
        <fieldset>
          <legend>How the board stores a change</legend>
          <label className="inline">
            <input type="radio" name="jbd-exit" checked={exit === 'keep-counters'} onChange={() => onExit('keep-counters')} />
            Keep the protection counters (leave factory mode with 0x01 = 0000; recommended)
          </label>
          <label className="inline">
            <input type="radio" name="jbd-exit" checked={exit === 'save-and-reset-counters'} onChange={() => onExit('save-and-reset-counters')} />
            Save and reset the counters (0x01 = 2828, only for boards that keep nothing otherwise)
          </label>
        </fieldset>
      )}
      <p data-testid="settings-evidence-text">{w.text}</p>
    </div>
  );
}

const RESULT_WORDS: Record<string, string> = {
  written: 'written',
  unchanged: 'already set',
  refused: 'refused by the board',
  not_applied: 'not written',
};

export function ApplyOutcomes({ title, report }: { title: string; report: Res<'settings.apply'> }) {
  const refused = report.outcomes.filter((o) => o.result === 'refused' || o.result === 'not_applied');
  const ok = refused.length === 0 && report.mismatches.length === 0 && !(report.remaining?.length ?? 0);
  return (
    <div className="card settings-outcomes" data-testid="settings-outcomes">
      <h2>{title}</h2>
      <p className={ok ? 'ok-text' : 'bad-text'} data-testid="settings-outcome-summary">
        {report.outcomes.length === 0
          ? 'The board already held every value: nothing was written.'
          : ok
            ? `The board took ${report.outcomes.length === 1 ? 'the change' : `all ${report.outcomes.length} changes`}; the read-back matches.`
            : `${refused.length} refused, ${report.mismatches.length} read back differently${report.remaining?.length ? `, ${report.remaining.length} still differ from the backup` : ''}.`}
      </p>
      {report.outcomes.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Setting</th>
              <th>Before</th>
              <th>Asked</th>
              <th>Board's answer</th>
              <th>Now holds</th>
            </tr>
          </thead>
          <tbody>
            {report.outcomes.map((o) => (
              <tr
                key={o.id}
                data-testid={`outcome-${o.id}`}
                data-result={o.result}
                className={o.result === 'refused' || o.result === 'not_applied' ? 'bad' : undefined}
              >
                <td>{o.id}</td>
                <td>{show(o.id, report.before[o.id])}</td>
                <td>{show(o.id, o.requested)}</td>
                <td>{o.reason ?? RESULT_WORDS[o.result]}</td>
                <td>{show(o.id, o.stored)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report.mismatches.map((m) => (
        <p key={m.id} className="bad-text">
          Read back {m.id}: {show(m.id, m.got)}, expected {show(m.id, m.expected)}.
        </p>
      ))}
      {report.remaining?.map((d) => (
        <p key={d.id} className="bad-text">
          Still differs from the backup: {d.id} board {show(d.id, d.left)}, backup {show(d.id, d.right)}.
        </p>
      ))}
    </div>
  );
}
