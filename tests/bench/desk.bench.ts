/**
 * Claims desk benchmark: a supplier's inbox of generated packages (three board types under two
 * manufacturing CAs, every simulator scenario, some forged, some sent twice) ingested with
 * `packscope desk ingest` (one worker process per core), next to what a supplier does instead:
 * `packscope package verify` one package at a time, run on a sample of the same packages in the
 * same run. Prints packages per second per core for both, their ratio, and the checks: forged
 * packages flagged, duplicates stored once, verdicts equal to the one-by-one verify.
 * Run: npm run bench -- desk   (DESK_BENCH_PACKAGES, DESK_BENCH_MINUTES, DESK_BENCH_SAMPLE to resize)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshBundle } from '../../bin/cli-bundle.mjs';
import { makeDeskInbox, verifyOneArgs } from '../support/desk-packages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const count = env('DESK_BENCH_PACKAGES', 1000);
const minutes = env('DESK_BENCH_MINUTES', 10);
const sample = env('DESK_BENCH_SAMPLE', 40);
const cores = availableParallelism();
const cli = freshBundle(root) ?? path.join(root, 'bin/packscope.mjs');
const tmp = mkdtempSync(path.join(tmpdir(), 'packscope-bench-desk-'));

function run(args: string[]): { sec: number; out: string; code: number | null } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, PACKSCOPE_CONFIG_DIR: path.join(tmp, 'cfg') },
  });
  return { sec: (performance.now() - t) / 1000, out: r.stdout, code: r.status };
}

try {
  const t0 = performance.now();
  const fx = await makeDeskInbox(tmp, { count, minutes });
  const genS = (performance.now() - t0) / 1000;
  const unique = fx.packages.filter((p) => !p.duplicateOf);
  const forged = unique.filter((p) => p.forged);
  const db = path.join(tmp, 'claims.duckdb');

  const ing = run(['desk', 'ingest', path.join(tmp, 'inbox'), '--supplier', fx.supplier, '--db', db, '--jobs', String(cores), '--json']);
  if (ing.code !== 0 && ing.code !== 6) throw new Error(`desk ingest failed (${ing.code}): ${ing.out.slice(0, 400)}`);
  const sum = JSON.parse(ing.out) as {
    stored: number;
    duplicates: number;
    failedVerification: number;
    errors: number;
    items: { file: string; ok: boolean | null; verdict: string | null; line: string }[];
  };
  const byFile = new Map(sum.items.map((i) => [i.file, i]));
  const flagged = forged.filter((p) => {
    const i = byFile.get(p.path)!;
    return i.ok === false || i.verdict !== 'covered';
  }).length;
  const stored = JSON.parse(run(['desk', 'sql', 'SELECT count(*) AS n FROM packages', '--db', db, '--json']).out) as { n: number }[];

  // What a supplier does without the desk: one `package verify` per package, one after another.
  const picks = unique.filter((_, i) => i % Math.max(1, Math.floor(unique.length / sample)) === 0).slice(0, sample);
  let oneS = 0;
  let mismatches = 0;
  for (const p of picks) {
    const r = run(verifyOneArgs(fx, p));
    oneS += r.sec;
    const v = JSON.parse(r.out) as { ok: boolean; verdict: string | null; line: string };
    const d = byFile.get(p.path)!;
    if (d.ok !== v.ok || (v.ok && (d.verdict !== v.verdict || d.line !== v.line))) mismatches++;
  }
  const deskRate = sum.stored / ing.sec;
  const oneRate = picks.length / oneS;
  const rows = [
    {
      case: `generate ${count} packages (${minutes} min of 1 Hz history each)`,
      amount: `${unique.length} unique, ${fx.packages.length - unique.length} duplicates, ${forged.length} forged`,
      seconds: genS.toFixed(1),
      rate: `${(count / genS).toFixed(1)} packages/s`,
      note: 'PackScope assembler, simulator pack model, in this process (not timed below)',
    },
    {
      case: `packscope desk ingest, ${cores} worker processes`,
      amount: `${count} files → ${sum.stored} stored, ${sum.duplicates} duplicates, ${sum.failedVerification} failed verification, ${sum.errors} errors`,
      seconds: ing.sec.toFixed(1),
      rate: `${deskRate.toFixed(2)} packages/s, ${(deskRate / cores).toFixed(2)} per core`,
      note: `whole command: hashing, verification, DuckDB (records columnar: ${sum.stored} packages)`,
    },
    {
      case: 'packscope package verify, one by one (sample)',
      amount: `${picks.length} packages`,
      seconds: oneS.toFixed(1),
      rate: `${oneRate.toFixed(2)} packages/s on 1 core`,
      note: `desk per core = ${(deskRate / cores / oneRate).toFixed(2)}× one-by-one; desk on ${cores} cores = ${(deskRate / oneRate).toFixed(2)}×`,
    },
    {
      case: 'checks',
      amount: `forged flagged ${flagged}/${forged.length}; packages stored ${stored[0]!.n} for ${unique.length} unique; verdict mismatches ${mismatches}/${picks.length}`,
      seconds: '',
      rate: '',
      note: flagged === forged.length && stored[0]!.n === unique.length && mismatches === 0 ? 'all hold' : 'FAILED',
    },
  ];
  console.log('| case | amount | seconds | rate | notes |');
  console.log('| --- | --- | ---: | --- | --- |');
  for (const r of rows) console.log(`| ${r.case} | ${r.amount} | ${r.seconds} | ${r.rate} | ${r.note} |`);
  const dir = path.join(root, 'tests/artifacts/bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'desk.json'), JSON.stringify({ date: new Date().toISOString(), cores, rows }, null, 2));
  if (rows[3]!.note !== 'all hold') process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
