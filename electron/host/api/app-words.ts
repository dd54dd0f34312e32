import { PackscopeError } from '../../../shared/errors.js';
import type { MethodName } from '../../../shared/api/contract.js';
import type { Handlers } from '../../../shared/api/rpc-server.js';

/**
 * The host's services speak to the CLI and to the app. Where a message names a command-line
 * option or command, the app says what to do in the app instead: every error that leaves the host
 * API passes through these rewrites (the CLI keeps the original words).
 */
const APP_WORDS: Array<[RegExp, string]> = [
  [
    /check the cable, the baud rate \(--baud\) or force a protocol \(--protocol\)/g,
    'check the cable and the pack power, or choose the line rate or the protocol on the Connect screen',
  ],
  [/;? ?'?packscope ports'? lists the serial ports/g, '; the Connect screen lists the serial ports (Refresh)'],
  [/try 'packscope ports'/g, 'press Refresh on the Connect screen to list the ports'],
  [/ \(run again with --resume\)/g, ' (Resume on the Logs screen continues from there)'],
  [/finish it with 'packscope log pull --resume' first/g, 'finish the download first (Resume on the Logs screen)'],
  [/pull afresh without --resume/g, 'download it afresh'],
  [/\(sign it with --board ([^)]+)\)/g, '(it must be signed for board $1)'],
  [/given with --trust/g, 'chosen as trusted keys'],
  [/use --address to place a \.bin/g, 'set the start address of the .bin'],
  [/--address applies to raw \.bin files/g, 'a start address applies to raw .bin files'],
  [/Use --any-board to restore it here anyway/g, "Tick 'Restore onto this board anyway' to restore it here"],
  [/record a session with 'monitor --record' and use --log/g, 'record a session on the Live screen and use that recording'],
];

export function appWords(message: string): string {
  return APP_WORDS.reduce((t, [re, words]) => t.replace(re, words), message);
}

export function inAppError(e: unknown): unknown {
  if (!(e instanceof PackscopeError)) return e;
  const message = appWords(e.message);
  return message === e.message ? e : new PackscopeError(e.code, message, e.details);
}

/** The same handlers, with their errors in the app's words. */
export function inAppWords(handlers: Handlers): Handlers {
  const out = {} as Record<MethodName, unknown>;
  for (const [name, handler] of Object.entries(handlers) as Array<[MethodName, (p: unknown, c: unknown) => Promise<unknown>]>) {
    out[name] = (params: unknown, ctx: unknown) =>
      handler(params, ctx).catch((e: unknown) => {
        throw inAppError(e);
      });
  }
  return out as Handlers;
}
