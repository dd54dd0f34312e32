import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from './cli-process.js';

const renderer = mkdtempSync(path.join(os.tmpdir(), 'ps-renderer-'));
writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>t</title>');

/** Runs `packscope serve` until it prints its first line (or exits), then stops it. */
function serve(args: string[]): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--renderer', renderer, ...args], {
      env: { ...process.env, PACKSCOPE_DATA_DIR: renderer },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) child.kill('SIGINT');
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ out, err, code }));
  });
}

describe('packscope serve', () => {
  it('listens on 127.0.0.1 and prints the URL with its token', async () => {
    const r = await serve([]);
    expect(r.out).toMatch(/^PackScope is running at http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}\n/);
    expect(r.code).toBe(0);
  });

  it('takes a non-loopback address only from an explicit --host, with a warning', async () => {
    const r = await serve(['--host', '0.0.0.0', '--json']);
    expect(JSON.parse(r.out.trim().split('\n')[0]!)).toMatchObject({ host: '0.0.0.0' });
    expect(r.err).toContain('warning');
  });

  it('says what to do when the renderer is not built', async () => {
    const r = await new Promise<{ err: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--renderer', path.join(renderer, 'nope')]);
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => resolve({ err, code }));
    });
    expect(r.code).toBe(3);
    expect(r.err).toContain('npm run build');
  });
});
