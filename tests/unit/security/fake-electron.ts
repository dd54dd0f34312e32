import { EventEmitter } from 'node:events';

/**
 * A recording stand-in for the 'electron' module: enough of app, BrowserWindow, protocol,
 * session, ipcMain, shell, contextBridge and ipcRenderer for the shell and the preload to load,
 * with every security-relevant call kept so the invariants can be checked from the outside.
 * State lives on globalThis so it survives vi.resetModules() between loads.
 */
export class FakeFrame {
  constructor(public url: string) {}
}

export class FakeWebContents extends EventEmitter {
  static nextId = 1;
  id = FakeWebContents.nextId++;
  mainFrame = new FakeFrame('app://packscope/index.html');
  windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null;
  sent: Array<[string, unknown]> = [];
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = h;
  }
  send(channel: string, message: unknown) {
    this.sent.push([channel, message]);
  }
  isDestroyed() {
    return false;
  }
}

export class FakeWindow extends EventEmitter {
  webContents = new FakeWebContents();
  url: string | null = null;
  constructor(public options: Record<string, any>) {
    super();
    fake().windows.push(this);
  }
  loadURL(url: string) {
    this.url = url;
    return Promise.resolve();
  }
  show() {}
  focus() {}
  restore() {}
  isMinimized() {
    return false;
  }
  maximize() {}
  isMaximized() {
    return false;
  }
  getNormalBounds() {
    return { x: 0, y: 0, width: this.options.width ?? 1320, height: this.options.height ?? 900 };
  }
  setBackgroundColor(color: string) {
    this.options.backgroundColor = color;
  }
}

export class FakeSession extends EventEmitter {
  permissionRequest: ((wc: unknown, permission: string, cb: (ok: boolean) => void, details?: unknown) => void) | null = null;
  permissionCheck: ((...a: unknown[]) => boolean) | null = null;
  devicePermission: ((...a: unknown[]) => boolean) | null = null;
  setPermissionRequestHandler(h: FakeSession['permissionRequest']) {
    this.permissionRequest = h;
  }
  setPermissionCheckHandler(h: FakeSession['permissionCheck']) {
    this.permissionCheck = h;
  }
  setDevicePermissionHandler(h: FakeSession['devicePermission']) {
    this.devicePermission = h;
  }
}

export interface FakeState {
  log: string[];
  schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>;
  windows: FakeWindow[];
  ipcOn: Array<[string, (event: any, message: unknown) => void]>;
  ipcHandle: string[];
  protocolHandlers: Map<string, (req: { url: string }) => Promise<Response> | Response>;
  session: FakeSession;
  openExternal: string[];
  appEvents: Map<string, Array<(...a: any[]) => void>>;
  exposed: Map<string, unknown>;
  rendererSent: Array<[string, unknown]>;
  rendererOn: Map<string, (event: unknown, message: unknown) => void>;
  appPath: string;
}

const KEY = '__packscopeFakeElectron';

export function fake(): FakeState {
  return (globalThis as any)[KEY];
}

export function resetFake(appPath: string): FakeState {
  const s: FakeState = {
    log: [],
    schemes: [],
    windows: [],
    ipcOn: [],
    ipcHandle: [],
    protocolHandlers: new Map(),
    session: new FakeSession(),
    openExternal: [],
    appEvents: new Map(),
    exposed: new Map(),
    rendererSent: [],
    rendererOn: new Map(),
    appPath,
  };
  (globalThis as any)[KEY] = s;
  return s;
}

/** The module object vi.mock('electron') returns. */
export function electronModule() {
  const app = {
    enableSandbox: () => fake().log.push('app.enableSandbox'),
    requestSingleInstanceLock: () => true,
    quit: () => fake().log.push('app.quit'),
    isReady: () => true,
    getVersion: () => '0.0.0-test',
    getAppPath: () => fake().appPath,
    getPath: (name: string) => `${fake().appPath}/${name}`,
    on: (name: string, fn: (...a: any[]) => void) => {
      const m = fake().appEvents;
      m.set(name, [...(m.get(name) ?? []), fn]);
      return app;
    },
    whenReady: () => {
      fake().log.push('app.whenReady');
      return Promise.resolve();
    },
  };
  return {
    app,
    BrowserWindow: FakeWindow,
    protocol: {
      registerSchemesAsPrivileged: (schemes: FakeState['schemes']) => {
        fake().log.push('protocol.registerSchemesAsPrivileged');
        fake().schemes.push(...schemes);
      },
      handle: (scheme: string, h: (req: { url: string }) => Promise<Response>) => fake().protocolHandlers.set(scheme, h),
      registerFileProtocol: () => fake().log.push('protocol.registerFileProtocol'),
      interceptFileProtocol: () => fake().log.push('protocol.interceptFileProtocol'),
    },
    session: {
      get defaultSession() {
        return fake().session;
      },
    },
    ipcMain: {
      on: (channel: string, fn: (event: any, message: unknown) => void) => fake().ipcOn.push([channel, fn]),
      handle: (channel: string) => fake().ipcHandle.push(channel),
    },
    shell: {
      openExternal: async (url: string) => {
        fake().openExternal.push(url);
      },
      showItemInFolder: () => undefined,
      openPath: async () => '',
    },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'gnome_libsecret',
      encryptString: (s: string) => Buffer.from('sealed:' + s),
      decryptString: (b: Buffer) => b.toString().replace(/^sealed:/, ''),
    },
    dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }) },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    nativeTheme: { shouldUseDarkColors: false },
    webUtils: { getPathForFile: () => '' },
    Menu: { setApplicationMenu: () => undefined, buildFromTemplate: (t: unknown) => t },
    contextBridge: {
      exposeInMainWorld: (key: string, value: unknown) => fake().exposed.set(key, value),
    },
    ipcRenderer: {
      send: (channel: string, message: unknown) => fake().rendererSent.push([channel, message]),
      on: (channel: string, fn: (event: unknown, message: unknown) => void) => fake().rendererOn.set(channel, fn),
      invoke: async () => undefined,
    },
  };
}
