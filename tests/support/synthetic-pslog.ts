/**
 * Writes real .pslog files of any length for tests and benchmarks: records in the black box's own
 * segment format (the desktop recorder's unsigned segments), in the .pslog container, from a
 * deterministic generator — so a log of millions of records is made in seconds, with the spikes,
 * gaps and events a test looks for at known places.
 */
import { DesktopSegmentBuilder } from '../../electron/host/recorder/desktop-segments.js';
import { PslogRecordingSink } from '../../electron/host/recorder/pslog-sink.js';
import { STATUS_FLAGS, type DeviceInfo, type TelemetryFrame } from '../../shared/types/domain.js';

const CHARGER = 1 << STATUS_FLAGS.indexOf('charger_connected');

export interface SyntheticLog {
  records: number;
  cells?: number;
  temps?: number;
  stepMs?: number;
  start?: number;
  /** Records [at, at + length) carry this current (A). */
  spike?: { at: number; length: number; current: number };
  /** Before record `at` the clock jumps by `ms` (a quiet link). */
  gap?: { at: number; ms: number };
  /** The charger comes or goes every this many records (an event each time; default 50 000). */
  eventEvery?: number;
  /** Value overrides per record (tests that need random data). */
  frame?: (i: number, f: TelemetryFrame) => void;
}

export const SYNTHETIC_DEVICE: DeviceInfo = {
  protocol: 'jk',
  model: 'Synthetic 16S',
  serial: 'SYN-0001',
  boardId: 'syn',
  hardwareRevision: '1',
  firmwareVersion: '1.0.0',
  bootloaderVersion: '1.0.0',
  cellCount: 16,
  chemistry: 'lfp',
  nominalCapacityAh: 100,
  publicKeyFingerprint: null,
  signsEvidence: false,
};

/** Writes FILE.pslog (complete) and returns the time of every record's start and the end. */
export async function writeSyntheticPslog(file: string, o: SyntheticLog): Promise<{ t0: number; t1: number }> {
  const cells = o.cells ?? 16;
  const temps = o.temps ?? 2;
  const step = o.stepMs ?? 1000;
  const start = o.start ?? Date.UTC(2026, 0, 5, 8, 0, 0);
  const sink = await PslogRecordingSink.create(
    file,
    { ...SYNTHETIC_DEVICE, cellCount: cells },
    { segmentSize: 4096, rateHz: 1000 / step, tool: 'packscope-tests', overwrite: true },
  );
  const builder = new DesktopSegmentBuilder({ serial: SYNTHETIC_DEVICE.serial, protocol: 'jk' });
  const f: TelemetryFrame = {
    t: start,
    packVoltage: 0,
    current: 0,
    soc: 0,
    cellVoltages: new Array(cells).fill(0),
    temperatures: new Array(temps).fill(0),
    status: 0,
    alarms: 0,
  };
  let t = start;
  let pending: Uint8Array[] = [];
  for (let i = 0; i < o.records; i++) {
    if (o.gap && i === o.gap.at) t += o.gap.ms;
    f.t = t;
    const phase = Math.sin(i / 3000);
    f.current = Math.round(20 * Math.cos(i / 3000) * 1000) / 1000;
    if (o.spike && i >= o.spike.at && i < o.spike.at + o.spike.length) f.current = o.spike.current;
    for (let c = 0; c < cells; c++) f.cellVoltages[c] = Math.round((3.3 + 0.1 * phase + (c === 5 ? -0.02 : 0.001 * (c % 3))) * 1000) / 1000;
    for (let k = 0; k < temps; k++) f.temperatures[k] = Math.round(25 + 3 * phase + k);
    f.packVoltage = Math.round(f.cellVoltages.reduce((a, b) => a + b, 0) * 1000) / 1000;
    f.soc = Math.round((50 + 40 * phase) * 100) / 100;
    // The charger comes and goes: the log has events to list.
    f.status = Math.floor(i / (o.eventEvery ?? 50_000)) % 2 ? CHARGER : 0;
    o.frame?.(i, f);
    for (const s of builder.add({ ...f })) pending.push(s);
    // One write per 256 segments (1 MiB): a write per 4 KiB segment made the file system, not the
    // generator, the cost on a busy machine.
    if (pending.length >= 256) {
      await sink.appendMany(pending);
      pending = [];
    }
    t += step;
  }
  pending.push(...builder.finish());
  await sink.appendMany(pending);
  await sink.finish(SYNTHETIC_DEVICE, { records: o.records } as never);
  return { t0: start, t1: t };
}
