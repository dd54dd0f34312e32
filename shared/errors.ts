/**
 * Typed errors. Every failure that crosses a layer boundary (driver → host → CLI / RPC) is a
 * PackscopeError with a stable code; the CLI maps codes to exit codes, the RPC sends {code, message}.
 */
export const ERROR_CODES = [
  'USAGE', // bad arguments or request (schema error)
  'NOT_FOUND', // port, file or device absent
  'PERMISSION', // EACCES on a serial port or file
  'DISCONNECTED', // the device or cable went away mid-operation
  'TIMEOUT', // the device did not answer in time (after retries)
  'DEVICE', // the device answered with a typed error
  'PROTOCOL', // the peer broke the protocol (bad frame, unexpected message)
  'DECODE', // bytes that do not decode (frames, files, images)
  'VERIFY_FAILED', // a hash, signature or chain check failed
  'REFUSED', // a safety rule refused the operation (wrong board, rollback, untrusted key)
  'IO', // local file system error (disk full, unreadable file)
  'CANCELLED', // the user cancelled
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export class PackscopeError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'PackscopeError';
    this.code = code;
    this.details = details;
  }
}

/** A decoder's typed failure: arbitrary bytes may produce this, never any other exception. */
export class DecodeError extends PackscopeError {
  constructor(message: string, details?: unknown) {
    super('DECODE', message, details);
    this.name = 'DecodeError';
  }
}

export function isPackscopeError(e: unknown): e is PackscopeError {
  return e instanceof PackscopeError;
}

/** Plain form for RPC and --json output. */
export function errorToPlain(e: unknown): { code: ErrorCode; message: string } {
  if (isPackscopeError(e)) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
