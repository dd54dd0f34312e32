import path from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeTheme,
  protocol,
  safeStorage,
  screen,
  session,
  shell,
  type MenuItemConstructorOptions,
  type WebContents,
} from 'electron';
import { APP_ORIGIN, IPC_CHANNEL } from '../../shared/api/ipc.js';
import { createRpcServer, type RpcServerConnection } from '../../shared/api/rpc-server.js';
import { createHostApi, type HostApi } from '../host/api/index.js';
import { guardWindowClose } from './close-guard.js';
import { chooseInstallationKeyStore } from '../host/evidence/key-protection.js';
import { appSchemeRegistration, serveAppRequest } from './app-protocol.js';
import { keyringProbe, safeStorageProtector } from './key-protector.js';
import { fileFromArgv, screenForFile } from './open-file.js';
import { hardenContents, hardenSession, isTrustedSender, webPreferences } from './security.js';
import { createDesktopShell } from './desktop-shell.js';
import { loadWindowState, placeWindow, saveWindowState, THEME_BACKGROUND, type Theme } from './window-state.js';

/**
 * The Electron shell: one window, the host running in this (main) process, the renderer served
 * from app://packscope/ and talking to the host over one IPC channel. Everything here is wiring;
 * the behaviour lives in electron/host (shared with the CLI and `packscope serve`).
 */

// Must happen before 'ready': app:// becomes a standard, secure origin (no file:// privileges).
protocol.registerSchemesAsPrivileged(appSchemeRegistration());
// Every renderer in the sandbox, including any a future change might create.
app.enableSandbox();

const trustedContents = new Set<number>();
const connections = new Map<number, RpcServerConnection>();
let host: HostApi | null = null;
let mainWindow: BrowserWindow | null = null;
let pendingOpen = fileFromArgv(process.argv);

const windowStateFile = () => path.join(app.getPath('userData'), 'window-state.json');
let theme: Theme | null = null;

function rendererRoot(): string {
  return path.join(app.getAppPath(), 'dist/renderer');
}

function preloadPath(): string {
  return path.join(app.getAppPath(), 'dist/electron/preload/preload.cjs');
}

/** One RPC connection per window; a reload starts a fresh one (the page re-subscribes). */
function connect(contents: WebContents): void {
  connections.get(contents.id)?.close();
  const conn = createRpcServer(host!.handlers, host!.events, (m) => {
    if (!contents.isDestroyed()) contents.send(IPC_CHANNEL, m);
  });
  connections.set(contents.id, conn);
}

function openFile(file: string): void {
  const screen = screenForFile(file);
  if (!screen) return;
  if (!mainWindow) {
    pendingOpen = { screen, path: path.resolve(file) };
    return;
  }
  host?.events.emit('open-file', { screen, path: path.resolve(file) });
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

async function chooseFile(title: string, filters: { name: string; extensions: string[] }[]): Promise<void> {
  if (!mainWindow) return;
  const r = await dialog.showOpenDialog(mainWindow, { title, properties: ['openFile'], filters });
  if (!r.canceled && r.filePaths[0]) openFile(r.filePaths[0]);
}

const LOG = { name: 'PackScope log', extensions: ['pslog'] };
const PACKAGE = { name: 'Diagnosis package', extensions: ['psdiag'] };
const IMAGE = { name: 'Firmware image', extensions: ['img', 'hex'] };

function buildMenu(): void {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        // Each file opens on its screen, whichever screen is showing.
        {
          label: 'Open…',
          accelerator: 'CmdOrCtrl+O',
          click: () => void chooseFile('Open', [{ name: 'PackScope files', extensions: ['pslog', 'psdiag', 'img', 'hex'] }, LOG, PACKAGE, IMAGE]),
        },
        { label: 'Open log (.pslog)…', click: () => void chooseFile('Open a log', [LOG]) },
        { label: 'Open diagnosis package (.psdiag)…', accelerator: 'CmdOrCtrl+Shift+O', click: () => void chooseFile('Open a package', [PACKAGE]) },
        { label: 'Open firmware image (.img, .hex)…', click: () => void chooseFile('Open a firmware image', [IMAGE]) },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

export function createWindow(): BrowserWindow {
  // Where and how it was left, in the theme it was left in: no light flash under the dark theme.
  const saved = loadWindowState(windowStateFile());
  theme = saved.theme ?? (nativeTheme.shouldUseDarkColors ? 'dark' : 'light');
  const min = { width: 900, height: 600 };
  const bounds = placeWindow(
    saved.bounds,
    screen.getAllDisplays().map((d) => d.workArea),
    { width: 1320, height: 900 },
    min,
  );
  const win = new BrowserWindow({
    ...bounds,
    minWidth: min.width,
    minHeight: min.height,
    show: false,
    title: 'PackScope',
    backgroundColor: THEME_BACKGROUND[theme],
    webPreferences: webPreferences(preloadPath()),
  });
  guardWindowClose(win, () => host?.jobs.list() ?? [], dialog);
  if (saved.maximized) win.maximize();
  win.on('close', () => saveWindowState(windowStateFile(), { bounds: win.getNormalBounds(), maximized: win.isMaximized(), theme }));
  const contents = win.webContents;
  trustedContents.add(contents.id);
  hardenContents(contents, (url) => shell.openExternal(url));
  connect(contents);
  contents.on('did-finish-load', () => connect(contents));
  const id = contents.id;
  contents.once('destroyed', () => {
    trustedContents.delete(id);
    connections.get(id)?.close();
    connections.delete(id);
  });
  win.once('ready-to-show', () => win.show());
  const hash = pendingOpen ? `#screen=${pendingOpen.screen}&file=${encodeURIComponent(pendingOpen.path)}` : '';
  pendingOpen = null;
  void win.loadURL(`${APP_ORIGIN}/index.html${hash}`);
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  return win;
}

export async function start(): Promise<void> {
  // The installation key (signs diagnosis packages): sealed by the OS keyring where there is one,
  // else a mode-0600 file, and the app says which (key-protection.ts decides).
  const keys = chooseInstallationKeyStore({
    dir: path.join(app.getPath('userData'), 'keys'),
    host: 'electron',
    probe: keyringProbe(safeStorage),
    protector: safeStorageProtector(safeStorage),
  });
  const desktop = createDesktopShell({
    dialog,
    shell,
    window: () => mainWindow,
    setTheme: (t) => {
      theme = t;
      mainWindow?.setBackgroundColor(THEME_BACKGROUND[t]);
    },
  });
  host = createHostApi({ host: 'electron', version: app.getVersion(), keyStore: keys.store, keyProtection: keys.protection, desktop });
  hardenSession(session.defaultSession);
  protocol.handle('app', (request) => serveAppRequest(rendererRoot(), request.url));
  ipcMain.on(IPC_CHANNEL, (event, message: unknown) => {
    // Only the main frame of our own window, showing app://packscope/, may talk to the host.
    if (!isTrustedSender(event.senderFrame, event.sender, trustedContents)) return;
    connections.get(event.sender.id)?.receive(message);
  });
  buildMenu();
  mainWindow = createWindow();
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', (_event, argv) => {
    const f = fileFromArgv(argv);
    if (f) openFile(f.path);
    else if (mainWindow) mainWindow.focus();
  });
  // macOS delivers double-clicked files this way, possibly before 'ready'.
  app.on('open-file', (event, file) => {
    event.preventDefault();
    openFile(file);
  });
  app.on('window-all-closed', () => {
    void host?.dispose().finally(() => app.quit());
  });
  app.on('activate', () => {
    if (!mainWindow && app.isReady()) mainWindow = createWindow();
  });
  void app.whenReady().then(start);
}
