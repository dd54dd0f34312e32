import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { contentSecurityPolicy, SECURITY_HEADERS } from '../../shared/api/csp.js';
import { APP_HOST, APP_SCHEME } from '../../shared/api/ipc.js';
import { contentType } from '../host/serve/static.js';

/**
 * The app:// scheme: registered before the app is ready as standard + secure (so the renderer
 * has a real origin, fetch and a secure context), without bypassing CSP, without file://-style
 * privileges. Pages are served from the built renderer only, with the strict CSP attached.
 */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  allowServiceWorkers: false,
  bypassCSP: false,
  corsEnabled: false,
  stream: false,
  codeCache: false,
} as const;

export function appSchemeRegistration() {
  return [{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }];
}

export function appResponseHeaders(file: string): Record<string, string> {
  return { 'Content-Type': contentType(file), 'Content-Security-Policy': contentSecurityPolicy(), ...SECURITY_HEADERS };
}

/** Answers one app:// request from `root` (dist/renderer); anything outside it is a 404. */
export async function serveAppRequest(root: string, url: string): Promise<Response> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new Response('bad request', { status: 400 });
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return new Response('not found', { status: 404 });
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return new Response('not found', { status: 404 });
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const rootAbs = path.resolve(root);
  const file = path.resolve(rootAbs, '.' + rel);
  if (rel.includes('\0') || !file.startsWith(rootAbs + path.sep)) return new Response('not found', { status: 404 });
  try {
    if (!(await stat(file)).isFile()) return new Response('not found', { status: 404 });
    return new Response(new Uint8Array(await readFile(file)), { status: 200, headers: appResponseHeaders(file) });
  } catch {
    return new Response('not found', { status: 404 });
  }
}
