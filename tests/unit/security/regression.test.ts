import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { checkFuses, checkMain, checkPreload } from './invariants.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).electronModule());

/**
 * Proof that the invariants suite catches regressions: each mutation weakens ONE setting in a
 * copy of the shell (or of electron-builder.yml), and the checks must then report a violation.
 * The copies sit beside electron/main (same depth, so their relative imports resolve) in a dot
 * folder the layering lint ignores, and are removed afterwards.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const tag = `${process.pid}-${Date.now()}`;
// A fresh folder per mutation: module caches are keyed by path, so a reused path could serve the
// previous (unmutated) module and hide the mutation.
let seq = 0;
const copies: string[] = [];
const copyDir = (kind: string) => {
  const dir = path.join(ROOT, 'electron', `.mutant-${kind}-${tag}-${seq++}`);
  copies.push(dir);
  return dir;
};
const ymlDir = mkdtempSync(path.join(os.tmpdir(), 'ps-yml-'));

afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  rmSync(ymlDir, { recursive: true, force: true });
});

type Mutation = [file: string, from: string, to: string];

const MAIN_MUTATIONS: Record<string, Mutation> = {
  'sandbox off': ['security.ts', 'sandbox: true', 'sandbox: false'],
  'context isolation off': ['security.ts', 'contextIsolation: true', 'contextIsolation: false'],
  'node integration on': ['security.ts', 'nodeIntegration: false,', 'nodeIntegration: true,'],
  'web security off': ['security.ts', 'webSecurity: true', 'webSecurity: false'],
  'webview tag on': ['security.ts', 'webviewTag: false', 'webviewTag: true'],
  'navigation allowed': [
    'security.ts',
    "contents.on('will-navigate', (event, url) => {\n    event.preventDefault();",
    "contents.on('will-navigate', (event, url) => {",
  ],
  'redirects allowed': ['security.ts', "contents.on('will-redirect', (event) => event.preventDefault());", ''],
  'new windows allowed': ['security.ts', "return { action: 'deny' };", "return { action: 'allow' } as never;"],
  'permission requests granted': ['security.ts', 'callback(false)', 'callback(true)'],
  'permission checks granted': ['security.ts', 'setPermissionCheckHandler(() => false)', 'setPermissionCheckHandler(() => true)'],
  'openExternal allowlist by substring': [
    'security.ts',
    "return EXTERNAL_ALLOWLIST.some((prefix) => normal === prefix || normal.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'));",
    'return EXTERNAL_ALLOWLIST.some((prefix) => raw.includes(prefix));',
  ],
  'openExternal allowlist widened': ['security.ts', "'https://packscope.org/'];", "'https://packscope.org/', 'https://'];"],
  'subframes trusted': ['security.ts', 'if (frame !== contents.mainFrame) return false;', ''],
  'foreign origins trusted': ['security.ts', 'u.host === APP_HOST', 'true'],
  'global sandbox off': ['main.ts', 'app.enableSandbox();', ''],
  'sender frame unchecked': ['main.ts', 'if (!isTrustedSender(event.senderFrame, event.sender, trustedContents)) return;', ''],
  'session not hardened': ['main.ts', 'hardenSession(session.defaultSession);', ''],
  'scheme bypasses CSP': ['app-protocol.ts', 'bypassCSP: false', 'bypassCSP: true'],
  'scheme not secure': ['app-protocol.ts', 'secure: true', 'secure: false'],
  'CSP header dropped': ['app-protocol.ts', "'Content-Security-Policy': contentSecurityPolicy(), ", ''],
  'path traversal': ['app-protocol.ts', '!file.startsWith(rootAbs + path.sep)', 'false'],
};

const PRELOAD_MUTATIONS: Record<string, Mutation> = {
  'raw ipcRenderer exposed': [
    'preload.ts',
    "contextBridge.exposeInMainWorld('packscope', api);",
    "contextBridge.exposeInMainWorld('packscope', api);\ncontextBridge.exposeInMainWorld('ipc', ipcRenderer);",
  ],
  'extra capability on the API object': [
    'preload.ts',
    'on: (event, listener) => client.on(event, listener),',
    'on: (event, listener) => client.on(event, listener),\n  send: ipcRenderer.send,',
  ],
};

const FUSE_MUTATIONS: Record<string, [string, string]> = {
  RunAsNode: ['runAsNode: false', 'runAsNode: true'],
  NODE_OPTIONS: ['enableNodeOptionsEnvironmentVariable: false', 'enableNodeOptionsEnvironmentVariable: true'],
  'inspect arguments': ['enableNodeCliInspectArguments: false', 'enableNodeCliInspectArguments: true'],
  'only load from asar': ['onlyLoadAppFromAsar: true', 'onlyLoadAppFromAsar: false'],
  'asar integrity': ['enableEmbeddedAsarIntegrityValidation: true', 'enableEmbeddedAsarIntegrityValidation: false'],
  'cookie encryption': ['enableCookieEncryption: true', 'enableCookieEncryption: false'],
  'file protocol privileges': ['grantFileProtocolExtraPrivileges: false', 'grantFileProtocolExtraPrivileges: true'],
};

function mutate(srcDir: string, dstDir: string, [file, from, to]: Mutation): string {
  mkdirSync(dstDir, { recursive: true });
  cpSync(srcDir, dstDir, { recursive: true });
  const target = path.join(dstDir, file);
  const text = readFileSync(target, 'utf8');
  if (!text.includes(from)) throw new Error(`mutation anchor not found in ${file}: ${from}`);
  writeFileSync(target, text.replace(from, to));
  return dstDir;
}

describe('the invariants suite catches regressions', () => {
  it('an unmutated copy passes (the copies themselves are sound)', async () => {
    const dir = mutate(path.join(ROOT, 'electron/main'), copyDir('main'), ['main.ts', '', '']);
    expect(await checkMain(path.join(dir, 'main.ts'))).toEqual([]);
  });

  for (const [name, m] of Object.entries(MAIN_MUTATIONS)) {
    it(`main: ${name}`, async () => {
      const dir = mutate(path.join(ROOT, 'electron/main'), copyDir('main'), m);
      expect((await checkMain(path.join(dir, 'main.ts'))).length).toBeGreaterThan(0);
    });
  }

  for (const [name, m] of Object.entries(PRELOAD_MUTATIONS)) {
    it(`preload: ${name}`, async () => {
      const dir = mutate(path.join(ROOT, 'electron/preload'), copyDir('preload'), m);
      expect((await checkPreload(path.join(dir, 'preload.ts'))).length).toBeGreaterThan(0);
    });
  }

  for (const [name, [from, to]] of Object.entries(FUSE_MUTATIONS)) {
    it(`fuse: ${name}`, async () => {
      const text = readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
      expect(text).toContain(from);
      const file = path.join(ymlDir, `${name.replace(/\W+/g, '-')}.yml`);
      writeFileSync(file, text.replace(from, to));
      expect(await checkFuses(file)).toEqual([expect.stringContaining('fuse')]);
    });
  }
});
