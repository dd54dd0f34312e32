/**
 * Black-box benchmark: log pull through a real pseudo-terminal as a ratio of the line rate (payload
 * bytes/s ÷ (baud/10)) at 115200 and 921600 baud, at 921600 also over a faulty line (0.2 %
 * corrupted + 0.1 % dropped bytes, with and without compression, and 1 % corrupted: the chunk size
 * follows the error rate), each next to the ceiling whole-frame retransmission allows at that error
 * rate, all in the same run; the unpaced pull rate, decode and CSV export
 * throughput of a .pslog, and peak RSS while decoding a 1 GiB log (memory must stay flat).
 * Run: npm run bench -- blackbox
 * Sizes (MiB) can be changed with BLACKBOX_BENCH_MIB_921600, BLACKBOX_BENCH_MIB_115200 (default 0.5:
 * 4 MiB at 115200 baud alone takes six minutes of wire time), BLACKBOX_BENCH_MIB_NOISY (default 1),
 * BLACKBOX_BENCH_MIB_1PCT (default 0.5), BLACKBOX_BENCH_DECODE_GIB.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../../shared/util/bytes.js';
import { crc32 } from '../../shared/protocol/crc32.js';
import { rd16 } from '../../shared/util/le.js';
import { runSim } from '../../firmware/sim/run.js';
import { nodeKeyFromSecret, signMessage } from '../../firmware/sim/blackbox/signing-keys.js';
import { Session } from '../../electron/host/session.js';
import { pullLog } from '../../electron/host/blackbox/pull.js';
import { bestChunk, goodput } from '../../electron/host/link/chunk-controller.js';
import { openPslog, PslogWriter, type PslogMeta } from '../../electron/host/blackbox/pslog.js';
import { exportLog } from '../../electron/host/blackbox/export.js';
import type { ParsedSegment } from '../../shared/blackbox/segment.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(path.join(tmpdir(), 'psbb-bench-'));
const MIB = 1 << 20;
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const HOURS_PER_MIB = 1 / (((4096 / 1024 / 1024) * 3600) / 60); // ~60 records (s) per 4 KiB segment

interface Row {
  case: string;
  bytes: number;
  seconds: number;
  rate: number;
  ratio: number | null;
  note: string;
}
const rows: Row[] = [];
const r3 = (x: number) => Math.round(x * 1000) / 1000;

interface PullCase {
  name: string;
  baud: number;
  mib: number;
  unpaced?: boolean;
  /** `--faults` spec of the simulated line (both directions). */
  faults?: string;
  /** False: log pull --no-compress (the default deflates each chunk against the records before it). */
  compress?: boolean;
}

/** Fraction of each byte's chances lost to the faults: the line's hazard per byte. */
function hazardOf(faults: string): number {
  const f = Object.fromEntries(faults.split(',').map((kv) => kv.split('=') as [string, string]));
  return -Math.log((1 - Number(f.corrupt ?? 0)) * (1 - Number(f.drop ?? 0)));
}

async function pullCase(c: PullCase): Promise<string> {
  const { name, baud, mib, unpaced = false, faults, compress = true } = c;
  const state = path.join(work, name);
  const sim = await runSim({ pty: true, baud, unpaced, seed: 1, stateDir: state, prefillHours: mib * HOURS_PER_MIB, ...(faults ? { faults } : {}) });
  const session = await Session.open(sim.path!, { protocol: 'native', baud });
  const out = path.join(state, 'log.pslog');
  try {
    const r = await pullLog(session.native!.link, { out, identity: session.info, compress });
    if (!r.signaturesOk) throw new Error(`pull did not verify: ${r.issues.map((i) => i.message).join('; ')}`);
    const line = baud / 10;
    const label = unpaced ? 'unpaced' : `${baud} baud${faults ? `, faults ${faults}` : ', clean'}${compress ? '' : ', --no-compress'}`;
    // What whole-frame retransmission allows at this error rate: frames of the best size, each
    // lost one sent again (chunk-controller.ts); the measured ratio is judged against it.
    const lambda = faults ? hazardOf(faults) : 0;
    const ceiling = faults
      ? `; ceiling for uncompressed frames at this error rate ${r3(goodput(bestChunk(lambda), lambda))} (chunks of ${bestChunk(lambda)} B)`
      : '';
    rows.push({
      case: `pull ${label} (pty)`,
      bytes: r.bytesRead,
      seconds: r3(r.seconds),
      rate: Math.round(r.payloadRate),
      ratio: unpaced ? null : r3(r.payloadRate / line),
      note: `${r.segments} segments, ${r.records} records, verified${compress ? `; ${r3(r.wireRatio)} of the log's bytes on the wire` : ''}; ${r.retransmissions} retransmissions; chunk sizes ${summary(r.chunkSizes)}${unpaced ? '' : `; line ${line} B/s`}${ceiling}`,
    });
  } finally {
    await session.close();
    await sim.stop();
  }
  return out;
}

/** The chunk sizes a pull went through: all of them when few, else the first, the range and the last. */
function summary(sizes: number[]): string {
  if (sizes.length <= 6) return sizes.join(' → ');
  return `${sizes[0]} → … → ${sizes.at(-1)} (${sizes.length} sizes, ${Math.min(...sizes)}–${Math.max(...sizes)})`;
}

/**
 * Writes a big .pslog by replicating a template segment into a valid chain: each copy gets the
 * next counter, a later RTC and the previous copy's hash, then a fresh hash and device signature.
 */
async function makeBigLog(templateLog: string, file: string, bytes: number): Promise<void> {
  const reader = await openPslog(templateLog);
  let template: ParsedSegment | null = null;
  for await (const it of reader.segments(1)) {
    if ('segment' in it) {
      template = it.segment;
      break;
    }
  }
  const meta = reader.meta;
  await reader.close();
  if (!template) throw new Error('template log has no segment');
  const stateDir = path.dirname(templateLog);
  const { readJson } = await import('../../firmware/sim/state.js');
  const { openStorage } = await import('../../firmware/sim/state.js');
  const secret = readJson<{ secretKey: string }>(openStorage(stateDir), 'device-key.json')!.secretKey;
  const key: KeyObject = nodeKeyFromSecret(fromHex(secret));
  const size = template.bytes.length;
  const headerLen = template.header.headerLen;
  const count = Math.floor(bytes / size);
  const writer = await PslogWriter.create(file, { ...(meta as PslogMeta), nonce: undefined } as PslogMeta, size);
  let prev = new Uint8Array(template.header.prevHash);
  let rtc = template.header.rtcMs;
  const span = 60_000;
  let batch: ParsedSegment[] = [];
  for (let i = 0; i < count; i++) {
    const seg = template.bytes.slice();
    const v = new DataView(seg.buffer);
    v.setUint32(12, 1000 + i, true);
    v.setUint32(20, rtc % 4294967296, true);
    v.setUint32(24, Math.floor(rtc / 4294967296), true);
    seg.set(prev, 36);
    v.setUint32(headerLen - 4, crc32(seg.subarray(0, headerLen - 4)), true);
    const message = seg.subarray(0, size - 96);
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    seg.set(digest, size - 96);
    seg.set(signMessage(key, message), size - 64);
    prev = digest;
    rtc += span;
    batch.push({
      bytes: seg,
      header: { counter: 1000 + i, rtcMs: rtc - span },
      recordCount: rd16(seg, size - 100),
      trailer: { flags: 1 },
    } as unknown as ParsedSegment);
    if (batch.length === 256) {
      await writer.appendMany(batch);
      batch = [];
    }
  }
  if (batch.length) await writer.appendMany(batch);
  await writer.finish(null);
}

async function decodeCase(file: string, label: string): Promise<void> {
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const bytes = statSync(file).size;
  const reader = await openPslog(file);
  const t0 = performance.now();
  let records = 0;
  let sum = 0;
  let batches = 0;
  for await (const batch of reader.recordBatches()) {
    records += batch.length;
    for (const r of batch) sum += r.packVoltage + r.cellVoltages[0]!;
    if ((++batches & 0x3ff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - t0) / 1000;
  await reader.close();
  peak = Math.max(peak, process.memoryUsage().rss);
  globalThis.gc?.();
  const r2 = await openPslog(file);
  const t1 = performance.now();
  let viewSum = 0;
  const n2 = await r2.forEachRecord((v) => {
    viewSum += v.packVoltage + v.cellVoltages[0]!;
  });
  const s2 = (performance.now() - t1) / 1000;
  await r2.close();
  peak = Math.max(peak, process.memoryUsage().rss);
  rows.push({
    case: `decode ${label} (reused view)`,
    bytes,
    seconds: r3(s2),
    rate: Math.round(bytes / s2),
    ratio: r3(bytes / s2 / 200e6),
    note: `${n2} records, no allocation per record; ratio to the 200 MB/s target${Math.abs(viewSum - sum) < 1e-3 * Math.abs(sum) ? '; same values as the object path' : '; VALUES DIFFER'}`,
  });
  rows.push({
    case: `decode ${label} (LogRecord objects)`,
    bytes,
    seconds: r3(seconds),
    rate: Math.round(bytes / seconds),
    ratio: r3(bytes / seconds / 200e6),
    note: `${records} records; ratio to the 200 MB/s target; peak RSS ${(peak / MIB).toFixed(0)} MiB (+${((peak - rssBefore) / MIB).toFixed(0)} MiB over ${(rssBefore / MIB).toFixed(0)} MiB)${sum ? '' : ' '}`,
  });
}

async function main(): Promise<void> {
  // BLACKBOX_BENCH_SKIP_PACED=1 skips the paced pulls (decode/export work only);
  // BLACKBOX_BENCH_SKIP_NOISY=1 only the pulls over a faulty line.
  const fast = process.env.BLACKBOX_BENCH_SKIP_PACED
    ? await pullCase({ name: 'unpaced', baud: 921600, mib: 4, unpaced: true })
    : await pullCase({ name: 'p921600', baud: 921600, mib: env('BLACKBOX_BENCH_MIB_921600', 4), compress: false });
  if (!process.env.BLACKBOX_BENCH_SKIP_PACED && !process.env.BLACKBOX_BENCH_SKIP_NOISY) {
    // The same pull over a faulty line: 0.2 % of bytes corrupted and 0.1 % dropped, then 1 %
    // corrupted; the first also without compression (log pull --no-compress).
    const noisy = env('BLACKBOX_BENCH_MIB_NOISY', 1);
    await pullCase({ name: 'n921600', baud: 921600, mib: noisy, faults: 'corrupt=0.002,drop=0.001' });
    await pullCase({ name: 'n921600u', baud: 921600, mib: noisy, faults: 'corrupt=0.002,drop=0.001', compress: false });
    await pullCase({ name: 'n921600x', baud: 921600, mib: env('BLACKBOX_BENCH_MIB_1PCT', 0.5), faults: 'corrupt=0.01' });
  }
  if (!process.env.BLACKBOX_BENCH_SKIP_PACED) {
    await pullCase({ name: 'p115200', baud: 115200, mib: env('BLACKBOX_BENCH_MIB_115200', 0.5) });
    await pullCase({ name: 'unpaced', baud: 921600, mib: 4, unpaced: true });
  }

  // CSV export of the 4 MiB log.
  {
    const reader = await openPslog(fast);
    const bytes = statSync(fast).size;
    const r = await exportLog(reader, path.join(work, 'out.csv'), 'csv');
    await reader.close();
    rows.push({
      case: 'CSV export',
      bytes,
      seconds: r3(r.seconds),
      rate: Math.round(bytes / r.seconds),
      ratio: null,
      note: `${r.records} rows, ${(r.bytes / MIB).toFixed(1)} MiB of CSV (${Math.round(r.bytes / r.seconds / 1e6)} MB/s written)`,
    });
  }

  // Decode: 64 MiB then 1 GiB, same process — peak RSS must not grow with the file.
  const big = path.join(work, 'big.pslog');
  const gib = env('BLACKBOX_BENCH_DECODE_GIB', 1);
  const tg = performance.now();
  await makeBigLog(fast, big, gib * 1024 * MIB);
  const genSeconds = (performance.now() - tg) / 1000;
  const mid = path.join(work, 'mid.pslog');
  await makeBigLog(fast, mid, 64 * MIB);
  await decodeCase(mid, '64 MiB');
  await decodeCase(big, `${gib} GiB`);
  rows.push({
    case: 'generate chained log',
    bytes: statSync(big).size,
    seconds: r3(genSeconds),
    rate: Math.round(statSync(big).size / genSeconds),
    ratio: null,
    note: 'replicated segments, re-hashed and re-signed (node:crypto)',
  });
  // Full verification of the 64 MiB log (hash + signature per segment, chain).
  {
    const reader = await openPslog(mid);
    const t0 = performance.now();
    const rep = await reader.verify(null);
    const s = (performance.now() - t0) / 1000;
    await reader.close();
    const bytes = statSync(mid).size;
    rows.push({
      case: 'verify 64 MiB (signatures + chain)',
      bytes,
      seconds: r3(s),
      rate: Math.round(bytes / s),
      ratio: null,
      note: `${rep.segments} segments, ${rep.issueCount} issues`,
    });
  }

  console.log('| case | payload bytes | seconds | bytes/s | ratio | notes |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) console.log(`| ${r.case} | ${r.bytes} | ${r.seconds} | ${r.rate} | ${r.ratio ?? '–'} | ${r.note} |`);
  const dir = path.join(root, 'tests/artifacts/bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'blackbox.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
