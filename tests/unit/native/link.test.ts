import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PackscopeError } from '../../../shared/errors.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { Session } from '../../../electron/host/session.js';
import { SimTransport } from '../../../electron/host/transport/sim.js';
import { DeviceError } from '../../../electron/host/link/errors.js';
import { ERR } from '../../../shared/protocol/constants.js';
import type { TelemetryFrame, TransferProgress } from '../../../shared/types/domain.js';

/**
 * The host link against the simulated board in-process (sim: transport, paced line), host and
 * board on one virtual clock: line time, timeouts and retries pass without waiting, and every
 * count and duration below is exact.
 */
let clock: VirtualClock;
const open: Session[] = [];
beforeEach(() => {
  clock = new VirtualClock();
});
afterEach(async () => {
  await clock.run(Promise.all(open.splice(0).map((s) => s.close())));
});

async function session(path = 'sim:', baud = 921600): Promise<Session> {
  const s = await clock.run(Session.open(path, { baud, clock }));
  open.push(s);
  return s;
}

describe('native link over the in-process simulator', () => {
  it('auto-detects the native protocol and identifies the board', async () => {
    const s = await session('sim:?cells=12&chemistry=nmc&seed=5');
    expect(s.protocol).toBe('native');
    expect(s.clock).toBe(clock);
    expect(s.detection[0]).toMatchObject({ protocol: 'native', answered: true });
    expect(s.info).toMatchObject({ model: 'PackScope Sim BMS', cellCount: 12, chemistry: 'nmc', boardId: 'PSB-12S-NMC-A', signsEvidence: true });
    expect(s.info!.publicKeyFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('streams telemetry at the requested rate with cells summing to the pack voltage', async () => {
    const s = await session();
    const frames: TelemetryFrame[] = [];
    const arrivals: number[] = [];
    s.on('telemetry', (f) => {
      frames.push(f);
      arrivals.push(clock.now());
    });
    await clock.run(s.startTelemetry(20));
    await clock.advance(1100);
    await clock.run(s.stopTelemetry());
    // 20 Hz: in the second after the first frame arrived, exactly 20 frames, 50 ms apart on the
    // host's clock (give or take the line's pacing tick) and exactly 50 ms apart on the board's.
    expect(arrivals.filter((t) => t < arrivals[0]! + 1000)).toHaveLength(20);
    for (let i = 1; i < frames.length; i++) {
      expect(Math.abs(arrivals[i]! - arrivals[i - 1]! - 50)).toBeLessThanOrEqual(1);
      expect(frames[i]!.t - frames[i - 1]!.t).toBe(50);
    }
    for (const f of frames) {
      const sum = f.cellVoltages.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - f.packVoltage) / f.packVoltage).toBeLessThan(0.01);
      expect(f.cellVoltages).toHaveLength(16);
    }
  });

  it('reports a typed device error and parameter round trip', async () => {
    const s = await session();
    const n = s.native!;
    expect(await clock.run(n.setParam(3, 120))).toBe(120);
    expect(await clock.run(n.getParam(3))).toBe(120);
    const err = await clock.run(n.setParam(3, 1e6)).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).deviceCode).toBe(ERR.OUT_OF_RANGE);
    expect((err as DeviceError).code).toBe('DEVICE');
  });

  it('bulk-reads a region exactly, with progress, and resumes only from a verified prefix', async () => {
    const s = await session();
    const n = s.native!;
    const regions = await clock.run(n.listRegions());
    const scratch = regions.find((r) => r.name === 'scratch')!;
    const progress: TransferProgress[] = [];
    const whole = await clock.run(n.bulkRead({ region: 'scratch', length: 96 * 1024, onProgress: (p) => progress.push(p) }));
    expect(whole.data!.length).toBe(96 * 1024);
    expect(sha256(whole.data!)).toEqual(await clock.run(n.regionHash(scratch.id, 0, 96 * 1024)));
    expect(progress[progress.length - 1]!.done).toBe(96 * 1024);
    // The line carries 92 160 bytes/s at 921 600 baud: 96 KiB cannot take less than 1.07 s.
    expect(whole.seconds).toBeGreaterThan((96 * 1024) / 92_160);
    const resumed = await clock.run(n.bulkRead({ region: scratch.id, length: 96 * 1024, resumeFrom: whole.data!.slice(0, 40000) }));
    expect(resumed.startedAt).toBe(40000);
    expect(resumed.data).toEqual(whole.data);
    const bogus = whole.data!.slice(0, 40000);
    bogus[5] ^= 1;
    const restarted = await clock.run(n.bulkRead({ region: scratch.id, length: 96 * 1024, resumeFrom: bogus }));
    expect(restarted.startedAt).toBe(0);
    expect(restarted.data).toEqual(whole.data);
  });

  it('bulk-writes with compression and resumes from what the board holds', async () => {
    const s = await session();
    const n = s.native!;
    const data = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0x3f);
    const w = await clock.run(n.bulkWrite({ region: 'scratch', data, compress: true }));
    expect(w.committed).toBe(data.length);
    expect(await clock.run(n.regionHash('scratch', 0, data.length))).toEqual(sha256(data));
    const again = await clock.run(n.bulkWrite({ region: 'scratch', data, resume: true }));
    expect(again.startedAt).toBe(data.length);
    const back = await clock.run(n.bulkRead({ region: 'scratch', length: data.length, compress: true }));
    expect(back.data).toEqual(data);
  });

  it('cancels a bulk read through an AbortSignal', async () => {
    const s = await session('sim:', 115200);
    const ac = new AbortController();
    const t0 = clock.now();
    clock.after(300, () => ac.abort());
    const err = await clock.run(s.native!.bulkRead({ region: 'scratch', signal: ac.signal })).catch((e) => e);
    expect(err).toBeInstanceOf(PackscopeError);
    expect(err.code).toBe('CANCELLED');
    // The 1 MiB region needs 90 s at 115 200 baud: the read ended at the abort, once the close
    // got through behind the chunks already queued on the line (under a second of line time).
    expect(clock.now() - t0).toBeGreaterThanOrEqual(300);
    expect(clock.now() - t0).toBeLessThan(300 + 1000);
    // the link stays usable
    expect((await clock.run(s.native!.faults())).status).toBeTypeOf('number');
  });

  it('survives corrupted and dropped bytes with retries, counting errors', async () => {
    const s = await session('sim:?faults=corrupt%3D0.002%2Cdrop%3D0.001&seed=3');
    const data = await clock.run(s.native!.bulkRead({ region: 'scratch', length: 32 * 1024 }));
    expect(sha256(data.data!)).toEqual(await clock.run(s.native!.regionHash('scratch', 0, 32 * 1024)));
    const st = s.stats();
    expect(st.crcErrors + st.decodeErrors).toBeGreaterThan(0);
  });

  it('reports a disconnect as an event', async () => {
    const s = await session();
    const got = new Promise<string>((r) => s.on('disconnect', r));
    const sim = (s.transport as SimTransport).running!;
    sim.link.disconnect('test unplug');
    expect(await clock.run(got)).toMatch(/unplug/);
    await expect(clock.run(s.native!.faults())).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('goes stale when frames stop', async () => {
    const s = await session();
    let lastFrameAt = 0;
    s.on('telemetry', () => (lastFrameAt = clock.now()));
    await clock.run(s.startTelemetry(20));
    const stale = new Promise<{ silence: number; at: number }>((r) => s.on('stale', (silence) => r({ silence, at: clock.now() })));
    // Stop the stream behind the session's back, as a hung board would.
    await clock.run(s.native!.link.request(0x0004));
    const { silence, at } = await clock.run(stale);
    // Stale past 1 s of silence, seen by the 100 ms check that follows it.
    expect(silence).toBeGreaterThan(1000);
    expect(silence).toBeLessThanOrEqual(1100);
    expect(at - lastFrameAt).toBe(silence);
  });
});

describe('exactly-once execution of retried requests', () => {
  it('answers a repeated sequence number from the replay cache without executing again', async () => {
    const { runSim } = await import('../../../firmware/sim/run.js');
    const { encodeFrame, FrameDecoder } = await import('../../../shared/protocol/frame.js');
    const { CMD, MSG } = await import('../../../shared/protocol/constants.js');
    const { RESET } = await import('../../../shared/protocol/messages.js');
    const clock = new VirtualClock();
    const sim = await runSim({ subsystems: false, clock });
    try {
      const answers: number[] = [];
      const dec = new FrameDecoder((f) => f.type === MSG.RESPONSE && answers.push(f.seq));
      sim.host!.onData((d) => dec.push(d));
      const boots = sim.board.bootCount;
      const req = encodeFrame({ type: MSG.REQUEST, seq: 77, cmd: CMD.RESET, payload: RESET.encode({ mode: 'application' }) });
      sim.host!.write(req);
      await clock.advance(150);
      sim.host!.write(req);
      await clock.advance(150);
      expect(answers).toEqual([77, 77]);
      expect(sim.board.bootCount).toBe(boots + 1);
    } finally {
      await clock.run(sim.stop());
    }
  });
});

describe('bulk write on a noisy line', () => {
  it('shrinks its chunks until they get through and the board holds exactly the data', async () => {
    const s = await session('sim:?faults=corrupt%3D0.0005&seed=3');
    const data = new Uint8Array(32 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const r = await clock.run(s.native!.bulkWrite({ region: 'scratch', data }));
    expect(r.committed).toBe(data.length);
    expect(r.retransmissions).toBeGreaterThan(0);
    expect(await clock.run(s.native!.regionHash('scratch', 0, data.length))).toEqual(sha256(data));
  });
});

describe('bulk read with a streaming consumer', () => {
  it('hands chunks over in order through onData and resumes after a verified prefix', async () => {
    const s = await session();
    const n = s.native!;
    const parts: Array<[number, number]> = [];
    const chunks: Uint8Array[] = [];
    const r = await clock.run(
      n.bulkRead({
        region: 'scratch',
        offset: 1000,
        length: 50_000,
        chunkSize: 1024,
        onData: async (off, data) => {
          await clock.sleep(1); // a slow consumer (disk) must not reorder
          parts.push([off, data.length]);
          chunks.push(data.slice());
        },
      }),
    );
    expect(r.data).toBeNull();
    let expectOff = 1000;
    for (const [off, len] of parts) {
      expect(off).toBe(expectOff);
      expectOff += len;
    }
    expect(expectOff).toBe(51_000);
    const all = new Uint8Array(50_000);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    expect(sha256(all)).toEqual(await clock.run(n.regionHash('scratch', 1000, 50_000)));
  });
});
