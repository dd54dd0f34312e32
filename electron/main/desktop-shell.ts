/**
 * The host's DesktopShell (native dialogs, show in folder, open with the system, the theme) made
 * from Electron's dialog and shell. Only types come from Electron: the shell passes the objects
 * in, so this module loads and is tested in plain Node.
 */
import type { BrowserWindow, Dialog, Shell } from 'electron';
import { PackscopeError } from '../../shared/errors.js';
import type { DesktopShell } from '../host/desktop/shell.js';
import type { Theme } from './window-state.js';

export interface ShellDeps {
  dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>;
  shell: Pick<Shell, 'showItemInFolder' | 'openPath'>;
  window(): BrowserWindow | null;
  setTheme(theme: Theme): void;
}

export function createDesktopShell(d: ShellDeps): DesktopShell {
  const parent = () => {
    const w = d.window();
    if (!w) throw new PackscopeError('USAGE', 'the PackScope window is closed');
    return w;
  };
  return {
    async openDialog(req) {
      const r = await d.dialog.showOpenDialog(parent(), {
        title: req.title,
        properties: req.select === 'folder' ? ['openDirectory'] : req.select === 'files' ? ['openFile', 'multiSelections'] : ['openFile'],
        filters: req.select === 'folder' ? [] : req.filters,
        ...(req.defaultPath ? { defaultPath: req.defaultPath } : {}),
      });
      return r.canceled ? [] : r.filePaths;
    },
    async saveDialog(req) {
      const r = await d.dialog.showSaveDialog(parent(), {
        title: req.title,
        defaultPath: req.defaultPath,
        filters: req.filters,
        properties: ['showOverwriteConfirmation'],
      });
      return r.canceled ? null : (r.filePath ?? null);
    },
    showInFolder(file) {
      d.shell.showItemInFolder(file);
    },
    async openPath(file) {
      const why = await d.shell.openPath(file);
      if (why) throw new PackscopeError('IO', `the system could not open ${file}: ${why}`);
    },
    setTheme: (theme) => d.setTheme(theme),
  };
}
