import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, describe, expect, it } from 'vitest';
import { PackscopeError } from '../../../shared/errors.js';
import { Session } from '../../../electron/host/session.js';
import { SimTransport } from '../../../electron/host/transport/sim.js';
import { DeviceError } from '../../../electron/host/link/errors.js';
import { ERR } from '../../../shared/protocol/constants.js';
import type { TelemetryFrame, TransferProgress } from '../../../shared/types/domain.js';

/** The host link against the simulated board in-process (sim: transport, paced line). */
const open: Session[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function session(path = 'sim:', baud = 921600): Promise<Session> {
  const s = await Session.open(path, { baud });
  open.push(s);
  return s;
}

describe('native link over the in-process simulator', () => {
  it('auto-detects the native protocol and identifies the board', async () => {
    const s = await session('sim:?cells=12&chemistry=nmc&seed=5');
    expect(s.protocol).toBe('native');
    expect(s.detection[0]).toMatchObject({ protocol: 'native', answered: true });
    expect(s.info).toMatchObject({ model: 'PackScope Sim BMS', cellCount: 12, chemistry: 'nmc', boardId: 'PSB-12S-NMC-A', signsEvidence: true });
    expect(s.info!.publicKeyFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('streams telemetry at the requested rate with cells summing to the pack voltage', async () => {
    const s = await session();
    const frames: TelemetryFrame[] = [];
    s.on('telemetry', (f) => frames.push(f));
    await s.startTelemetry(20);
    await new Promise((r) => setTimeout(r, 1000));
    await s.stopTelemetry();
    expect(frames.length).toBeGreaterThanOrEqual(15);
    expect(frames.length).toBeLessThanOrEqual(25);
    for (const f of frames) {
      const sum = f.cellVoltages.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - f.packVoltage) / f.packVoltage).toBeLessThan(0.01);
      expect(f.cellVoltages).toHaveLength(16);
    }
  });

  it('reports a typed device error and parameter round trip', async () => {
    const s = await session();
    const n = s.native!;
    expect(await n.setParam(3, 120)).toBe(120);
    expect(await n.getParam(3)).toBe(120);
    const err = await n.setParam(3, 1e6).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).deviceCode).toBe(ERR.OUT_OF_RANGE);
    expect((err as DeviceError).code).toBe('DEVICE');
  });

  it('bulk-reads a region exactly, with progress, and resumes only from a verified prefix', async () => {
    const s = await session();
    const n = s.native!;
    const regions = await n.listRegions();
    const scratch = regions.find((r) => r.name === 'scratch')!;
    const progress: TransferProgress[] = [];
    const whole = await n.bulkRead({ region: 'scratch', length: 96 * 1024, onProgress: (p) => progress.push(p) });
    expect(whole.data!.length).toBe(96 * 1024);
    expect(sha256(whole.data!)).toEqual(await n.regionHash(scratch.id, 0, 96 * 1024));
    expect(progress[progress.length - 1]!.done).toBe(96 * 1024);
    const resumed = await n.bulkRead({ region: scratch.id, length: 96 * 1024, resumeFrom: whole.data!.slice(0, 40000) });
    expect(resumed.startedAt).toBe(40000);
    expect(resumed.data).toEqual(whole.data);
    const bogus = whole.data!.slice(0, 40000);
    bogus[5] ^= 1;
    const restarted = await n.bulkRead({ region: scratch.id, length: 96 * 1024, resumeFrom: bogus });
    expect(restarted.startedAt).toBe(0);
    expect(restarted.data).toEqual(whole.data);
  });

  it('bulk-writes with compression and resumes from what the board holds', async () => {
    const s = await session();
    const n = s.native!;
    const data = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0x3f);
    const w = await n.bulkWrite({ region: 'scratch', data, compress: true });
    expect(w.committed).toBe(data.length);
    expect(await n.regionHash('scratch', 0, data.length)).toEqual(sha256(data));
    const again = await n.bulkWrite({ region: 'scratch', data, resume: true });
    expect(again.startedAt).toBe(data.length);
    const back = await n.bulkRead({ region: 'scratch', length: data.length, compress: true });
    expect(back.data).toEqual(data);
  });

  it('cancels a bulk read through an AbortSignal', async () => {
    const s = await session('sim:', 115200);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const err = await s.native!.bulkRead({ region: 'scratch', signal: ac.signal }).catch((e) => e);
    expect(err).toBeInstanceOf(PackscopeError);
    expect(err.code).toBe('CANCELLED');
    // the link stays usable
    expect((await s.native!.faults()).status).toBeTypeOf('number');
  });

  it('survives corrupted and dropped bytes with retries, counting errors', async () => {
    const s = await session('sim:?faults=corrupt%3D0.002%2Cdrop%3D0.001&seed=3');
    const data = await s.native!.bulkRead({ region: 'scratch', length: 32 * 1024 });
    expect(sha256(data.data!)).toEqual(await s.native!.regionHash('scratch', 0, 32 * 1024));
    const st = s.stats();
    expect(st.crcErrors + st.decodeErrors).toBeGreaterThan(0);
  });

  it('reports a disconnect as an event', async () => {
    const s = await session();
    const got = new Promise<string>((r) => s.on('disconnect', r));
    const sim = (s.transport as SimTransport).running!;
    sim.link.disconnect('test unplug');
    expect(await got).toMatch(/unplug/);
    await expect(s.native!.faults()).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('goes stale when frames stop', async () => {
    const s = await session();
    await s.startTelemetry(20);
    const stale = new Promise<number>((r) => s.on('stale', r));
    // Stop the stream behind the session's back, as a hung board would.
    await s.native!.link.request(0x0004);
    expect(await stale).toBeGreaterThan(1000);
  });
});

describe('exactly-once execution of retried requests', () => {
  it('answers a repeated sequence number from the replay cache without executing again', async () => {
    const { runSim } = await import('../../../firmware/sim/run.js');
    const { encodeFrame, FrameDecoder } = await import('../../../shared/protocol/frame.js');
    const { CMD, MSG } = await import('../../../shared/protocol/constants.js');
    const { RESET } = await import('../../../shared/protocol/messages.js');
    const sim = await runSim({ subsystems: false });
    try {
      const answers: number[] = [];
      const dec = new FrameDecoder((f) => f.type === MSG.RESPONSE && answers.push(f.seq));
      sim.host!.onData((d) => dec.push(d));
      const boots = sim.board.bootCount;
      const req = encodeFrame({ type: MSG.REQUEST, seq: 77, cmd: CMD.RESET, payload: RESET.encode({ mode: 'application' }) });
      sim.host!.write(req);
      await new Promise((r) => setTimeout(r, 150));
      sim.host!.write(req);
      await new Promise((r) => setTimeout(r, 150));
      expect(answers).toEqual([77, 77]);
      expect(sim.board.bootCount).toBe(boots + 1);
    } finally {
      await sim.stop();
    }
  });
});

describe('bulk write on a noisy line', () => {
  it('shrinks its chunks until they get through and the board holds exactly the data', async () => {
    const s = await Session.open('sim:?faults=corrupt%3D0.0005&seed=3', { baud: 921600 });
    open.push(s);
    const data = new Uint8Array(32 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const r = await s.native!.bulkWrite({ region: 'scratch', data });
    expect(r.committed).toBe(data.length);
    expect(r.retransmissions).toBeGreaterThan(0);
    expect(await s.native!.regionHash('scratch', 0, data.length)).toEqual(sha256(data));
  });
});

describe('bulk read with a streaming consumer', () => {
  it('hands chunks over in order through onData and resumes after a verified prefix', async () => {
    const s = await session();
    const n = s.native!;
    const parts: Array<[number, number]> = [];
    const chunks: Uint8Array[] = [];
    const r = await n.bulkRead({
      region: 'scratch',
      offset: 1000,
      length: 50_000,
      chunkSize: 1024,
      onData: async (off, data) => {
        await new Promise((res) => setTimeout(res, 1)); // a slow consumer (disk) must not reorder
        parts.push([off, data.length]);
        chunks.push(data.slice());
      },
    });
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
    expect(sha256(all)).toEqual(await n.regionHash('scratch', 1000, 50_000));
  });
});
