import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenForName } from '../../../shared/api/desktop.js';
import { ClaimDraftStore } from '../../../electron/host/desktop/claim-draft.js';
import { importChunk } from '../../../electron/host/desktop/file-import.js';
import { DesktopAccess } from '../../../electron/host/desktop/shell.js';
import { safeStem, uniquePath } from '../../../electron/host/desktop/unique-path.js';
import { createDesktopShell } from '../../../electron/main/desktop-shell.js';
import { fileFromArgv } from '../../../electron/main/open-file.js';
import { loadWindowState, placeWindow, saveWindowState, THEME_BACKGROUND } from '../../../electron/main/window-state.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ps-desktop-'));

describe('files open on their screen', () => {
  it('by extension, from any folder and from the command line', () => {
    expect(screenForName('/a/b/claim.PSDIAG')).toBe('verify');
    expect(screenForName('pack.pslog')).toBe('logs');
    expect(screenForName('fw-1.2.img')).toBe('firmware');
    expect(screenForName('fw.hex')).toBe('firmware');
    expect(screenForName('notes.txt')).toBeNull();
    expect(screenForName('pslog')).toBeNull();
    expect(fileFromArgv(['packscope', '--flag', '/x/fw.hex'])).toEqual({ screen: 'firmware', path: '/x/fw.hex' });
  });
});

describe('window bounds and theme', () => {
  const display = { x: 0, y: 0, width: 1920, height: 1080 };
  const size = { width: 1320, height: 900 };
  const min = { width: 900, height: 600 };

  it('reopens where it was left, on a display that still exists, shrunk to fit it', () => {
    expect(placeWindow({ x: 100, y: 50, width: 1000, height: 700 }, [display], size, min)).toEqual({ x: 100, y: 50, width: 1000, height: 700 });
    expect(placeWindow({ x: 1500, y: 50, width: 3000, height: 2000 }, [display], size, min)).toEqual({ x: 0, y: 0, width: 1920, height: 1080 });
    // The second monitor is gone: default size, placed by the system.
    expect(placeWindow({ x: 2500, y: 100, width: 1000, height: 700 }, [display], size, min)).toEqual({ width: 1000, height: 700 });
    expect(placeWindow(null, [display], size, min)).toEqual(size);
  });

  it('remembers bounds, maximised and theme; a damaged file is a fresh start', () => {
    const file = path.join(tmp(), 'window-state.json');
    expect(loadWindowState(file)).toEqual({ bounds: null, maximized: false, theme: null });
    saveWindowState(file, { bounds: { x: 1, y: 2, width: 1000, height: 700 }, maximized: true, theme: 'dark' });
    expect(loadWindowState(file)).toEqual({ bounds: { x: 1, y: 2, width: 1000, height: 700 }, maximized: true, theme: 'dark' });
    writeFileSync(file, '{"bounds":{"x":"a"},"theme":"purple"');
    expect(loadWindowState(file)).toEqual({ bounds: null, maximized: false, theme: null });
  });

  it("paints the window in the page's own background for each theme", () => {
    const css = readFileSync(path.resolve(import.meta.dirname, '../../../renderer/theme.css'), 'utf8');
    const bg = (block: string) => /--bg:\s*(#[0-9a-f]{6})/.exec(css.slice(css.indexOf(block)))![1];
    expect(THEME_BACKGROUND.light).toBe(bg(':root {'));
    expect(THEME_BACKGROUND.dark).toBe(bg(":root[data-theme='dark']"));
  });
});

describe('native dialogs through the host', () => {
  it('maps requests to the dialogs, cancel to null, and opens only reports the host wrote', async () => {
    const calls: unknown[] = [];
    const opened: string[] = [];
    const shell = createDesktopShell({
      dialog: {
        showOpenDialog: (async (_w: unknown, o: unknown) => (calls.push(o), { canceled: false, filePaths: ['/x/a.pslog'] })) as never,
        showSaveDialog: (async () => ({ canceled: true })) as never,
      },
      shell: { showItemInFolder: (p: string) => opened.push(`folder:${p}`), openPath: async (p: string) => (opened.push(p), '') },
      window: () => ({}) as never,
      setTheme: () => undefined,
    });
    const access = new DesktopAccess(shell);
    expect(await access.openDialog({ title: 'Open', filters: [{ name: 'Log', extensions: ['pslog'] }], select: 'file' })).toEqual(['/x/a.pslog']);
    expect(calls[0]).toMatchObject({ properties: ['openFile'], filters: [{ name: 'Log', extensions: ['pslog'] }] });
    // Several packages at once, or a folder of them (no filters: a folder has no extension).
    await access.openDialog({ title: 'Packages', filters: [{ name: 'Package', extensions: ['psdiag'] }], select: 'files' });
    expect(calls[1]).toMatchObject({ properties: ['openFile', 'multiSelections'], filters: [{ name: 'Package', extensions: ['psdiag'] }] });
    await access.openDialog({ title: 'Folder', filters: [{ name: 'Package', extensions: ['psdiag'] }], select: 'folder' });
    expect(calls[2]).toMatchObject({ properties: ['openDirectory'], filters: [] });
    expect(await access.saveDialog({ title: 'Save', defaultPath: '/x/p.psdiag', filters: [] })).toBeNull();
    await expect(access.openPath('/etc/passwd')).rejects.toMatchObject({ code: 'REFUSED' });
    access.wroteReport('/data/report.html');
    await access.openPath('/data/report.html');
    expect(opened).toEqual(['/data/report.html']);
    await expect(new DesktopAccess(null).openDialog({ title: 'x', filters: [], select: 'file' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('fresh names and dropped files', () => {
  it('never reuses a name: -2, -3 …; names are made safe', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'claim-A1-2026-12-07.psdiag'), '');
    writeFileSync(path.join(dir, 'claim-A1-2026-12-07-2.psdiag'), '');
    expect(uniquePath(dir, 'claim-A1-2026-12-07', '.psdiag')).toBe(path.join(dir, 'claim-A1-2026-12-07-3.psdiag'));
    expect(safeStem('../x/y z')).toBe('__x_y_z');
  });

  it('uploads a dropped file in chunks under a temporary name, then a fresh name', () => {
    const dir = tmp();
    const bytes = Buffer.from('0123456789');
    const up = (offset: number, part: Buffer, final: boolean) =>
      importChunk(dir, { name: 'pack.pslog', uploadId: 'abcdefgh', offset, base64: part.toString('base64'), final });
    expect(up(0, bytes.subarray(0, 4), false)).toEqual({ path: null, bytes: 4 });
    expect(() => up(3, bytes.subarray(3), true)).toThrow(/at byte 4/);
    const done = up(4, bytes.subarray(4), true);
    expect(done.path).toBe(path.join(dir, 'dropped', 'pack.pslog'));
    expect(readFileSync(done.path!).equals(bytes)).toBe(true);
    expect(readdirSync(path.join(dir, 'dropped'))).toEqual(['pack.pslog']);
    expect(() => importChunk(dir, { name: 'x.exe', uploadId: 'abcdefgh', offset: 0, base64: '', final: true })).toThrow(/not a file PackScope opens/);
  });
});

describe('the claim draft', () => {
  const draft = {
    logPath: '/d/pack.pslog',
    ticketPath: '',
    form: {
      customer: 'Erika',
      contact: 'e@x.org',
      model: 'M',
      serial: 'S',
      purchaseDate: '2026-01-02',
      failureDate: '',
      description: 'd',
      remedy: 'repair' as const,
    },
    photos: [{ path: '/d/a.png', name: 'a.png', bytes: 10, kind: 'png' as const }],
    out: null,
  };

  it('outlives the store (a restart), privately; forgetting removes the file; a damaged file is no draft', () => {
    const file = path.join(tmp(), 'cfg', 'claim-draft.json');
    new ClaimDraftStore(file).set(draft);
    expect(new ClaimDraftStore(file).get()).toEqual(draft);
    if (process.platform !== 'win32') expect(readdirSync(path.dirname(file)).length).toBe(1);
    new ClaimDraftStore(file).set(null);
    expect(new ClaimDraftStore(file).get()).toBeNull();
    writeFileSync(file, '{"logPath": 3}');
    expect(new ClaimDraftStore(file).get()).toBeNull();
    const mem = new ClaimDraftStore(null);
    mem.set(draft);
    expect(mem.get()).toEqual(draft);
  });
});
