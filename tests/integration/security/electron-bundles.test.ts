import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { electronModule } from '../../unit/security/fake-electron.js';
import { checkMain, checkPreload } from '../../unit/security/invariants.js';

/**
 * The Electron shell as `npm run build` bundles it (esbuild): the security invariants that
 * tests/unit/security checks on the sources hold for what npm start and the installers run.
 */
vi.mock('electron', async () => (await import('../../unit/security/fake-electron.js')).electronModule());

const ROOT = path.resolve(import.meta.dirname, '../../..');

/**
 * The bundles are plain JavaScript loaded by Node itself (outside the test transform), so the
 * recording 'electron' reaches them through a copy whose 'electron' import points at a shim
 * module reading the same stand-in from globalThis. Copies sit beside the originals (their
 * relative chunk imports resolve) under dot names, and are removed afterwards.
 */
async function withElectronShim<T>(file: string, run: (copy: string) => Promise<T>): Promise<T> {
  const mod = electronModule() as Record<string, unknown>;
  (globalThis as Record<string, unknown>).__packscopeElectronShim = mod;
  const dir = path.dirname(file);
  const tag = `${process.pid}-${Date.now()}`;
  const shim = path.join(dir, `.electron-shim-${tag}.mjs`);
  const copy = path.join(dir, `.bundle-check-${tag}${path.extname(file) === '.cjs' ? '.cjs' : '.mjs'}`);
  writeFileSync(
    shim,
    Object.keys(mod)
      .map((k) => `export const ${k} = globalThis.__packscopeElectronShim.${k};`)
      .join('\n'),
  );
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    copy,
    text.endsWith('.cjs') || file.endsWith('.cjs')
      ? text.replace(/require\("electron"\)/g, 'globalThis.__packscopeElectronShim')
      : text.replace(/from "electron"/g, `from "./${path.basename(shim)}"`),
  );
  try {
    return await run(copy);
  } finally {
    rmSync(shim, { force: true });
    rmSync(copy, { force: true });
  }
}

describe('the built shell (what npm start and the installers run)', () => {
  it('the esbuild bundles keep every invariant', async () => {
    const main = path.join(ROOT, 'dist/electron/main/main.js');
    const preload = path.join(ROOT, 'dist/electron/preload/preload.cjs');
    if (!existsSync(main) || !existsSync(preload)) throw new Error("dist/electron is missing: run 'npm run build' first (npm test does)");
    expect(await withElectronShim(main, (copy) => checkMain(copy))).toEqual([]);
    expect(await withElectronShim(preload, (copy) => checkPreload(copy))).toEqual([]);
  });
});

describe('the preload bundle', () => {
  it('carries only the RPC client: no package, no API contract, no server side', async () => {
    // Bundled as packaging/build-electron.mjs bundles it, in memory.
    const out = await build({
      entryPoints: [path.join(ROOT, 'electron/preload/preload.ts')],
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'browser',
      external: ['electron'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs).sort();
    expect(inputs.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(inputs).toContain('shared/api/rpc-client.ts');
    expect(inputs).not.toContain('shared/api/contract.ts');
    expect(inputs).not.toContain('shared/api/rpc-server.ts');
  });
});
