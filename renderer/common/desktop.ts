/**
 * The desktop basics as the renderer uses them: native Open and Save dialogs where the host has
 * them (Electron), files dropped on the window routed to the screen that opens them, and the
 * theme handed to the window. In the browser host the same calls fall back to the page's own file
 * browser and a chunked upload of dropped files.
 */
import { useEffect, useState } from 'react';
import { screenForName, IMPORT_CHUNK_BYTES, type OpenScreen } from '../../shared/api/desktop.js';
import type { PackscopeApi } from '../../shared/api/contract.js';
import { base64Encode } from '../../shared/util/base64.js';

export interface DialogFilter {
  name: string;
  extensions: string[];
}

/** The native Open dialog; null when cancelled. Only call it where app.info says desktop. */
export async function nativeOpen(api: PackscopeApi, title: string, filters: DialogFilter[], defaultPath?: string): Promise<string | null> {
  return (await api.call('desktop.openDialog', { title, filters, ...(defaultPath ? { defaultPath } : {}) })).path;
}

/** The native Open dialog for several files or one folder; none when cancelled. */
export async function nativeOpenMany(
  api: PackscopeApi,
  title: string,
  filters: DialogFilter[],
  select: 'files' | 'folder',
  defaultPath?: string,
): Promise<string[]> {
  return (await api.call('desktop.openDialog', { title, filters, select, ...(defaultPath ? { defaultPath } : {}) })).paths;
}

/** The native Save dialog; null when cancelled. */
export async function nativeSave(api: PackscopeApi, title: string, defaultPath: string, filters: DialogFilter[]): Promise<string | null> {
  return (await api.call('desktop.saveDialog', { title, defaultPath, filters })).path;
}

/** The folder and the name of a host path (either separator: the host may be Windows). */
export function splitPath(p: string): { dir: string; name: string } {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i < 0 ? { dir: '', name: p } : { dir: p.slice(0, i) || p.slice(0, 1), name: p.slice(i + 1) };
}

/**
 * A file dropped on the browser page, uploaded into the host's data folder (the host may be
 * another machine); its path there. Null for a file PackScope does not open. (In the desktop app
 * the preload hands dropped files to the host by path instead.)
 */
export async function droppedFile(api: PackscopeApi, file: File): Promise<{ screen: OpenScreen; path: string } | null> {
  const screen = screenForName(file.name);
  if (!screen) return null;
  const uploadId = `drop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  let offset = 0;
  for (;;) {
    const chunk = new Uint8Array(await file.slice(offset, offset + IMPORT_CHUNK_BYTES).arrayBuffer());
    const final = offset + chunk.length >= file.size;
    const r = await api.call('files.import', { name: file.name, uploadId, offset, base64: base64Encode(chunk), final });
    offset += chunk.length;
    if (final) return r.path ? { screen, path: r.path } : null;
  }
}

/** A download link for a report the host wrote, for the browser (where the system cannot open it). */
export function useDownloadHref(html: string | null, enabled: boolean): string | null {
  const [href, setHref] = useState<string | null>(null);
  useEffect(() => {
    if (html === null || !enabled) return;
    const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [html, enabled]);
  return href;
}
