import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freshBundle } from '../../bin/cli-bundle.mjs';
import { BIN, CLI, ROOT } from './cli-process.js';

function run(file: string, args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [file, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the CLI entries', () => {
  it('the tests run the bundle that npm run build made from the sources as they are', () => {
    const bundle = freshBundle(ROOT);
    if (!bundle) throw new Error("no CLI bundle matching the sources in dist/cli: run 'npm run build' first (npm test does)");
    expect(CLI).toBe(bundle);
  });

  it('the bundle and the sources through tsx (what `npx packscope` runs with no build) answer alike', () => {
    for (const args of [['--version'], ['--version', '--json'], ['--help'], ['policy', 'schema'], ['policy', 'default'], ['frobnicate']]) {
      const bundled = run(CLI, args);
      const sources = run(BIN, args, { PACKSCOPE_CLI: 'source' });
      expect(sources, args.join(' ')).toEqual(bundled);
    }
    expect(run(CLI, ['--version']).out).toMatch(/^packscope \d+\.\d+\.\d+\n$/);
  });
});
