/**
 * CLI start-up benchmark: wall time of `packscope --version` next to `node -e 0` (Node starting and
 * doing nothing, the floor for any Node CLI), measured in the same run, interleaved so that load on
 * the machine hits all alike. Three ways the CLI runs:
 *  - checkout: bin/packscope.mjs in this checkout, with the bundle just built (what `npm run build`
 *    and the `prepare` hook of `npm install` leave);
 *  - installed: the package as `npm pack` publishes it, unpacked into a node_modules folder (every
 *    file with the time it was unpacked, as npm installs it), first start and later starts;
 *  - sources: PACKSCOPE_CLI=source, the TypeScript through tsx (the development path).
 * Also the freshness check alone (bin/cli-bundle.mjs) in this process, per path.
 * Run: npm run bench -- cli   (CLI_BENCH_RUNS to change the number of runs per case, default 21)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshBundle } from '../../bin/cli-bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runs = process.env.CLI_BENCH_RUNS ? Number(process.env.CLI_BENCH_RUNS) : 21;
const LIMIT_S = 0.15;
const tmp = mkdtempSync(path.join(tmpdir(), 'packscope-bench-cli-'));

function must(cmd: string, args: string[], cwd = root): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** One run's wall time in seconds; the output must be what is expected. */
function timed(args: string[], expect: RegExp | null, env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: tmp, encoding: 'utf8', env: { ...process.env, ...env } });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0 || (expect && !expect.test(r.stdout)))
    throw new Error(`node ${args.join(' ')}: exit ${r.status}, output ${JSON.stringify(r.stdout + r.stderr)}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (s: number) => Math.round(s * 1000 * 10) / 10;

try {
  // The bundle as the build and the prepare hook make it.
  must(process.execPath, ['packaging/build-cli.mjs']);
  const checkoutBin = path.join(root, 'bin/packscope.mjs');
  if (!freshBundle(root)) throw new Error('the bundle just built does not match the sources');

  // The published package, unpacked as npm installs it; its dependencies come from this checkout.
  const packed = JSON.parse(must('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp])) as { filename: string }[];
  const pkg = path.join(tmp, 'node_modules/packscope');
  mkdirSync(pkg, { recursive: true });
  must('tar', ['-xzf', path.join(tmp, packed[0]!.filename), '-C', pkg, '--strip-components=1', '-m']);
  symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  if (!readdirSync(path.join(pkg, 'dist/cli')).includes('packscope.mjs')) throw new Error('the packed package has no CLI bundle');
  const installedBin = path.join(pkg, 'bin/packscope.mjs');

  // The freshness check alone: stats only; every file hashed (first start of an installation);
  // stats against the cache the first start wrote.
  const checkT = (r: string) => {
    const t = performance.now();
    const fresh = freshBundle(r);
    if (!fresh) throw new Error(`no fresh bundle under ${r}`);
    return (performance.now() - t) / 1000;
  };
  const checkoutCheck = median(Array.from({ length: 5 }, () => checkT(root)));
  const firstCheck = checkT(pkg);
  const cachedCheck = median(Array.from({ length: 5 }, () => checkT(pkg)));
  // The first start of a fresh installation, from the command line.
  rmSync(path.join(pkg, 'dist/cli/stat-cache.json'), { force: true });
  const version = /^packscope \d+\.\d+\.\d+\n$/;
  const firstStart = timed([installedBin, '--version'], version);

  const t: Record<'node' | 'checkout' | 'installed' | 'sources', number[]> = { node: [], checkout: [], installed: [], sources: [] };
  for (let i = 0; i < runs; i++) {
    t.node.push(timed(['-e', '0'], null));
    t.checkout.push(timed([checkoutBin, '--version'], version));
    t.installed.push(timed([installedBin, '--version'], version));
    if (i % 4 === 0) t.sources.push(timed([checkoutBin, '--version'], version, { PACKSCOPE_CLI: 'source' }));
  }
  const base = median(t.node);
  const rows = [
    { case: 'node -e 0', runs: t.node },
    { case: 'packscope --version (checkout, bundle)', runs: t.checkout },
    { case: 'packscope --version (installed package)', runs: t.installed },
    { case: 'packscope --version (installed, first start)', runs: [firstStart] },
    { case: 'packscope --version (PACKSCOPE_CLI=source, tsx)', runs: t.sources },
  ].map((r) => ({ case: r.case, n: r.runs.length, median: median(r.runs), min: Math.min(...r.runs) }));
  console.log(`| case | runs | median ms | min ms | × node -e 0 | ≤ ${LIMIT_S * 1000} ms |`);
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const within = r.case === 'node -e 0' ? '–' : r.median <= LIMIT_S ? 'yes' : 'NO';
    console.log(`| ${r.case} | ${r.n} | ${ms(r.median)} | ${ms(r.min)} | ${(r.median / base).toFixed(2)} | ${within} |`);
  }
  console.log('');
  console.log(
    `freshness check in-process: checkout ${ms(checkoutCheck)} ms (stats), installed first start ${ms(firstCheck)} ms (hashes), later ${ms(cachedCheck)} ms (stats)`,
  );
  const dir = path.join(root, 'tests/artifacts/bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cli.json'), JSON.stringify({ date: new Date().toISOString(), rows, checkoutCheck, firstCheck, cachedCheck }, null, 2));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
