import type { Session, WebContents, WebFrameMain, WebPreferences } from 'electron';
import { APP_HOST, APP_SCHEME } from '../../shared/api/ipc.js';

/**
 * The shell's security settings in one place, so the invariants suite (tests/unit/security) can
 * check them and a reviewer can read them at a glance. The renderer is untrusted web content:
 * it gets no Node, no Electron, runs in Chromium's sandbox in its own JavaScript world, and
 * reaches the host only through the preload's one object over one IPC channel.
 */
export function webPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: process.env.PACKSCOPE_DEVTOOLS === '1',
  };
}

/**
 * https pages the app may open in the user's browser (documentation, support). Everything else is
 * refused: a compromised renderer must not turn shell.openExternal into a program launcher.
 */
export const EXTERNAL_ALLOWLIST: readonly string[] = ['https://github.com/packscope/packscope', 'https://packscope.org/'];

export function isAllowedExternal(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port) return false;
  const normal = u.origin + u.pathname;
  return EXTERNAL_ALLOWLIST.some((prefix) => normal === prefix || normal.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'));
}

/** True for the app's own pages (app://packscope/...). */
export function isAppUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/** An IPC message is accepted only from the main frame of a window the app made, showing the app. */
export function isTrustedSender(frame: WebFrameMain | null | undefined, contents: WebContents, trusted: ReadonlySet<number>): boolean {
  if (!frame) return false;
  if (!trusted.has(contents.id)) return false;
  if (frame !== contents.mainFrame) return false;
  return isAppUrl(frame.url);
}

/** Denies every permission (camera, geolocation, notifications, serial, HID, USB, ...). */
export function hardenSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.on('will-download', (event) => event.preventDefault());
}

/**
 * Navigation and new windows are denied; allowlisted https links open in the user's browser.
 * `openExternal` is shell.openExternal (passed in so this module needs no runtime import).
 */
export function hardenContents(contents: WebContents, openExternal: (url: string) => Promise<void>): void {
  const maybeOpen = (url: string) => {
    if (isAllowedExternal(url)) void openExternal(url);
  };
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    maybeOpen(url);
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    maybeOpen(url);
    return { action: 'deny' };
  });
}
