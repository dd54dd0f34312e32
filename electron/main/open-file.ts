import path from 'node:path';

/** Where a file handed over by the OS opens: a diagnosis package in Verify, a log in Logs. */
export function screenForFile(file: string): 'verify' | 'logs' | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.psdiag') return 'verify';
  if (ext === '.pslog') return 'logs';
  return null;
}

/** The first associated file among command-line arguments (Windows and Linux pass them so). */
export function fileFromArgv(argv: readonly string[]): { screen: 'verify' | 'logs'; path: string } | null {
  for (const a of argv.slice(1)) {
    if (a.startsWith('-')) continue;
    const screen = screenForFile(a);
    if (screen) return { screen, path: path.resolve(a) };
  }
  return null;
}
