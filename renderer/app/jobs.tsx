import { useEffect, useState } from 'react';
import type { JobKind, JobView, PackscopeApi } from '../../shared/api/contract.js';

/**
 * The host's jobs as the renderer sees them: the list from jobs.list, kept current by 'job'
 * events. Every screen reads its own kind from here, so a download or flash started on one screen
 * is found again after navigating away and back, after a reload, or from another window.
 */
export function useHostJobs(api: PackscopeApi): JobView[] {
  const [jobs, setJobs] = useState<JobView[]>([]);
  useEffect(() => {
    let live = true;
    const merge = (j: JobView) => setJobs((list) => [j, ...list.filter((x) => x.id !== j.id)]);
    // Subscribe first, then list: an event that races the list is merged, not lost.
    const off = api.on('job', (j) => live && merge(j));
    api
      .call('jobs.list', {})
      .then((list) => live && setJobs((now) => [...now, ...list.filter((j) => !now.some((x) => x.id === j.id))]))
      .catch(() => undefined);
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return jobs;
}

/** The running job of a kind, else the latest finished one (null: none in this host's memory). */
export function latestJob(jobs: readonly JobView[], kind: JobKind): JobView | null {
  const mine = jobs.filter((j) => j.kind === kind);
  return mine.find((j) => j.state === 'running') ?? mine.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))[0] ?? null;
}

export function runningJobs(jobs: readonly JobView[]): JobView[] {
  return jobs.filter((j) => j.state === 'running').sort((a, b) => a.startedAt - b.startedAt);
}

/**
 * While a guarded job runs (download, flash, recording), leaving the page asks first; the host
 * would carry on, but the person at the bench should know that something is still running.
 */
export function useUnloadGuard(jobs: readonly JobView[]): void {
  const guarded = runningJobs(jobs).filter((j) => j.guard);
  const active = guarded.length > 0;
  useEffect(() => {
    if (!active) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      // Older browsers show their own text only when returnValue is set.
      e.returnValue = true;
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [active]);
}

function percent(j: JobView): number | null {
  const p = j.progress;
  return p && p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : null;
}

/** What runs, with progress and Cancel, in the sidebar of every screen. */
export function JobIndicator({ api, jobs }: { api: PackscopeApi; jobs: readonly JobView[] }) {
  const running = runningJobs(jobs);
  if (!running.length) return null;
  return (
    <section className="jobs" aria-label="Running jobs" data-testid="jobs">
      {running.map((j) => {
        const pct = percent(j);
        return (
          <div key={j.id} className="job" data-testid={`job-${j.kind}`}>
            <div className="small">{j.title}</div>
            {pct !== null ? (
              <progress max={100} value={pct} aria-label={`${j.title}: ${pct.toFixed(0)} percent`} />
            ) : (
              <progress aria-label={`${j.title}: running`} />
            )}
            <div className="row between small">
              <span className="muted" data-testid="job-progress">
                {pct !== null ? `${pct.toFixed(0)} %` : (j.progress?.phase ?? 'starting…')}
              </span>
              {j.cancellable && (
                <button className="link" onClick={() => void api.call('op.cancel', { opId: j.id }).catch(() => undefined)} data-testid="job-cancel">
                  {j.kind === 'recording' ? 'Stop' : 'Cancel'}
                </button>
              )}
            </div>
          </div>
        );
      })}
    </section>
  );
}
