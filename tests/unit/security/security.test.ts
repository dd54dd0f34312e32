import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkFuses, checkMain, checkPreload } from './invariants.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).electronModule());

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('security invariants of the Electron shell', () => {
  it('main: sandboxed isolated window, app:// protocol with strict CSP, no navigation or new windows, allowlisted openExternal, permissions denied, sender frames checked', async () => {
    expect(await checkMain(path.join(ROOT, 'electron/main/main.ts'))).toEqual([]);
  });

  it('preload: exposes one object of plain functions over one channel', async () => {
    expect(await checkPreload(path.join(ROOT, 'electron/preload/preload.ts'))).toEqual([]);
  });

  it('fuses: electron-builder flips RunAsNode, NODE_OPTIONS, inspect off; asar-only, asar integrity, cookie encryption on; no file:// privileges', async () => {
    expect(await checkFuses(path.join(ROOT, 'electron-builder.yml'))).toEqual([]);
  });
});
