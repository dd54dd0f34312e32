import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { CLI, firstLineOf } from '../integration/cli-process.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SCREENSHOTS = path.join(ROOT, 'tests/artifacts/screenshots');
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function requireTools(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`end-to-end tests need Debian's Chromium at ${CHROMIUM}: apt-get install chromium`);
  if (!existsSync(path.join(ROOT, 'dist/renderer/index.html')))
    throw new Error("no built renderer in dist/renderer: run 'npm run build' first (npm test does)");
}

export interface Served {
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `packscope serve` on a free port with its own data folder; resolves with the URL it printed. */
export async function startServe(extra: string[] = [], env: Record<string, string> = {}, opts: { unprivileged?: boolean } = {}): Promise<Served> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-'));
  let cmd = process.execPath;
  let args = [CLI, 'serve', '--json', ...extra];
  // As root every open() succeeds; an ordinary user's view (EACCES) needs an ordinary user.
  if (opts.unprivileged && process.getuid?.() === 0) {
    if (!existsSync('/usr/bin/setpriv')) throw new Error('running as root: the permission test needs setpriv (util-linux) to drop to an ordinary user');
    chmodSync(dataDir, 0o777);
    args = ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args];
    cmd = '/usr/bin/setpriv';
  }
  const child = spawn(cmd, args, {
    cwd: ROOT,
    // Own data and config folders: the installation key of a test run never touches the user's.
    env: { ...process.env, PACKSCOPE_DATA_DIR: dataDir, HOME: dataDir, PACKSCOPE_CONFIG_DIR: path.join(dataDir, '.config', 'packscope'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const first = await firstLineOf(child, 'serve', () => err, 30_000);
  const { url, port } = JSON.parse(first) as { url: string; port: number };
  return {
    url,
    port,
    dataDir,
    child,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  requireTools();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** The served app and the browser a test file drives it with. */
export interface AppUnderTest {
  readonly served: Served;
  readonly browser: Browser;
}

/**
 * Starts `packscope serve` (its own data and config folders, so a fresh installation key) and
 * Chromium before a file's tests, and stops both after them. Read the fields inside tests or hooks.
 */
export function serveAndLaunch(setup?: (app: AppUnderTest) => Promise<void>): AppUnderTest {
  const app = {} as { served: Served; browser: Browser };
  beforeAll(async () => {
    app.served = await startServe();
    app.browser = await launch();
    await setup?.(app);
  });
  afterAll(async () => {
    await app.browser?.close();
    await app.served?.stop();
  });
  return app;
}

/** A page that records console errors and CSP violations, so a test can assert there were none. */
export async function newPage(browser: Browser, theme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: theme, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return { page, problems };
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Calls the host over the bridge from the test itself (setting up what a page cannot). */
export async function bridgeCall(s: Served, method: string, params: unknown): Promise<any> {
  const { default: WebSocket } = await import('ws');
  const token = new URL(s.url).hash.replace('#token=', '');
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/rpc`, { origin: `http://127.0.0.1:${s.port}` });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(JSON.stringify({ t: 'call', id: 1, method, params, token }));
  const reply = await new Promise<Record<string, any>>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
  ws.close();
  if (reply.t !== 'result') throw new Error(JSON.stringify(reply));
  return reply.value;
}

/** Connects the page to a port through the Connect screen. */
export async function connectTo(page: Page, port: string): Promise<void> {
  await page.getByTestId('nav-connect').click();
  // The screen shows either the connected board or the form; wait for one (a loaded machine may
  // not have drawn either yet) before deciding which it is.
  const connected = page.getByTestId('connected');
  const form = page.getByLabel('Port path');
  await connected.or(form).first().waitFor({ timeout: 30_000 });
  if (await connected.isVisible()) return;
  await form.fill(port);
  await page.getByTestId('connect').click();
  await page.getByTestId('connected').waitFor({ timeout: 30_000 });
}
