import { main } from '../../../electron/host/cli/main.js';

/** Runs one CLI invocation in-process and captures its output. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
