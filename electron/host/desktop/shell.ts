/**
 * What the desktop shell (Electron's main process) lends the host: native Open and Save dialogs,
 * show in folder, open with the system, and the window's theme. The host never imports Electron;
 * electron/main passes an implementation in, and `packscope serve` runs without one (the page then
 * uses its in-app file browser and a download instead).
 */
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { Params } from '../../../shared/api/contract.js';

export interface DesktopShell {
  /** The chosen paths; none when cancelled. */
  openDialog(req: Params<'desktop.openDialog'>): Promise<string[]>;
  saveDialog(req: Params<'desktop.saveDialog'>): Promise<string | null>;
  showInFolder(file: string): void;
  /** Opens a file with the system's default application. */
  openPath(file: string): Promise<void>;
  setTheme(theme: 'light' | 'dark'): void;
}

/**
 * The shell as the API exposes it. Opening with the system is limited to the reports this host
 * wrote in this run: the page must not be able to launch arbitrary files.
 */
export class DesktopAccess {
  private readonly reports = new Set<string>();

  constructor(private readonly shell: DesktopShell | null) {}

  get available(): boolean {
    return this.shell !== null;
  }

  private need(): DesktopShell {
    if (!this.shell) throw new PackscopeError('USAGE', 'only the desktop app has native dialogs; this page uses its own file browser');
    return this.shell;
  }

  /** A report this host wrote: it may be opened with the system. */
  wroteReport(file: string): void {
    this.reports.add(path.resolve(file));
  }

  async openDialog(req: Params<'desktop.openDialog'>): Promise<string[]> {
    return this.need().openDialog(req);
  }

  async saveDialog(req: Params<'desktop.saveDialog'>): Promise<string | null> {
    return this.need().saveDialog(req);
  }

  showInFolder(file: string): void {
    this.need().showInFolder(path.resolve(file));
  }

  async openPath(file: string): Promise<void> {
    const abs = path.resolve(file);
    if (!this.reports.has(abs)) throw new PackscopeError('REFUSED', `${path.basename(abs)} is not a report PackScope wrote; open it from your file manager`);
    await this.need().openPath(abs);
  }

  setTheme(theme: 'light' | 'dark'): void {
    this.shell?.setTheme(theme);
  }
}
