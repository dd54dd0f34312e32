import type { BrowserWindow, Dialog, Event } from 'electron';
import type { JobView } from '../../shared/api/contract.js';

/**
 * Closing the window while a flash, a black-box download or a recording runs asks first: the host
 * stops them safely when the app quits (a flash is cancelled between safe points, a download keeps
 * its partial file, a recording is completed), but the person at the bench should decide that
 * knowingly. The main window code calls guardWindowClose once per window.
 */
export interface CloseWarning {
  message: string;
  detail: string;
}

const WHAT: Partial<Record<JobView['kind'], string>> = {
  flash: 'The firmware update stops (the board keeps its current firmware; flash again to finish it).',
  pull: 'The black-box download stops (what arrived is kept; resume it on the Logs screen).',
  recording: 'The recording ends (the file is completed with what was recorded).',
};

/** What to ask before closing, or null when nothing guarded runs. */
export function closeWarning(jobs: readonly JobView[]): CloseWarning | null {
  const guarded = jobs.filter((j) => j.state === 'running' && j.guard);
  if (!guarded.length) return null;
  const names = guarded.map((j) => j.title);
  return {
    message:
      guarded.length === 1 ? `${names[0]} is still running. Close PackScope anyway?` : `${guarded.length} jobs are still running. Close PackScope anyway?`,
    detail: [...(guarded.length > 1 ? names.map((n) => `• ${n}`) : []), ...new Set(guarded.map((j) => WHAT[j.kind]).filter(Boolean))].join('\n'),
  };
}

export function guardWindowClose(win: BrowserWindow, jobs: () => readonly JobView[], dialog: Pick<Dialog, 'showMessageBoxSync'>): void {
  let confirmed = false;
  win.on('close', (event: Event) => {
    if (confirmed) return;
    const warning = closeWarning(jobs());
    if (!warning) return;
    const choice = dialog.showMessageBoxSync(win, {
      type: 'warning',
      title: 'PackScope is still working',
      message: warning.message,
      detail: warning.detail,
      buttons: ['Keep PackScope open', 'Close anyway'],
      defaultId: 0,
      cancelId: 0,
      noLink: true,
    });
    if (choice === 0) event.preventDefault();
    else confirmed = true;
  });
}
