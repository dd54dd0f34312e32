import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli-process.js';

/** An electron package whose binary is absent and whose installer fails, as on a machine without network. */
function offlineElectron(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-electron-'));
  writeFileSync(path.join(dir, 'install.js'), 'console.error("fetch failed"); process.exit(1);');
  return dir;
}

describe('npm start (scripts/start-electron.mjs)', () => {
  it('without the Electron binary and without network: says what to do and points at packscope serve', () => {
    mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/start-electron.mjs')], {
      env: { ...process.env, PACKSCOPE_ELECTRON_DIR: offlineElectron() },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the Electron binary is not installed');
    expect(r.stderr).toContain('npx install-electron');
    expect(r.stderr).toContain('npx packscope serve --open');
  });

  it('without the electron package at all: says to run npm install', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/start-electron.mjs')], {
      env: { ...process.env, PACKSCOPE_ELECTRON_DIR: path.join(os.tmpdir(), 'no-such-electron-dir') },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("run 'npm install'");
  });
});
