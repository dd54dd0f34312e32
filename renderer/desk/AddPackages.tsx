/**
 * Adding claim packages from the Claims screen: choose .psdiag files (several, one after another)
 * or a folder of them with the app's file picker, then the host verifies and stores each as a job
 * (progress and Cancel here and in the job indicator, found again after leaving the screen). The
 * result says in plain words what was added, what the desk had already and what failed, and why.
 */
import { useEffect, useRef, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { splitPath } from '../common/desktop.js';

type IngestResult = Res<'desk.ingest'>;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function resultWords(r: IngestResult): string {
  const total = r.added.length + r.alreadyThere.length + r.failed.length;
  if (!total) return 'No .psdiag packages were found there.';
  const unverified = r.added.filter((e) => e.verified === false).length;
  const parts = [
    `${plural(r.added.length, 'package')} added${unverified ? ` (${unverified} did not pass verification and ${unverified === 1 ? 'is' : 'are'} queued as failed)` : ''}`,
  ];
  if (r.alreadyThere.length) parts.push(`${r.alreadyThere.length} already in the desk`);
  if (r.failed.length) parts.push(`${r.failed.length} could not be added`);
  return `${parts.join(', ')}.`;
}

function ResultList({ r }: { r: IngestResult }) {
  const rows = [
    ...r.added.map((e) => ({ ...e, what: `${e.verified === false ? 'did not pass verification, queued as' : 'added as'} ${e.claimId ?? 'a claim'}` })),
    ...r.alreadyThere.map((e) => ({ ...e, what: 'already there' })),
    ...r.failed.map((e) => ({ ...e, what: 'not added' })),
  ];
  if (!rows.length) return null;
  return (
    <ul className="small" data-testid="ingest-items">
      {rows.map((e) => (
        <li key={`${e.file}-${e.what}`}>
          <code>{splitPath(e.file).name}</code>: {e.what} — {e.reason}
        </li>
      ))}
    </ul>
  );
}

export function AddPackages({ onAdded, onClose }: { onAdded: () => void; onClose: () => void }) {
  const { api, jobs, dataDir } = useApp();
  const [paths, setPaths] = useState<string[]>([]);
  const [opId, setOpId] = useState<string | null>(null);
  const [result, setResult] = useState<IngestResult | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const job = latestJob(jobs, 'desk-ingest');
  const running = job?.state === 'running' ? job : null;
  const onAddedRef = useRef(onAdded);
  onAddedRef.current = onAdded;

  // A job that ended while this panel was away (or in another window) still refreshes the queue.
  const endedId = job && job.state !== 'running' ? job.id : null;
  useEffect(() => {
    if (endedId) onAddedRef.current();
  }, [endedId]);

  const add = (p: string) => setPaths((now) => (now.includes(p) ? now : [...now, p]));
  const start = async () => {
    const id = `desk-ingest-${Date.now().toString(36)}`;
    setOpId(id);
    setError(null);
    setResult(null);
    try {
      setResult(await api.call('desk.ingest', { opId: id, paths }));
      setPaths([]);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setOpId(null);
      onAddedRef.current();
    }
  };
  const progress = running?.progress;

  return (
    <div className="card" data-testid="add-packages" aria-label="Add packages">
      <div className="row between">
        <h2>Add packages</h2>
        <button className="link" onClick={onClose} disabled={!!running}>
          Close
        </button>
      </div>
      <p className="muted small">
        Choose claim packages (.psdiag) one after another, or a folder: every package in it and its subfolders is verified and added once.
      </p>
      {!running && <FilePicker label="Package" extensions={['.psdiag']} multiple onPick={add} onPickFolder={add} initialDir={dataDir || undefined} />}
      {paths.length > 0 && (
        <ul className="small" data-testid="ingest-chosen">
          {paths.map((p) => (
            <li key={p}>
              <code>{p}</code>{' '}
              <button className="link" onClick={() => setPaths((now) => now.filter((x) => x !== p))} disabled={!!running} aria-label={`Remove ${p}`}>
                remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <button className="primary" disabled={!paths.length || !!running || !!opId} onClick={() => void start()} data-testid="ingest-start">
          {paths.length ? `Add ${plural(paths.length, 'choice', 'choices')} to the desk` : 'Add to the desk'}
        </button>
        {running && (
          <>
            <progress
              max={progress && progress.total > 0 ? progress.total : undefined}
              value={progress && progress.total > 0 ? progress.done : undefined}
              aria-label="Adding packages"
            />
            <span className="muted small" data-testid="ingest-progress">
              {progress?.phase ?? 'Reading the packages…'}
            </span>
            <button className="danger" onClick={() => void api.call('op.cancel', { opId: running.id }).catch(() => undefined)}>
              Cancel
            </button>
          </>
        )}
      </div>
      {result && (
        <div data-testid="ingest-result">
          <p>{resultWords(result)}</p>
          <ResultList r={result} />
        </div>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}
