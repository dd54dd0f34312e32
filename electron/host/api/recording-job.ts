import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Res } from '../../../shared/api/contract.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import { PackscopeError } from '../../../shared/errors.js';
import { realClock, type Cancel, type Clock } from '../../../shared/util/clock.js';
import { startRecording, type RecordingHandle, type RecordingSummary } from '../recorder/index.js';
import type { DeviceSession } from './device.js';
import { ensureDir } from './files.js';
import { safeStem, uniquePath } from '../desktop/unique-path.js';
import type { JobRegistry } from './jobs.js';

/**
 * The app's desktop recording as a host job: it holds the telemetry stream at its own rate (so
 * leaving Live, reloading the page or closing the window's renderer never starves it), reports its
 * record count as job progress, and ends with its summary — gaps included — when the user stops
 * it, cancels it from the job indicator, or the board goes away.
 *
 * A file's header names the firmware the board ran when it was opened. When a flash, an update or a
 * revert changes that (the host re-reads the identity before the stream resumes), the recording
 * completes its file and goes on in a new one whose header names the new firmware: one file never
 * mixes records of two firmware versions under one version's name. The job, its Stop and its
 * result span every file.
 */
type Part = NonNullable<Res<'recording.stop'>['parts']>[number];
export class RecordingJob {
  private current: {
    id: string;
    handle: RecordingHandle;
    rateHz: number;
    ticker: Cancel;
    offs: Array<() => void>;
    /** The identity the open file's header holds. */
    device: DeviceInfo;
    /** Files completed earlier in this recording (each firmware version its own). */
    parts: Part[];
    /** A file change in progress (stop waits for it). */
    rolling: Promise<void> | null;
  } | null = null;
  private count = 0;

  constructor(
    private device: DeviceSession,
    private jobs: JobRegistry,
    private dataDir: string,
    private tool: string,
    private clock: Clock = realClock,
  ) {}

  async start(out: string | undefined, rateHz: number): Promise<Res<'recording.start'>> {
    if (this.current) throw new PackscopeError('REFUSED', `Already recording to ${this.current.handle.path}: stop that recording first.`);
    const s = this.device.require();
    const file =
      out ?? path.join(ensureDir(this.dataDir), `${s.info?.serial ?? 'pack'}-live-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.pslog`);
    const handle = await this.open(file, rateHz);
    const id = `recording-${++this.count}-${this.clock.now()}`;
    const entry = this.jobs.begin({
      id,
      kind: 'recording',
      title: this.title(s.info, rateHz),
      file,
      guard: true,
    });
    const t0 = this.clock.now();
    const ticker = this.clock.every(1000, () => {
      const seconds = (this.clock.now() - t0) / 1000;
      this.jobs.progress(id, {
        done: handle.records,
        total: 0,
        rate: seconds > 0 ? handle.records / seconds : 0,
        etaSeconds: null,
        phase: `${handle.records.toLocaleString('en')} records${handle.gaps ? `, ${handle.gaps} gap(s)` : ''}`,
      });
    });
    // The stop button of the job indicator, and the board going away, both complete the file.
    const onCancel = () => void this.stop('stopped from the job list').catch(() => undefined);
    entry.abort.signal.addEventListener('abort', onCancel, { once: true });
    const offs = [
      () => entry.abort.signal.removeEventListener('abort', onCancel),
      s.on('disconnect', () => void this.stop('the board went away').catch(() => undefined)),
      this.device.onIdentity((_was, now) => this.rollOver(id, now)),
    ];
    this.current = { id, handle, rateHz, ticker, offs, device: s.info!, parts: [], rolling: null };
    try {
      await this.device.holdTelemetry('recording', rateHz);
    } catch (e) {
      await this.stop('the telemetry stream could not be started').catch(() => undefined);
      throw e;
    }
    return { path: file };
  }

  private open(file: string, rateHz: number): Promise<RecordingHandle> {
    return startRecording(this.device.require(), file, { rateHz, tool: this.tool, pauses: (l) => this.device.onPause(l) });
  }

  /**
   * The board told another identity: complete the open file and go on in a new one named for the
   * new firmware. Runs while the flash still holds the link, so no new frame lands in the old file.
   */
  private async rollOver(id: string, now: DeviceInfo): Promise<void> {
    const c = this.current;
    if (!c || c.id !== id || (now.firmwareVersion === c.device.firmwareVersion && now.serial === c.device.serial)) return;
    const run = async () => {
      const was = c.device;
      const old = await c.handle.stop();
      c.parts.push({ path: old.path, records: old.records, gaps: old.gaps.length, firmwareVersion: was.firmwareVersion });
      const dir = path.dirname(old.path);
      const stem = `${path.basename(old.path, '.pslog').replace(/-fw[^-]*(-\d+)?$/, '')}-fw${safeStem(now.firmwareVersion)}`;
      const file = uniquePath(dir, stem, '.pslog', (p) => existsSync(p) || existsSync(`${p}.partial`));
      c.handle = await this.open(file, c.rateHz);
      c.device = now;
      this.jobs.update(id, { file, title: this.title(now, c.rateHz) });
    };
    c.rolling = run();
    try {
      await c.rolling;
    } catch (e) {
      // The old file is complete; without a new one the recording cannot go on.
      c.rolling = null;
      this.current = null;
      c.ticker();
      for (const off of c.offs) off();
      await this.device.releaseTelemetry('recording').catch(() => undefined);
      this.jobs.end(id, 'failed', {
        error: {
          code: e instanceof PackscopeError ? e.code : 'IO',
          message: `the firmware changed and a new recording file could not be started: ${(e as Error).message}`,
        },
      });
      return;
    }
    c.rolling = null;
  }

  private title(info: DeviceInfo | null, rateHz: number): string {
    return `Recording ${info?.model ?? 'the pack'}${info?.serial ? ` #${info.serial}` : ''} at ${rateHz} Hz`;
  }

  /** Completes the file; the job ends with the summary as its result. */
  async stop(why = 'stopped by the user'): Promise<Res<'recording.stop'>> {
    const c = this.current;
    if (!c) throw new PackscopeError('USAGE', 'Nothing is being recorded.');
    await c.rolling?.catch(() => undefined);
    if (this.current !== c) throw new PackscopeError('USAGE', 'Nothing is being recorded.');
    this.current = null;
    c.ticker();
    for (const off of c.offs) off();
    await this.device.releaseTelemetry('recording').catch(() => undefined);
    let summary: RecordingSummary & { path: string };
    try {
      summary = await c.handle.stop();
    } catch (e) {
      this.jobs.end(c.id, 'failed', { error: { code: e instanceof PackscopeError ? e.code : 'IO', message: (e as Error).message } });
      throw e;
    }
    const result: Res<'recording.stop'> = {
      path: summary.path,
      records: summary.records,
      segments: summary.segments,
      gaps: summary.gaps.length,
      gapList: summary.gaps.map((g) => ({ from: g.fromMs, to: g.toMs, reason: g.reason })),
      ended: why,
      ...(c.parts.length
        ? { parts: [...c.parts, { path: summary.path, records: summary.records, gaps: summary.gaps.length, firmwareVersion: c.device.firmwareVersion }] }
        : {}),
    };
    this.jobs.end(c.id, 'done', { result });
    return result;
  }

  status(): Res<'recording.status'> {
    const c = this.current;
    return { active: c !== null, path: c?.handle.path ?? null, records: c?.handle.records ?? 0, ...(c ? { jobId: c.id, rateHz: c.rateHz } : {}) };
  }
}
