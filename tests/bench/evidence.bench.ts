/**
 * Evidence benchmark: the rule engine's throughput on a long 16-cell log (records/s, and log time
 * evaluated per wall second; heap must stay flat: bounded state), and a diagnosis package for
 * 24 h of 1 Hz records: create (decode + evaluate + CSV + report + sign + ZIP) and verify (ZIP
 * vetting, hashes, both signatures, certificate, every segment signature, fresh decode, CSV and
 * evaluation recomputed), with verify throughput as a ratio of plain SHA-256 over the package
 * (the floor any verifier pays).
 * 3. `packscope package verify` of a package holding a 64 MiB black box (a full ring of 4 KiB
 *    segments), as a supplier runs it (one CLI process, with root, policy and ticket key), next to
 *    `sha256sum` of the same file in the same run: the checkpoint's attested chain head binds every
 *    segment, so verification hashes the chain instead of checking 16384 signatures.
 * Run: npm run bench -- evidence   (EVIDENCE_BENCH_RECORDS, EVIDENCE_BENCH_HOURS, EVIDENCE_BENCH_LOG_MIB to resize)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Evaluator } from '../../shared/warranty/engine.js';
import { DEFAULT_POLICY } from '../../shared/warranty/default-policy.js';
import { assemblePackage } from '../../shared/evidence/package.js';
import { decodeDeviceEvidence, deviceFiles } from '../../shared/evidence/blackbox-evidence.js';
import { writeZip } from '../../shared/codec/zip-write.js';
import { hostSignatureVerifier } from '../../electron/host/evidence/fast-verify.js';
import { verifyPackageBytes } from '../../electron/host/evidence/package-file.js';
import type { LogRecord } from '../../shared/types/domain.js';
import { CLAIM } from '../unit/warranty/stream.js';
import { makeDeviceLog } from '../unit/evidence/device-log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rows: { case: string; amount: string; seconds: number; rate: string; ratio: string; note: string }[] = [];

// 1. Rule engine, streaming: one reused record object mutated in place, as a decoder would yield them.
{
  const n = env('EVIDENCE_BENCH_RECORDS', 5_000_000);
  const ev = new Evaluator(DEFAULT_POLICY, { nominalCapacityAh: 100 });
  const t0 = Date.UTC(2026, 5, 1);
  const r: LogRecord = {
    index: 0,
    segment: 0,
    t: t0,
    packVoltage: 52,
    current: 0,
    soc: 60,
    cellVoltages: new Array(16).fill(3.3),
    temperatures: [25, 25, 25, 25, 30, 28],
    status: 0,
    alarms: 0,
    event: 0,
  };
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    r.index = i;
    r.t = t0 + i * 1000;
    // A daily cycle with an over-current burst every 6 h, so runs open and close all the time.
    const phase = i % 21600;
    r.current = phase < 60 ? -260 : phase < 7200 ? -30 : phase < 9000 ? 0 : 25;
    r.soc = 60 + 30 * Math.sin(i / 5000);
    r.cellVoltages[5] = 3.3 - (phase > 8000 && phase < 9000 ? 0.07 : 0);
    ev.push(r);
  }
  const e = ev.finish({ ...CLAIM, serial: 'SN-0001' }, { source: 'device', signature: 'valid', gaps: [], deviceSerial: 'SN-0001', reportedAt: t0 + n * 1000 });
  const s = (performance.now() - start) / 1000;
  gc();
  const heapGrowth = (process.memoryUsage().heapUsed - heap0) / 1024 / 1024;
  rows.push({
    case: 'rule engine, 16 cells, streaming',
    amount: `${n} records`,
    seconds: +s.toFixed(2),
    rate: `${Math.round(n / s)} records/s`,
    ratio: `${Math.round(n / s / 86400)} days of 1 Hz log per s`,
    note: `${e.clauses.reduce((a, c) => a + c.occurrences, 0)} occurrences; heap growth ${heapGrowth.toFixed(1)} MiB`,
  });
}

// 2. A package for a day of 1 Hz records, 16 cells.
{
  const hours = env('EVIDENCE_BENCH_HOURS', 24);
  const n = Math.round(hours * 3600);
  const t0 = Date.UTC(2026, 5, 1);
  const values = Array.from({ length: n }, (_, i) => ({
    t: t0 + i * 1000,
    packVoltage: 52.8,
    current: i % 3600 < 1800 ? -30 : 20,
    soc: 50 + 20 * Math.sin(i / 3000),
    cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + (c === 3 ? -0.002 : 0)),
    temperatures: [25, 25, 25, 25, 31, 28],
    status: 0,
    alarms: 0,
    event: 0,
  }));
  const tGen = performance.now();
  const log = makeDeviceLog(values, { cells: 16 });
  const genS = (performance.now() - tGen) / 1000;
  const sk = ed25519.utils.randomSecretKey();
  const signer = { publicKey: ed25519.getPublicKey(sk), sign: (m: Uint8Array) => ed25519.sign(m, sk) };
  const t1 = performance.now();
  const files = deviceFiles(log);
  const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier());
  const pkg = await assemblePackage({
    evidence,
    deviceFiles: files,
    claim: { ...CLAIM, purchaseDate: '2026-05-01' },
    policy: DEFAULT_POLICY,
    photos: [],
    createdAt: new Date(t0 + n * 1000),
    toolVersion: 'bench',
    signer,
  });
  const zip = writeZip(pkg.files);
  const createS = (performance.now() - t1) / 1000;
  const segBytes = log.segments.length;
  rows.push({
    case: `package create, ${hours} h, 16 cells`,
    amount: `${n} records, ${evidence.segments} segments`,
    seconds: +createS.toFixed(2),
    rate: `${(segBytes / createS / 1e6).toFixed(2)} MB/s of raw log`,
    ratio: `${((hours * 3600) / createS).toFixed(0)}× real time`,
    note: `package ${(zip.length / 1e6).toFixed(2)} MB; verdict ${pkg.evaluation.verdict}; log generated in ${genS.toFixed(1)} s`,
  });
  const t2 = performance.now();
  const v = await verifyPackageBytes(zip, log.ca.pem);
  const verifyS = (performance.now() - t2) / 1000;
  if (!v.ok) throw new Error(`benchmark package did not verify: ${v.line}`);
  const t3 = performance.now();
  for (const f of pkg.files.values()) createHash('sha256').update(f).digest();
  const hashS = (performance.now() - t3) / 1000;
  rows.push({
    case: `package verify, ${hours} h, 16 cells`,
    amount: `${(zip.length / 1e6).toFixed(2)} MB zip`,
    seconds: +verifyS.toFixed(2),
    rate: `${(segBytes / verifyS / 1e6).toFixed(2)} MB/s of raw log`,
    ratio: `${(hashS / verifyS).toFixed(3)} of SHA-256-only speed`,
    note: `${v.checks.length} checks; SHA-256 of all files alone ${hashS.toFixed(3)} s`,
  });
}

// 3. package verify of a 64 MiB black box, whole command, against sha256sum of the same file.
{
  const mib = env('EVIDENCE_BENCH_LOG_MIB', 64);
  const segmentSize = 4096;
  const segments = Math.round((mib * 1024 * 1024) / segmentSize);
  // 16 cells: 56 records per 4 KiB segment; one record per second.
  const perSegment = 56;
  const n = segments * perSegment;
  const t0 = Date.now() - n * 1000 - 60_000;
  const values = Array.from({ length: n }, (_, i) => ({
    t: t0 + i * 1000,
    packVoltage: 52.8,
    current: i % 3600 < 1800 ? -30 : 20,
    soc: 50 + 20 * Math.sin(i / 3000),
    cellVoltages: Array.from({ length: 16 }, () => 3.3),
    temperatures: [25, 25, 25, 25, 31, 28],
    status: 0,
    alarms: 0,
    event: 0,
  }));
  const tGen = performance.now();
  const log = makeDeviceLog(values, { cells: 16, segmentSize });
  const genS = (performance.now() - tGen) / 1000;
  const sk = ed25519.utils.randomSecretKey();
  const signer = { publicKey: ed25519.getPublicKey(sk), sign: (m: Uint8Array) => ed25519.sign(m, sk) };
  const files = deviceFiles(log);
  const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier());
  const pkg = await assemblePackage({
    evidence,
    deviceFiles: files,
    claim: { ...CLAIM, purchaseDate: new Date(t0 - 86_400_000).toISOString().slice(0, 10) },
    policy: DEFAULT_POLICY,
    photos: [],
    createdAt: new Date(),
    toolVersion: '0.0.1',
    signer,
  });
  const tmp = mkdtempSync(path.join(tmpdir(), 'packscope-bench-evidence-'));
  try {
    const file = path.join(tmp, 'log64.psdiag');
    writeFileSync(file, writeZip(pkg.files, { level: 0 }));
    writeFileSync(path.join(tmp, 'root.pem'), log.ca.pem);
    writeFileSync(path.join(tmp, 'policy.json'), JSON.stringify(DEFAULT_POLICY));
    const time = (cmd: string, args: string[]) => {
      const t = performance.now();
      const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, PACKSCOPE_CONFIG_DIR: path.join(tmp, 'cfg') } });
      const sec = (performance.now() - t) / 1000;
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stdout ?? '').slice(0, 400)}${r.stderr ?? ''}`);
      return { sec, out: r.stdout };
    };
    const sums = time('sha256sum', [file]);
    const verify = time(process.execPath, [
      path.join(root, 'bin/packscope.mjs'),
      'package',
      'verify',
      file,
      '--root',
      path.join(tmp, 'root.pem'),
      '--policy',
      path.join(tmp, 'policy.json'),
    ]);
    const sums2 = time('sha256sum', [file]);
    const hashS = Math.min(sums.sec, sums2.sec);
    const bytes = spawnSync('stat', ['-c', '%s', file], { encoding: 'utf8' }).stdout.trim();
    rows.push({
      case: `package verify (CLI), ${mib} MiB black box, 16 cells`,
      amount: `${n} records, ${segments} segments, ${(Number(bytes) / 1e6).toFixed(1)} MB package`,
      seconds: +verify.sec.toFixed(2),
      rate: `${((mib * 1.048576) / verify.sec).toFixed(1)} MB/s of raw log`,
      ratio: `${(verify.sec / hashS).toFixed(1)}× the time of sha256sum (${hashS.toFixed(2)} s)`,
      note: `${verify.out.split('\n')[0]!.slice(0, 60)}; log generated in ${genS.toFixed(1)} s`,
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log('| case | amount | seconds | rate | ratio | notes |');
console.log('| --- | --- | ---: | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.case} | ${r.amount} | ${r.seconds} | ${r.rate} | ${r.ratio} | ${r.note} |`);
const dir = path.join(root, 'tests/artifacts/bench');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'evidence.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
