/**
 * Evidence benchmark: the rule engine's throughput on a long 16-cell log (records/s, and log time
 * evaluated per wall second; heap must stay flat: bounded state), and a diagnosis package for
 * 24 h of 1 Hz records: create (decode + evaluate + CSV + report + sign + ZIP) and verify (ZIP
 * vetting, hashes, both signatures, certificate, every segment signature, fresh decode, CSV and
 * evaluation recomputed), with verify throughput as a ratio of plain SHA-256 over the package
 * (the floor any verifier pays).
 * 3. `packscope package create` and `package verify` of a 64 MiB and a 1 GiB black box (full
 *    rings of 4 KiB segments, attested by a signed checkpoint), each one CLI process under
 *    /usr/bin/time -v: wall time, CPU time and peak RSS, which must not grow with the log (target:
 *    the 1 GiB figure at most 1.5× the 64 MiB one), and verify's throughput as a fraction of
 *    `sha256sum`'s on the same package and on the log itself in the same run (target ≥ 0.8), by
 *    wall time and by CPU time (steadier on a shared machine), and of `unzip -p | sha256sum`:
 *    inflating and hashing every file the package holds, the least any verifier must do
 *    (SHA256SUMS covers the files, not the archive; the package stores the log as it is, but
 *    data/records.csv is about three times the log and is deflated).
 * Run: npm run bench -- evidence   (EVIDENCE_BENCH_RECORDS, EVIDENCE_BENCH_HOURS to resize; EVIDENCE_BENCH_LOG_MIB=64,1024 the logs of case 3, the first one the reference)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { makeAttestedLog } from './attested-log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rows: { case: string; amount: string; seconds: number; rate: string; ratio: string; note: string }[] = [];

interface Timed {
  sec: number;
  /** User plus system CPU seconds. */
  cpu: number;
  rssMiB: number;
  out: string;
}

/** Runs a command under /usr/bin/time -v: wall time, CPU time, peak RSS (its "Maximum resident set size") and stdout. */
function timed(cmd: string, args: string[], env: Record<string, string> = {}): Timed {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const sec = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stdout ?? '').slice(0, 400)}${(r.stderr ?? '').slice(-2000)}`);
  const field = (name: string) => Number(new RegExp(`${name}: ([0-9.]+)`).exec(r.stderr ?? '')?.[1] ?? NaN);
  const kb = field('Maximum resident set size \\(kbytes\\)');
  return { sec, cpu: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'), rssMiB: kb / 1024, out: r.stdout };
}

/** The faster of two runs (by wall time) of a command. */
function best(cmd: string, args: string[]): Timed {
  const a = timed(cmd, args);
  const b = timed(cmd, args);
  return a.sec <= b.sec ? a : b;
}

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

// 3. package create and package verify of a 64 MiB and a 1 GiB black box, each as a supplier and a
// customer run them (one CLI process under /usr/bin/time -v: wall time and peak RSS), next to
// sha256sum of the same package in the same run.
{
  const sizes = (process.env.EVIDENCE_BENCH_LOG_MIB ?? '64,1024').split(',').map(Number);
  const tmp = mkdtempSync(path.join(tmpdir(), 'packscope-bench-evidence-'));
  try {
    const results: {
      mib: number;
      create: Timed;
      verify: Timed;
      sums: Timed;
      logSums: Timed;
      floor: Timed;
      pkgBytes: number;
      contentBytes: number;
      logBytes: number;
      records: number;
      genS: number;
    }[] = [];
    for (const mib of sizes) {
      const tGen = performance.now();
      const log = path.join(tmp, `log${mib}.pslog`);
      const made = await makeAttestedLog(log, mib * 1024 * 1024, tmp);
      const genS = (performance.now() - tGen) / 1000;
      const pkg = path.join(tmp, `log${mib}.psdiag`);
      const env = { PACKSCOPE_CONFIG_DIR: path.join(tmp, 'cfg') };
      const create = timed(
        process.execPath,
        [path.join(root, 'bin/packscope.mjs'), 'package', 'create', '--log', log, '--claim', made.claim, '--out', pkg],
        env,
      );
      const verify = timed(
        process.execPath,
        [path.join(root, 'bin/packscope.mjs'), 'package', 'verify', pkg, '--root', made.root, '--policy', made.policy],
        env,
      );
      if (!verify.out.startsWith('VERIFIED')) throw new Error(`benchmark package did not verify: ${verify.out.slice(0, 300)}`);
      const sums = best('sha256sum', [pkg]);
      const logSums = best('sha256sum', [log]);
      const floor = timed('sh', ['-c', 'unzip -p "$0" | sha256sum', pkg]);
      const listing = spawnSync('unzip', ['-Z', '-t', pkg], { encoding: 'utf8' }).stdout;
      const contentBytes = Number(/([0-9]+) bytes uncompressed/.exec(listing)?.[1] ?? NaN);
      results.push({
        mib,
        create,
        verify,
        sums,
        logSums,
        floor,
        pkgBytes: statSync(pkg).size,
        contentBytes,
        logBytes: statSync(log).size,
        records: made.records,
        genS,
      });
      rmSync(log);
      rmSync(pkg);
    }
    const base = results[0]!;
    for (const r of results) {
      const vs = r === base ? '' : ` (${(r.create.rssMiB / base.create.rssMiB).toFixed(2)}× the ${base.mib} MiB log's)`;
      rows.push({
        case: `package create (CLI), ${r.mib} MiB black box, 16 cells`,
        amount: `${r.records} records, ${(r.pkgBytes / 1e6).toFixed(1)} MB package`,
        seconds: +r.create.sec.toFixed(2),
        rate: `${(r.logBytes / r.create.sec / 1e6).toFixed(1)} MB/s of raw log`,
        ratio: `peak RSS ${r.create.rssMiB.toFixed(0)} MiB${vs}`,
        note: `CPU ${r.create.cpu.toFixed(2)} s; log generated in ${r.genS.toFixed(1)} s`,
      });
      const vv = r === base ? '' : ` (${(r.verify.rssMiB / base.verify.rssMiB).toFixed(2)}× the ${base.mib} MiB log's)`;
      rows.push({
        case: `package verify (CLI), ${r.mib} MiB black box, 16 cells`,
        amount: `${(r.pkgBytes / 1e6).toFixed(1)} MB package`,
        seconds: +r.verify.sec.toFixed(2),
        rate: `${(r.pkgBytes / r.verify.sec / 1e6).toFixed(1)} MB/s of package`,
        ratio:
          `${(r.sums.sec / r.verify.sec).toFixed(3)} of sha256sum's throughput on the package (${r.sums.sec.toFixed(2)} s; by CPU time ${(r.sums.cpu / r.verify.cpu).toFixed(3)}), ` +
          `${(r.logSums.sec / r.verify.sec).toFixed(3)} of sha256sum's on the log (${r.logSums.sec.toFixed(2)} s; by CPU time ${(r.logSums.cpu / r.verify.cpu).toFixed(3)}); ` +
          `${(r.floor.sec / r.verify.sec).toFixed(2)} of unzip -p \\| sha256sum's (${r.floor.sec.toFixed(2)} s over ${(r.contentBytes / 1e6).toFixed(0)} MB of files); ` +
          `peak RSS ${r.verify.rssMiB.toFixed(0)} MiB${vv}`,
        note: `CPU ${r.verify.cpu.toFixed(2)} s; ${r.verify.out.split('\n')[0]!.slice(0, 60)}`,
      });
    }
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
