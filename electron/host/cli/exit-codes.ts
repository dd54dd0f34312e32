import type { ErrorCode } from '../../../shared/errors.js';

/**
 * Exit codes of the `packscope` CLI (documented in README.md). Scripts on a production line branch
 * on these, so they are stable.
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1, // unexpected internal error
  USAGE: 2, // bad arguments
  NO_DEVICE: 3, // port or file not found, or permission denied
  DISCONNECTED: 4, // device or cable went away mid-operation
  DEVICE_ERROR: 5, // timeout, protocol or device-reported error
  VERIFY_FAILED: 6, // hash, signature, chain or evidence check failed
  REFUSED: 7, // safety refusal: wrong board, rollback, untrusted key, bad policy
  BAD_INPUT: 8, // a file that does not decode (corrupt log, image, package)
  IO: 9, // local file system error (disk full, cannot write)
  CANCELLED: 130, // interrupted by the user
} as const;

export const EXIT_BY_ERROR: Record<ErrorCode, number> = {
  USAGE: EXIT.USAGE,
  NOT_FOUND: EXIT.NO_DEVICE,
  PERMISSION: EXIT.NO_DEVICE,
  DISCONNECTED: EXIT.DISCONNECTED,
  TIMEOUT: EXIT.DEVICE_ERROR,
  DEVICE: EXIT.DEVICE_ERROR,
  PROTOCOL: EXIT.DEVICE_ERROR,
  DECODE: EXIT.BAD_INPUT,
  VERIFY_FAILED: EXIT.VERIFY_FAILED,
  REFUSED: EXIT.REFUSED,
  IO: EXIT.IO,
  CANCELLED: EXIT.CANCELLED,
  INTERNAL: EXIT.FAILURE,
};
