import { errorToPlain, PackscopeError } from '../../../shared/errors.js';
import type { JobKind, JobView } from '../../../shared/api/contract.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { realClock, type Cancel, type Clock } from '../../../shared/util/clock.js';
import type { HostEvents } from './events.js';

/**
 * The host's jobs: every long piece of work (recording, black-box download, flash, self-check
 * step, export) runs here with an id, not in a screen. Screens start a job, then follow it through
 * 'job' events and find it again after navigating, reloading or reopening the window (jobs.list);
 * a finished job keeps its result or error for a while so a screen that was away can show it.
 * Progress events are throttled per job, so a fast transfer does not flood every connection.
 */
export interface JobSpec {
  id: string;
  kind: JobKind;
  title: string;
  file?: string | null;
  /** Closing the window during it loses work or interrupts the board (pull, flash, recording). */
  guard?: boolean;
  cancellable?: boolean;
}

/** What a running job's body gets: its cancel signal and a way to report progress or a file. */
export interface JobControl {
  signal: AbortSignal;
  progress(p: TransferProgress): void;
  setFile(file: string): void;
}

/** Finished jobs kept for screens that were away when they ended. */
const KEEP_FINISHED = 20;
/** At most this many progress events per second and job (the last one always goes out). */
const PROGRESS_EVERY_MS = 100;

interface Entry {
  view: JobView;
  abort: AbortController;
  lastSent: number;
  pending: Cancel | null;
}

export class JobRegistry {
  private jobs = new Map<string, Entry>();

  /**
   * `clock` paces the progress events; `wallTime` stamps start and end (ms since the epoch, shown
   * to people), which a monotonic clock cannot.
   */
  constructor(
    private events: HostEvents,
    private clock: Clock = realClock,
    private wallTime: () => number = Date.now,
  ) {}

  /** Runs `work` as a job; resolves or rejects with its outcome (which the job also keeps). */
  async run<T>(spec: JobSpec, work: (job: JobControl) => Promise<T>): Promise<T> {
    const entry = this.begin(spec);
    const control: JobControl = {
      signal: entry.abort.signal,
      progress: (p) => this.progress(spec.id, p),
      setFile: (file) => this.update(spec.id, { file }),
    };
    try {
      const result = await work(control);
      this.end(spec.id, 'done', { result });
      return result;
    } catch (e) {
      const error = errorToPlain(e);
      this.end(spec.id, error.code === 'CANCELLED' ? 'cancelled' : 'failed', { error });
      throw e;
    }
  }

  /** Starts a job that ends later by end() (a recording lives from start to stop). */
  begin(spec: JobSpec): Entry {
    const existing = this.jobs.get(spec.id);
    if (existing?.view.state === 'running') throw new PackscopeError('USAGE', `operation ${spec.id} is already running`);
    const entry: Entry = {
      view: {
        id: spec.id,
        kind: spec.kind,
        title: spec.title,
        state: 'running',
        startedAt: this.wallTime(),
        endedAt: null,
        progress: null,
        file: spec.file ?? null,
        guard: spec.guard ?? false,
        cancellable: spec.cancellable ?? true,
        error: null,
      },
      abort: new AbortController(),
      lastSent: 0,
      pending: null,
    };
    this.jobs.delete(spec.id);
    this.jobs.set(spec.id, entry);
    this.publish(entry);
    return entry;
  }

  signalOf(id: string): AbortSignal | null {
    return this.jobs.get(id)?.abort.signal ?? null;
  }

  update(id: string, change: Partial<Pick<JobView, 'title' | 'file' | 'progress'>>): void {
    const e = this.jobs.get(id);
    if (!e || e.view.state !== 'running') return;
    e.view = { ...e.view, ...change };
    this.publish(e);
  }

  progress(id: string, p: TransferProgress): void {
    const e = this.jobs.get(id);
    if (!e || e.view.state !== 'running') return;
    e.view = { ...e.view, progress: p };
    const now = this.clock.now();
    if (now - e.lastSent >= PROGRESS_EVERY_MS) return this.publish(e);
    e.pending ??= this.clock.after(PROGRESS_EVERY_MS, () => this.publish(e), { background: true });
  }

  end(id: string, state: 'done' | 'failed' | 'cancelled', outcome: { result?: unknown; error?: { code: string; message: string } }): void {
    const e = this.jobs.get(id);
    if (!e || e.view.state !== 'running') return;
    e.view = { ...e.view, state, endedAt: this.wallTime(), error: outcome.error ?? null, ...('result' in outcome ? { result: outcome.result } : {}) };
    this.publish(e);
    this.prune();
  }

  cancel(id: string): boolean {
    const e = this.jobs.get(id);
    if (!e || e.view.state !== 'running' || !e.view.cancellable) return false;
    e.abort.abort(new PackscopeError('CANCELLED', 'cancelled by the user'));
    return true;
  }

  cancelAll(): void {
    for (const id of [...this.jobs.keys()]) this.cancel(id);
  }

  /** Running jobs first (oldest first), then finished ones (newest first). */
  list(): JobView[] {
    const all = [...this.jobs.values()].map((e) => e.view);
    const running = all.filter((j) => j.state === 'running');
    const finished = all.filter((j) => j.state !== 'running').sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
    return [...running, ...finished];
  }

  get(id: string): JobView | null {
    return this.jobs.get(id)?.view ?? null;
  }

  private publish(e: Entry): void {
    e.pending?.();
    e.pending = null;
    e.lastSent = this.clock.now();
    this.events.emit('job', e.view);
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((e) => e.view.state !== 'running');
    for (const e of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(e.view.id);
  }
}
