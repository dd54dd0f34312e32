import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DesktopSegmentBuilder, eventFor, UNSIGNED_SIGNATURE } from '../../../electron/host/recorder/desktop-segments.js';
import { TelemetryRecorder, type RecordingSink, type RecordingSummary } from '../../../electron/host/recorder/recorder.js';
import { decodeSegments } from '../../../shared/blackbox/decoder.js';
import { EVENTS, alarmRaisedEvent } from '../../../shared/blackbox/events.js';
import { decodeDeviceEvidence, DEVICE_FILES } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { evaluate } from '../../../shared/warranty/engine.js';
import { segmentDigest, segmentRecords } from '../../../shared/blackbox/segment.js';
import { concatBytes, utf8Encode } from '../../../shared/util/bytes.js';
import { flagBit, STATUS_FLAGS, type DeviceInfo, type TelemetryFrame } from '../../../shared/types/domain.js';

const device: DeviceInfo = {
  protocol: 'jbd',
  model: 'JBD-SP04S034-L4S-200A-B-U',
  serial: '',
  boardId: 'jbd',
  hardwareRevision: 'JBD-SP04S034-L4S-200A-B-U',
  firmwareVersion: '8.0',
  bootloaderVersion: '',
  cellCount: 4,
  chemistry: 'unknown',
  nominalCapacityAh: 5,
  publicKeyFingerprint: null,
  signsEvidence: false,
};

const frameArb = (cells: number, temps: number) =>
  fc.record({
    packVoltage: fc.integer({ min: 0, max: 100_000 }).map((v) => v / 1000),
    current: fc.integer({ min: -300_000, max: 300_000 }).map((v) => v / 1000),
    soc: fc.integer({ min: 0, max: 10_000 }).map((v) => v / 100),
    cellVoltages: fc.array(
      fc.integer({ min: 0, max: 5000 }).map((v) => v / 1000),
      { minLength: cells, maxLength: cells },
    ),
    temperatures: fc.array(
      fc.integer({ min: -400, max: 1200 }).map((v) => v / 10),
      { minLength: temps, maxLength: temps },
    ),
    status: fc.integer({ min: 0, max: 0xff }),
    alarms: fc.integer({ min: 0, max: 0xffff }),
  });

function withTimes(frames: Omit<TelemetryFrame, 't'>[], t0: number, stepMs: number): TelemetryFrame[] {
  return frames.map((f, i) => ({ ...f, t: t0 + i * stepMs }));
}

function identityJson(d: DeviceInfo) {
  return utf8Encode(
    JSON.stringify({
      model: d.model,
      serial: d.serial,
      boardId: d.boardId,
      hardwareRevision: d.hardwareRevision,
      firmwareVersion: d.firmwareVersion,
      bootloaderVersion: d.bootloaderVersion,
      cellCount: d.cellCount,
      chemistry: d.chemistry,
      nominalCapacityAh: d.nominalCapacityAh,
      pulledAt: new Date(0).toISOString(),
    }),
  );
}

describe('desktop recordings in the black-box segment format', () => {
  it('every frame comes back from the shared decoder within the record resolution; segments chain; nothing is signed', () => {
    fc.assert(
      fc.property(fc.array(frameArb(4, 3), { minLength: 1, maxLength: 200 }), fc.integer({ min: 100, max: 60_000 }), (raw, step) => {
        const frames = withTimes(raw, 1_760_000_000_000, step);
        const b = new DesktopSegmentBuilder({ serial: 'X1', protocol: 'jbd', segmentSize: 1024 });
        const segs: Uint8Array[] = [];
        for (const f of frames) segs.push(...b.add(f));
        segs.push(...b.finish());
        const items = decodeSegments(concatBytes(...segs));
        expect(items.every((i) => i.kind === 'segment')).toBe(true);
        let prev: Uint8Array = new Uint8Array(32);
        let k = 0;
        for (const item of items) {
          if (item.kind !== 'segment') continue;
          const s = item.segment;
          for (const r of segmentRecords(s, k)) {
            const f = frames[r.index]!;
            expect(r.t).toBe(f.t);
            expect(Math.abs(r.packVoltage - f.packVoltage)).toBeLessThan(0.0006);
            expect(Math.abs(r.current - f.current)).toBeLessThan(0.0006);
            expect(Math.abs(r.soc - f.soc)).toBeLessThan(0.006);
            r.cellVoltages.forEach((v, i) => expect(Math.abs(v - f.cellVoltages[i]!)).toBeLessThan(0.0006));
            r.temperatures.forEach((v, i) => expect(Math.abs(v - f.temperatures[i]!)).toBeLessThan(0.06));
            expect([r.status, r.alarms]).toEqual([f.status, f.alarms]);
          }
          expect(s.header.prevHash).toEqual(prev);
          expect(s.trailer!.signature).toEqual(UNSIGNED_SIGNATURE);
          expect(s.trailer!.sha256).toEqual(segmentDigest(s.bytes));
          prev = s.trailer!.sha256;
          k += s.recordCount;
        }
        expect(k).toBe(frames.length);
      }),
      { numRuns: 50 },
    );
  });

  it('the evidence decoder accepts it as a desktop recording, and the evaluation says the evidence is weaker', () => {
    const frames = withTimes(
      Array.from({ length: 500 }, (_, i) => ({
        packVoltage: 15.6 - i * 0.001,
        current: -2.5,
        soc: 90 - i * 0.01,
        cellVoltages: [3.9, 3.901, 3.902, 3.9 - i * 0.0001],
        temperatures: [22.4, 22.3, 21.7],
        status: flagBit(STATUS_FLAGS, 'discharging') | flagBit(STATUS_FLAGS, 'discharge_fet_on'),
        alarms: 0,
      })),
      Date.parse('2026-03-01T10:00:00Z'),
      1000,
    );
    const b = new DesktopSegmentBuilder({ serial: device.serial, protocol: 'jbd' });
    const segs = frames.flatMap((f) => b.add(f));
    segs.push(...b.finish());
    const files = new Map([
      [DEVICE_FILES.identity, identityJson(device)],
      [DEVICE_FILES.segments, concatBytes(...segs)],
    ]);
    const ev = decodeDeviceEvidence(files, { rootPublicKeyPem: null });
    expect(ev.source).toBe('desktop');
    expect(ev.signature).toBe('unsigned');
    expect(ev.gaps).toEqual([]);
    expect(ev.records).toHaveLength(500);
    expect(ev.records[10]!.cellVoltages[3]).toBeCloseTo(3.899, 3);
    expect(ev.records[10]!.t).toBe(frames[10]!.t);
    expect(ev.device.temperatureLabels).toEqual(['ntc1', 'ntc2', 'ntc3']);
    const evaluation = evaluate({
      records: ev.records,
      policy: DEFAULT_POLICY,
      claim: {
        customer: 'A',
        contact: 'a@example.com',
        model: 'X',
        serial: 'Y',
        purchaseDate: '2026-01-01',
        description: 'dead',
        remedy: 'repair',
        failureDate: '2026-03-02',
      },
      facts: { source: ev.source, signature: ev.signature, gaps: ev.gaps, deviceSerial: null, reportedAt: Date.parse('2026-03-02T00:00:00Z') },
      nominalCapacityAh: 5,
    });
    expect(evaluation.missing.map((m) => m.code)).toContain('unsigned-data');
    expect(evaluation.verdict).not.toBe('covered');
  });

  it('status and alarm changes become the black box events', () => {
    const base: TelemetryFrame = { t: 0, packVoltage: 1, current: 0, soc: 1, cellVoltages: [], temperatures: [], status: 0, alarms: 0 };
    expect(eventFor(null, base)).toBe(0);
    expect(eventFor(base, { ...base, status: flagBit(STATUS_FLAGS, 'charger_connected') })).toBe(EVENTS.charger_connected);
    expect(eventFor({ ...base, status: flagBit(STATUS_FLAGS, 'balancing') }, base)).toBe(EVENTS.balancing_stopped);
    expect(eventFor(base, { ...base, alarms: 1 << 5 })).toBe(alarmRaisedEvent(5));
  });
});

describe('TelemetryRecorder', () => {
  class MemorySink implements RecordingSink {
    segments: Uint8Array[] = [];
    finished: RecordingSummary | null = null;
    aborted = false;
    failAfter = Infinity;
    async append(s: Uint8Array) {
      if (this.segments.length >= this.failAfter) throw new Error('disk full');
      this.segments.push(s);
    }
    async finish(_d: DeviceInfo, s: RecordingSummary) {
      this.finished = s;
    }
    async abort() {
      this.aborted = true;
    }
  }
  const frame = (t: number): TelemetryFrame => ({
    t,
    packVoltage: 13.2,
    current: 1,
    soc: 50,
    cellVoltages: [3.3, 3.3, 3.3, 3.3],
    temperatures: [20, 21, 22],
    status: 0,
    alarms: 0,
  });

  it('keeps stale periods and the disconnect as gaps and writes every frame', async () => {
    const sink = new MemorySink();
    const r = new TelemetryRecorder(device, sink, { segmentSize: 1024 });
    for (let i = 0; i < 30; i++) r.push(frame(1000 + i * 500));
    r.gap('no telemetry for 1.1 s');
    r.gap('no telemetry for 2.0 s'); // still the same gap
    r.push(frame(30_000));
    r.disconnected('cable pulled');
    const s = await r.stop();
    expect(s).toMatchObject({ records: 31, firstMs: 1000, lastMs: 30_000, ended: 'disconnected' });
    expect(s.gaps).toEqual([
      { fromMs: 1000 + 29 * 500, toMs: 30_000, reason: 'no telemetry for 1.1 s' },
      { fromMs: 30_000, toMs: null, reason: 'device disconnected: cable pulled' },
    ]);
    expect(sink.finished).toEqual(s);
    const n = decodeSegments(concatBytes(...sink.segments)).reduce((a, i) => a + (i.kind === 'segment' ? i.segment.recordCount : 0), 0);
    expect(n).toBe(31);
  });

  it('a write error aborts the file and surfaces from stop()', async () => {
    const sink = new MemorySink();
    sink.failAfter = 1;
    const r = new TelemetryRecorder(device, sink, { segmentSize: 512 });
    for (let i = 0; i < 60; i++) r.push(frame(i * 100));
    await expect(r.stop()).rejects.toThrow('disk full');
    expect(sink.aborted).toBe(true);
    expect(sink.finished).toBeNull();
  });
});
