import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PackscopeError } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/util/clock.js';
import { EXIT } from './exit-codes.js';

/** What a command gets: its arguments and the three output channels. Tests pass their own sinks. */
export interface CliContext {
  /** Standard output: results (human text, or one JSON document / JSON lines with --json). */
  out(line: string): void;
  /** Standard error: progress, warnings and error messages. */
  err(line: string): void;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
  /** True when stderr is a terminal (progress may redraw one line). */
  isTTY: boolean;
  /**
   * Time base of the device commands: their session, an in-process sim: board, --duration
   * (default: the real clock). Tests pass a VirtualClock.
   */
  clock?: Clock;
}

export interface CommandModule {
  /** One line for `packscope --help`. */
  summary: string;
  /** Full usage text for `packscope CMD --help`. */
  usage: string;
  /** Usage assembled at run time (e.g. from lazily loaded back ends); preferred over `usage`. */
  helpText?(): Promise<string>;
  /** Runs the command; resolves to the exit code. Throw PackscopeError for typed failures. */
  run(argv: string[], ctx: CliContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict argument parsing with a usage error (exit 2) instead of a stack trace.
 * Every command accepts --json and --help.
 */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals,
      strict: true,
    });
  } catch (e) {
    throw new PackscopeError('USAGE', (e as Error).message);
  }
}

/** Parses a number option with bounds, as a usage error when it is not one. */
export function numberOption(value: string | undefined, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new PackscopeError('USAGE', `--${name} must be a number between ${min} and ${max}, got '${value}'`);
  }
  return n;
}

export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new PackscopeError('USAGE', `--${name} is required`);
  return value;
}

/** One subcommand of a command such as `log pull` or `image sign`. */
export type Subcommand = (argv: string[], ctx: CliContext) => Promise<number>;

/**
 * The `run` of a command made of subcommands, so every such command answers alike: without a
 * subcommand it prints its usage and exits 2; an unknown one is a usage error naming the known ones.
 * (`--help` anywhere is answered by the entry point before a command runs.)
 */
export function subcommands(command: string, usage: string, table: Record<string, Subcommand>): Subcommand {
  return async (argv, ctx) => {
    const [sub, ...rest] = argv;
    if (sub === undefined) {
      ctx.out(usage);
      return EXIT.USAGE;
    }
    const handler = Object.hasOwn(table, sub) ? table[sub] : undefined;
    if (!handler) {
      throw new PackscopeError('USAGE', `unknown ${command} subcommand '${sub}' (known: ${Object.keys(table).join(', ')})`);
    }
    return handler(rest, ctx);
  };
}
