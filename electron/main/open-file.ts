import path from 'node:path';
import { screenForName, type OpenScreen } from '../../shared/api/desktop.js';

/** Where a file handed over by the OS opens: a package in Verify, a log in Logs, an image in Firmware. */
export function screenForFile(file: string): OpenScreen | null {
  return screenForName(path.basename(file));
}

/** The first associated file among command-line arguments (Windows and Linux pass them so). */
export function fileFromArgv(argv: readonly string[]): { screen: OpenScreen; path: string } | null {
  for (const a of argv.slice(1)) {
    if (a.startsWith('-')) continue;
    const screen = screenForFile(a);
    if (screen) return { screen, path: path.resolve(a) };
  }
  return null;
}
