import { errorToPlain, isPackscopeError } from '../../../shared/errors.js';
import { COMMANDS } from './commands/index.js';
import type { CliContext } from './context.js';
import { EXIT, EXIT_BY_ERROR } from './exit-codes.js';
import { packageVersion } from '../util/package-root.js';

async function helpText(): Promise<string> {
  const lines = ['Usage: packscope <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const mod = (await load()).default;
    lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  lines.push('', 'Global options: --version, --help. Every command takes --json and --help.');
  lines.push('Exit codes: 0 ok, 1 internal error, 2 usage, 3 no device/permission, 4 disconnected,');
  lines.push('  5 device error/timeout, 6 verification failed, 7 refused, 8 bad input file, 9 I/O error, 130 cancelled.');
  return lines.join('\n');
}

/**
 * A reader that closes its end of the pipe early (`packscope ports | head -1`) has what it wanted:
 * that is not a failure. Output to the closed stream is dropped, a closed stdout cancels the command
 * as Ctrl-C would (so a monitor or an export stops cleanly), and the exit code is 0 with nothing
 * printed (README, "Exit codes"). The guard stays for the life of the process, because EPIPE is
 * reported asynchronously, possibly after the command has returned.
 */
const closedStreams = new Set<NodeJS.WriteStream>();
const onStdoutClosed = new Set<() => void>();
let pipesGuarded = false;

function guardPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && !closedStreams.has(stream)) throw e;
      closedStreams.add(stream);
      if (stream === process.stdout) for (const l of onStdoutClosed) l();
    });
  }
}

/** True when an error is a write to a pipe whose reader has gone (EPIPE), from any writer. */
function isClosedPipe(e: unknown): boolean {
  const errno = isPackscopeError(e) ? (e.details as { errno?: unknown } | undefined)?.errno : (e as NodeJS.ErrnoException | undefined)?.code;
  return errno === 'EPIPE';
}

/** Creates the process-level context: stdout/stderr and an AbortSignal tied to SIGINT/SIGTERM. */
export function processContext(): CliContext & { dispose(): void; outputClosed(): boolean } {
  const ac = new AbortController();
  const onSignal = () => ac.abort(new Error('interrupted'));
  const onClosed = () => ac.abort(new Error('standard output closed'));
  guardPipes();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  onStdoutClosed.add(onClosed);
  const write = (stream: NodeJS.WriteStream, line: string) => {
    if (!closedStreams.has(stream)) stream.write(line + '\n');
  };
  return {
    out: (line) => write(process.stdout, line),
    err: (line) => write(process.stderr, line),
    signal: ac.signal,
    isTTY: Boolean(process.stderr.isTTY),
    outputClosed: () => closedStreams.has(process.stdout),
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      onStdoutClosed.delete(onClosed);
    },
  };
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  const [name, ...rest] = argv;
  const wantsJson = rest.includes('--json');
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      ctx.out(await helpText());
      return name === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      ctx.out(wantsJson ? JSON.stringify({ version: packageVersion() }) : `packscope ${packageVersion()}`);
      return EXIT.OK;
    }
    const load = COMMANDS[name];
    if (!load) {
      ctx.err(`packscope: unknown command '${name}'. Run 'packscope --help' for the list.`);
      return EXIT.USAGE;
    }
    const mod = (await load()).default;
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.out(mod.helpText ? await mod.helpText() : mod.usage);
      return EXIT.OK;
    }
    const code = await mod.run(rest, ctx);
    return (ctx as { outputClosed?: () => boolean }).outputClosed?.() ? EXIT.OK : code;
  } catch (e) {
    if ((ctx as { outputClosed?: () => boolean }).outputClosed?.() || isClosedPipe(e)) return EXIT.OK;
    const plain = errorToPlain(e);
    if (wantsJson) ctx.out(JSON.stringify({ error: plain }));
    ctx.err(`packscope: ${plain.message}`);
    if (!isPackscopeError(e) && e instanceof Error && process.env.PACKSCOPE_DEBUG) ctx.err(e.stack ?? '');
    return EXIT_BY_ERROR[plain.code];
  } finally {
    (ctx as { dispose?: () => void }).dispose?.();
  }
}
