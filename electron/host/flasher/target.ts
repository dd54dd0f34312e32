import type { FwStatus } from '../../../shared/image/fw-status.js';
import type { ReleaseAnnouncement } from '../../../shared/settings/update-record.js';

/**
 * What the flasher needs from a board, whatever carries it (native protocol over serial, an
 * in-process simulated board, UDS over CAN). Every method is a request the board answers; a
 * failure is a PackscopeError (REFUSED for a safety refusal, with `details.reason`).
 */
export interface UploadWriteOptions {
  compress: boolean;
  signal?: AbortSignal;
  /** Bytes of this write delivered so far. */
  onProgress?: (bytes: number) => void;
}

export interface UploadVerdict {
  valid: boolean;
  reason: string | null;
  problems: string[];
  /** SHA-256 the board computed over the uploaded image's hashed region (hex). */
  hash: string;
}

export interface FirmwareTarget {
  readonly description: string;
  status(signal?: AbortSignal): Promise<FwStatus>;
  /** Opens an upload: the board checks the header and TLVs (key, signature, board, counter, size) before erasing anything. */
  begin(meta: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** SHA-256 of each `granule`-byte piece of the upload slot over [0, length), computed by the board. */
  hashes(length: number, granule: number, signal?: AbortSignal): Promise<Uint8Array[]>;
  /**
   * Optional: erase the upload slot's sectors covering a range before writing it (lets the board
   * use large block erases; without it the board erases each sector as writes reach it).
   */
  erase?(offset: number, length: number, signal?: AbortSignal): Promise<void>;
  write(offset: number, data: Uint8Array, options: UploadWriteOptions): Promise<void>;
  /** The board verifies the uploaded image completely (as its next boot will). */
  finish(signal?: AbortSignal): Promise<UploadVerdict>;
  requestTest(signal?: AbortSignal): Promise<void>;
  confirm(signal?: AbortSignal): Promise<{ changed: boolean }>;
  revert(signal?: AbortSignal): Promise<{ mode: string }>;
  /** Resets the board and resolves once it answers again (after any swap). */
  reset(signal?: AbortSignal): Promise<void>;
  /** Optional: names the release bundle the next install belongs to (the board signs it into its update records); false when the board cannot. */
  announceRelease?(release: ReleaseAnnouncement, signal?: AbortSignal): Promise<boolean>;
  close?(): Promise<void>;
}
