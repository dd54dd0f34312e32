import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { vi } from 'vitest';
import { loadBuilderConfig } from '../packaging/builder-config.js';
import { fake, resetFake, type FakeWindow } from './fake-electron.js';

/**
 * The security invariants of the Electron shell, checked from the outside: the shell's main
 * module and preload are loaded against a recording 'electron' (the test files vi.mock it) and
 * poked the way an attacker-controlled page would. Each check returns a violation message; the
 * suite expects none, and the regression test proves each mutation of a setting yields one.
 */
export interface ShellFiles {
  main: string;
  preload: string;
  builderYml: string;
}

export const IPC_CHANNEL = 'packscope:rpc';
const EVIL = [
  'https://evil.example/',
  'https://evil.example/?https://github.com/packscope/packscope',
  'http://github.com/packscope/packscope',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'https://github.com.evil.example/packscope/packscope',
  'smb://host/share',
];
const ALLOWED = 'https://github.com/packscope/packscope/issues';

function appRoot(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-shell-'));
  mkdirSync(path.join(dir, 'dist/renderer'), { recursive: true });
  writeFileSync(path.join(dir, 'dist/renderer/index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  writeFileSync(path.join(dir, 'dist/secret.txt'), 'secret');
  return dir;
}

const tick = () => new Promise((r) => setTimeout(r, 20));

export async function checkMain(file: string): Promise<string[]> {
  const v: string[] = [];
  const state = resetFake(appRoot());
  vi.resetModules();
  await import(pathToFileURL(file).href);
  await tick();

  // Custom protocol: privileged before ready, standard + secure, no CSP bypass, no file:// games.
  const reg = state.log.indexOf('protocol.registerSchemesAsPrivileged');
  if (reg < 0 || reg > state.log.indexOf('app.whenReady')) v.push('app:// must be registered as privileged before the app is ready');
  const scheme = state.schemes.find((s) => s.scheme === 'app');
  if (!scheme) v.push('the app:// scheme is not registered');
  else {
    const p = scheme.privileges ?? {};
    if (p.standard !== true || p.secure !== true) v.push('app:// must be standard and secure');
    for (const k of ['bypassCSP', 'allowServiceWorkers', 'corsEnabled']) if (p[k]) v.push(`app:// must not have the ${k} privilege`);
  }
  if (state.schemes.some((s) => s.scheme === 'file')) v.push('file:// must not be given privileges');
  if (state.log.some((l) => l.includes('FileProtocol'))) v.push('file:// handlers must not be registered or intercepted');
  if (!state.log.includes('app.enableSandbox')) v.push('app.enableSandbox() must be called');

  // One window with the locked-down web preferences, showing app://packscope/.
  if (state.windows.length !== 1) v.push(`exactly one window expected, got ${state.windows.length}`);
  const win = state.windows[0] as FakeWindow | undefined;
  if (!win) return v;
  const wp = win.options.webPreferences ?? {};
  const want: Record<string, boolean> = {
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
  };
  for (const [k, val] of Object.entries(want)) if (wp[k] !== val) v.push(`webPreferences.${k} must be ${val} (is ${wp[k]})`);
  if (typeof wp.preload !== 'string' || !wp.preload.endsWith('preload.cjs')) v.push('the preload must be the bundled CommonJS preload');
  if (!win.url?.startsWith('app://packscope/')) v.push(`the window must load app://packscope/, loads ${win.url}`);

  // The protocol handler serves the renderer only, with the strict CSP.
  const handler = state.protocolHandlers.get('app');
  if (!handler) v.push('no app:// handler');
  else {
    const ok = await handler({ url: 'app://packscope/index.html' });
    const csp = ok.headers.get('content-security-policy') ?? '';
    if (ok.status !== 200) v.push('app://packscope/index.html is not served');
    if (!csp.includes("default-src 'none'") || !csp.includes("script-src 'self'")) v.push(`CSP too weak: ${csp}`);
    if (/unsafe-(inline|eval)|\*/.test(csp)) v.push(`CSP allows unsafe sources: ${csp}`);
    for (const url of [
      'app://packscope/../secret.txt',
      'app://packscope/%2e%2e/secret.txt',
      'app://evil/index.html',
      'app://packscope/..%2fsecret.txt',
      'app://packscope/..%2f..%2fsecret.txt',
      'app://packscope/%2e%2e%2fsecret.txt',
    ]) {
      const r = await handler({ url });
      if (r.status === 200) v.push(`app:// served ${url} from outside the renderer`);
    }
  }

  // Navigation, redirects, webviews and new windows are denied; only allowlisted https opens outside.
  const wc = win.webContents;
  const ev = () => {
    const e = {
      prevented: false,
      preventDefault() {
        e.prevented = true;
      },
    };
    return e;
  };
  for (const url of [...EVIL, 'app://packscope/other.html', ALLOWED]) {
    const e = ev();
    wc.emit('will-navigate', e, url);
    if (!e.prevented) v.push(`navigation to ${url} is not prevented`);
    const r = wc.windowOpenHandler?.({ url });
    if (r?.action !== 'deny') v.push(`window.open(${url}) is not denied`);
  }
  for (const name of ['will-redirect', 'will-attach-webview']) {
    const e = ev();
    wc.emit(name, e, 'https://evil.example/', {}, {});
    if (!e.prevented) v.push(`${name} is not prevented`);
  }
  await tick();
  for (const url of EVIL) if (state.openExternal.includes(url)) v.push(`shell.openExternal opened a URL outside the allowlist: ${url}`);
  if (!state.openExternal.includes(ALLOWED)) v.push('allowlisted https links should open in the browser');

  // Permissions: every request and check denied.
  const ses = state.session;
  for (const perm of ['media', 'geolocation', 'notifications', 'serial', 'hid', 'usb', 'clipboard-read', 'openExternal']) {
    let granted: boolean | null = null;
    ses.permissionRequest?.(wc, perm, (ok) => (granted = ok), {});
    if (granted !== false) v.push(`permission request '${perm}' is not denied`);
    if (ses.permissionCheck?.(wc, perm, 'app://packscope', {}) !== false) v.push(`permission check '${perm}' is not denied`);
  }
  if (!ses.permissionRequest) v.push('no permission request handler');
  if (ses.devicePermission?.({}) !== false) v.push('device permissions are not denied');

  // IPC: one fixed channel, no invoke handlers, sender frame checked.
  const channels = state.ipcOn.map(([c]) => c);
  if (channels.length !== 1 || channels[0] !== IPC_CHANNEL) v.push(`exactly one IPC channel '${IPC_CHANNEL}' expected, got ${JSON.stringify(channels)}`);
  if (state.ipcHandle.length) v.push(`no ipcMain.handle channels expected, got ${state.ipcHandle.join(', ')}`);
  const listener = state.ipcOn.find(([c]) => c === IPC_CHANNEL)?.[1];
  if (listener) {
    const call = (id: number) => ({ t: 'call', id, method: 'app.info', params: {} });
    const replies = () => wc.sent.filter(([, m]) => (m as { t?: string }).t === 'result' || (m as { t?: string }).t === 'error');
    listener({ sender: wc, senderFrame: wc.mainFrame }, call(1));
    await tick();
    if (replies().length !== 1) v.push('the app main frame gets no answer (the check refuses everything)');
    const before = replies().length;
    const sub = { url: 'app://packscope/index.html' };
    listener({ sender: wc, senderFrame: sub }, call(2)); // a subframe
    listener({ sender: wc, senderFrame: null }, call(3)); // a frame gone
    const foreign = { ...wc, mainFrame: { url: 'https://evil.example/' } };
    listener({ sender: wc, senderFrame: { url: 'https://evil.example/' } }, call(4));
    listener({ sender: { ...foreign, id: 9999, send: () => undefined }, senderFrame: foreign.mainFrame }, call(5)); // not our window
    const navigated = wc.mainFrame.url;
    wc.mainFrame.url = 'https://evil.example/';
    listener({ sender: wc, senderFrame: wc.mainFrame }, call(6)); // our window showing another origin
    wc.mainFrame.url = 'app://evil/index.html';
    listener({ sender: wc, senderFrame: wc.mainFrame }, call(7)); // same scheme, another host
    wc.mainFrame.url = navigated;
    await tick();
    if (replies().length !== before) v.push('IPC from an untrusted frame reached the host');
  }
  return v;
}

export async function checkPreload(file: string): Promise<string[]> {
  const v: string[] = [];
  const state = resetFake(appRoot());
  vi.resetModules();
  await import(pathToFileURL(file).href);
  const keys = [...state.exposed.keys()];
  if (keys.length !== 1 || keys[0] !== 'packscope') v.push(`the preload must expose exactly window.packscope, exposes ${JSON.stringify(keys)}`);
  const api = state.exposed.get('packscope') as Record<string, unknown> | undefined;
  if (api) {
    const props = Object.keys(api).sort();
    if (props.join() !== 'call,on') v.push(`window.packscope must offer call and on only, offers ${props.join(', ')}`);
    for (const p of props) if (typeof api[p] !== 'function') v.push(`window.packscope.${p} must be a plain function`);
    void (api.call as (m: string, p: unknown) => Promise<unknown>)('app.info', {}).catch(() => undefined);
    const off = (api.on as (e: string, l: () => void) => unknown)('telemetry', () => undefined);
    if (typeof off !== 'function') v.push('window.packscope.on must return an unsubscribe function');
  }
  const sentChannels = new Set(state.rendererSent.map(([c]) => c));
  if (sentChannels.size !== 1 || !sentChannels.has(IPC_CHANNEL))
    v.push(`the preload must send on '${IPC_CHANNEL}' only, used ${JSON.stringify([...sentChannels])}`);
  const onChannels = [...state.rendererOn.keys()];
  if (onChannels.length !== 1 || onChannels[0] !== IPC_CHANNEL)
    v.push(`the preload must listen on '${IPC_CHANNEL}' only, listens on ${JSON.stringify(onChannels)}`);
  return v;
}

/** The fuses electron-builder flips, as configured. */
export const REQUIRED_FUSES: Record<string, boolean> = {
  runAsNode: false,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  onlyLoadAppFromAsar: true,
  enableEmbeddedAsarIntegrityValidation: true,
  enableCookieEncryption: true,
  grantFileProtocolExtraPrivileges: false,
};

export async function checkFuses(builderYml: string): Promise<string[]> {
  const v: string[] = [];
  const config = (await loadBuilderConfig(builderYml)) as { electronFuses?: Record<string, unknown> };
  const fuses = config.electronFuses ?? {};
  for (const [k, val] of Object.entries(REQUIRED_FUSES)) if (fuses[k] !== val) v.push(`fuse ${k} must be ${val} (is ${String(fuses[k])})`);
  return v;
}

export async function checkShell(files: ShellFiles): Promise<string[]> {
  return [...(await checkMain(files.main)), ...(await checkPreload(files.preload)), ...(await checkFuses(files.builderYml))];
}

/** Silences 'electron' stand-in state between files. */
export function lastFake() {
  return fake();
}
