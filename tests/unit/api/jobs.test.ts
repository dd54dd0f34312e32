import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appWords } from '../../../electron/host/api/app-words.js';
import { closeWarning } from '../../../electron/main/close-guard.js';
import { HostEvents } from '../../../electron/host/api/events.js';
import { JobRegistry } from '../../../electron/host/api/jobs.js';
import { TelemetryRecorder, type RecordingSink, type RecordingSummary } from '../../../electron/host/recorder/recorder.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { findGaps } from '../../../shared/blackbox/gaps.js';
import { parseSegment, segmentRecords } from '../../../shared/blackbox/segment.js';
import type { JobView } from '../../../shared/api/contract.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { DeviceInfo, LogRecord, TelemetryFrame } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';

function registry() {
  const events = new HostEvents();
  const clock = new VirtualClock(1_000_000);
  const seen: JobView[] = [];
  events.on('job', (j) => seen.push(j));
  return { jobs: new JobRegistry(events, clock, () => clock.now()), clock, seen };
}

describe('host jobs', () => {
  it('a job keeps its result after it ends, and every change goes out as an event', async () => {
    const { jobs, seen } = registry();
    const r = await jobs.run({ id: 'pull-1', kind: 'pull', title: 'Downloading', guard: true }, async (job) => {
      job.setFile('/data/a.pslog');
      return { segments: 3 };
    });
    expect(r).toEqual({ segments: 3 });
    expect(jobs.get('pull-1')).toMatchObject({ state: 'done', result: { segments: 3 }, file: '/data/a.pslog', guard: true, error: null });
    expect(seen.map((j) => j.state)).toEqual(['running', 'running', 'done']);
  });

  it('cancel aborts the job body; a cancelled job and a failed one keep the error in plain form', async () => {
    const { jobs } = registry();
    const running = jobs.run({ id: 'flash-1', kind: 'flash', title: 'Flashing' }, (job) => {
      return new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason)));
    });
    expect(jobs.list().map((j) => j.id)).toEqual(['flash-1']);
    expect(jobs.cancel('flash-1')).toBe(true);
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(jobs.get('flash-1')).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    expect(jobs.cancel('flash-1')).toBe(false);
    await expect(
      jobs.run({ id: 'pull-2', kind: 'pull', title: 'x' }, async () => {
        throw new PackscopeError('DISCONNECTED', 'the board went away');
      }),
    ).rejects.toThrow('went away');
    expect(jobs.get('pull-2')).toMatchObject({ state: 'failed', error: { code: 'DISCONNECTED', message: 'the board went away' } });
  });

  it('refuses a second job under a running id, accepts it again once that one ended', async () => {
    const { jobs } = registry();
    const e = jobs.begin({ id: 'r', kind: 'recording', title: 'Recording' });
    expect(() => jobs.begin({ id: 'r', kind: 'recording', title: 'Recording' })).toThrow(/already running/);
    jobs.end('r', 'done', { result: 1 });
    expect(e.view.state).toBe('done');
    expect(jobs.begin({ id: 'r', kind: 'recording', title: 'again' }).view.state).toBe('running');
  });

  it('throttles progress events on its clock and always delivers the last one', async () => {
    const { jobs, clock, seen } = registry();
    jobs.begin({ id: 'p', kind: 'pull', title: 'x' });
    await clock.advance(1000);
    for (let i = 1; i <= 50; i++) jobs.progress('p', { done: i, total: 50, rate: 1, etaSeconds: null });
    const sent = seen.filter((j) => j.progress).length;
    expect(sent).toBe(1);
    await clock.advance(200);
    const last = seen.filter((j) => j.progress).at(-1)!;
    expect(last.progress!.done).toBe(50);
    expect(seen.filter((j) => j.progress).length).toBe(2);
  });

  it('lists running jobs first and keeps only the latest finished ones', async () => {
    const { jobs, clock } = registry();
    for (let i = 0; i < 30; i++) {
      jobs.begin({ id: `x${i}`, kind: 'export', title: 'x' });
      await clock.advance(1);
      jobs.end(`x${i}`, 'done', { result: i });
    }
    jobs.begin({ id: 'live', kind: 'recording', title: 'rec' });
    const list = jobs.list();
    expect(list[0]!.id).toBe('live');
    expect(list.length).toBe(21);
    expect(list[1]!.id).toBe('x29');
  });
});

const device: DeviceInfo = {
  protocol: 'native',
  model: 'PS-16S',
  serial: 'A1',
  boardId: 'ps',
  hardwareRevision: 'B',
  firmwareVersion: '1.0.0',
  bootloaderVersion: '1.0.0',
  cellCount: 2,
  chemistry: 'lfp',
  nominalCapacityAh: 10,
  publicKeyFingerprint: null,
  signsEvidence: false,
};
const frame = (t: number): TelemetryFrame => ({ t, packVoltage: 6.6, current: 0, soc: 50, cellVoltages: [3.3, 3.3], temperatures: [20], status: 0, alarms: 0 });

class MemorySink implements RecordingSink {
  segments: Uint8Array[] = [];
  async append(s: Uint8Array) {
    this.segments.push(s);
  }
  async finish(_d: DeviceInfo, _s: RecordingSummary) {}
  async abort() {}
}

function recordsOf(sink: MemorySink): LogRecord[] {
  const out: LogRecord[] = [];
  for (const bytes of sink.segments) out.push(...segmentRecords(parseSegment(bytes), out.length));
  return out;
}

describe('gaps in desktop recordings', () => {
  it('marks the first record after each gap in the file, announced or found from the frame times', async () => {
    const sink = new MemorySink();
    const r = new TelemetryRecorder(device, sink, { segmentSize: 1024, rateHz: 10 });
    for (let i = 0; i < 20; i++) r.push(frame(10_000 + i * 100));
    r.gap('paused for a black-box download');
    for (let i = 0; i < 20; i++) r.push(frame(20_000 + i * 100));
    // Nobody announced this one: 4 s of silence at 10 Hz is a gap all the same.
    for (let i = 0; i < 20; i++) r.push(frame(26_000 + i * 100));
    const s = await r.stop();
    expect(s.gaps).toEqual([
      { fromMs: 11_900, toMs: 20_000, reason: 'paused for a black-box download' },
      { fromMs: 21_900, toMs: 26_000, reason: 'no telemetry for 4.1 s' },
    ]);
    const records = recordsOf(sink);
    expect(records.length).toBe(60);
    expect(records.filter((x) => x.event === EVENTS.recording_gap).map((x) => x.t)).toEqual([20_000, 26_000]);
    expect(findGaps(records)).toEqual([
      { from: 11_900, to: 20_000, reason: 'no data for 8.1 s (noted by the recording)' },
      { from: 21_900, to: 26_000, reason: 'no data for 4.1 s (noted by the recording)' },
    ]);
  });

  it('findGaps: regular records have none; every marker and every long silence is one, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 2000 }),
        fc.array(fc.record({ after: fc.integer({ min: 3, max: 200 }), kind: fc.constantFrom('marker', 'silence') }), { maxLength: 8 }),
        (step, breaks) => {
          const records: Array<{ t: number; event: number }> = [];
          let t = 0;
          const expected: number[] = [];
          for (let i = 0; i < 50; i++) records.push({ t: (t += step), event: 0 });
          for (const b of breaks) {
            const jump = b.kind === 'silence' ? Math.max(5001, step * 11) : step * 2;
            t += jump;
            records.push({ t, event: b.kind === 'marker' ? EVENTS.recording_gap : 0 });
            expected.push(t);
            for (let i = 0; i < b.after; i++) records.push({ t: (t += step), event: 0 });
          }
          const gaps = findGaps(records);
          expect(gaps.map((g) => g.to)).toEqual(expected);
          for (const g of gaps) expect(g.to! > g.from).toBe(true);
        },
      ),
    );
  });
});

describe('the app speaks in its own words', () => {
  it('names no command-line option where the host names one', () => {
    for (const m of [
      'no device answered on /dev/ttyUSB0 (tried native at 115200); check the cable, the baud rate (--baud) or force a protocol (--protocol)',
      "no serial port at /dev/ttyUSB9 (is the adapter plugged in? try 'packscope ports')",
      '12 verified segments kept in /x.pslog.partial (run again with --resume)',
      "/x.pslog is a partial download; finish it with 'packscope log pull --resume' first",
      "image refused: it carries no board id, the connected board is 'ps' (sign it with --board ps)",
    ]) {
      const words = appWords(m);
      expect(words).not.toMatch(/--[a-z]|packscope [a-z]/);
    }
  });
});

describe('closing the window during a job', () => {
  const job = (kind: JobView['kind'], state: JobView['state'], guard: boolean, title: string): JobView => ({
    id: title,
    kind,
    title,
    state,
    startedAt: 0,
    endedAt: null,
    progress: null,
    file: null,
    guard,
    cancellable: true,
    error: null,
  });

  it('asks only while a guarded job runs, and says what stopping it means', () => {
    expect(closeWarning([])).toBeNull();
    expect(closeWarning([job('flash', 'done', true, 'Flashing a.img'), job('export', 'running', false, 'Exporting x.csv')])).toBeNull();
    const one = closeWarning([job('flash', 'running', true, 'Flashing a.img on PS #1')])!;
    expect(one.message).toBe('Flashing a.img on PS #1 is still running. Close PackScope anyway?');
    expect(one.detail).toContain('the board keeps its current firmware');
    const two = closeWarning([job('pull', 'running', true, 'Downloading'), job('recording', 'running', true, 'Recording')])!;
    expect(two.message).toBe('2 jobs are still running. Close PackScope anyway?');
    expect(two.detail).toMatch(/• Downloading\n• Recording\n.*resume it on the Logs screen.*\n.*file is completed/s);
  });
});
