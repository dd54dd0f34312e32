import type { TransportWrapper } from '../transport/capture.js';
import type { TrustedKey } from '../../../shared/image/index.js';
import type { FwStatus } from '../../../shared/image/fw-status.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import type { Parity } from '../../../shared/types/transport.js';
import type { UdsProfile } from '../../../shared/can/uds-profile.js';
import type { UdsProfileFlashReport } from '../can/uds-generic.js';
import type { OpenedUdsClient } from '../can/uds-flash.js';
import type { Stm32FlashResult } from '../stm32/rom-flasher.js';
import type { FlashReport } from './flasher.js';
import type { SettingsAcrossFlash } from '../settings/flash-backup.js';

/**
 * The flash back ends as host services, one per protocol: each takes a typed job (port, line
 * rate, the protocol's own options, progress callback, AbortSignal) and resolves to a typed
 * result. The CLI's `flash` command and the app's firmware API are thin callers of these;
 * nothing here knows about argv, output or exit codes, and a job is read, never written.
 *
 *  - native and uds put a signed MCUboot image on the board through the common flasher
 *    (flasher.ts: checks before anything is erased, resume, upload, read-back verification, test
 *    boot, confirm), with the same progress and report whatever carries it;
 *  - stm32-rom writes raw firmware through the STM32 ROM bootloader (AN3155): the recovery path
 *    for a board whose application is broken;
 *  - uds-generic writes raw firmware (binary or Intel HEX) through an ordinary ISO 14229
 *    bootloader, following a target profile (shared/can/uds-profile.ts); `uds` is PackScope's own
 *    UDS bootloader (the 'packscope' profile), and probeUdsBootloader tells the two apart.
 * Back ends load lazily, so flashing over serial never loads the CAN stack or the ROM client.
 */
export type FlashProtocol = 'native' | 'stm32-rom' | 'uds' | 'uds-generic';

export type FlashPhase = 'upload' | 'connect' | 'erase' | 'write' | 'verify' | 'go';

/** Progress of a flash job: bytes done of total in the current phase, rate (bytes/s) and ETA. */
export interface FlashProgress extends TransferProgress {
  phase: FlashPhase;
}

/** What every back end takes. */
export interface FlashJobBase {
  /** A serial device, tcp://host:port, or sim: (the in-process simulator, with ?personality=slcan or stm32-rom for the other back ends). */
  port: string;
  /** Line rate of the port (native: the protocol's default; uds: the adapter's serial rate, 115200; stm32-rom: 115200). */
  baudRate?: number;
  signal?: AbortSignal;
  onProgress?: (p: FlashProgress) => void;
  /** One line per step, for humans. */
  log?: (line: string) => void;
  /** Wraps the opened port before anything is sent (--capture records every byte through this). */
  wrapTransport?: TransportWrapper;
}

/** A signed MCUboot image: the file's bytes, or the path of the file. */
export type ImageSource = Uint8Array | string;

interface ImageFlashJob extends FlashJobBase {
  image: ImageSource;
  /** true: make the image permanent once its test boot succeeded; false (default): a test run, the board reverts at its next reset unless confirmed. */
  confirm?: boolean;
  /** Keys the image must also be signed by (the board's own trusted keys always apply). */
  trust?: readonly TrustedKey[];
}

export interface NativeFlashJob extends ImageFlashJob {
  protocol: 'native';
  /**
   * Where the board's settings are backed up once every check has passed, before anything is
   * erased (absent: no backup); the result compares the board with it after the flash.
   */
  settingsBackupDir?: string;
  /** Deflate the upload where it pays (default true). */
  compress?: boolean;
  /** Bulk-transfer window and chunk size (default: the link's). */
  window?: number;
  chunkSize?: number;
}

export interface UdsFlashJob extends ImageFlashJob {
  protocol: 'uds';
  /** CAN bitrate (default 500000). */
  bitrate?: number;
  /** UDS request / response identifiers (default 0x7E0 / 0x7E8). */
  txId?: number;
  rxId?: number;
  /** Security-access algorithm, a name in shared/can/seedkey.ts SEED_KEY_ALGORITHMS (default packscope-hmac). */
  seedKey?: string;
  /** Largest TransferData payload sent, whatever the ECU's maxNumberOfBlockLength allows (default 64 KiB). */
  maxBlockPayload?: number;
  /**
   * The ECU's firmware status as probeUdsBootloader read it a moment before: the flasher's checks
   * use it instead of reading the same document again.
   */
  status?: FwStatus;
  /** The probe's adapter, still open on the same port and ids: the job flashes through it (no second open) and closes it. */
  opened?: OpenedUdsClient;
}

/** The CAN side of a UDS job: bus bitrate and the ECU's identifiers. */
interface UdsBus {
  /** CAN bitrate (default 500000). */
  bitrate?: number;
  /** UDS request / response identifiers (default: the profile's, else 0x7E0 / 0x7E8). */
  txId?: number;
  rxId?: number;
}

export interface UdsGenericFlashJob extends FlashJobBase, UdsBus {
  protocol: 'uds-generic';
  /** Raw binary or Intel HEX: the file's bytes, or the path of the file. */
  firmware: Uint8Array | string;
  /** Where a raw binary goes (default: the profile's memory.address; Intel HEX carries its own). */
  address?: number;
  /** A built-in profile name ('generic', the default), the path of a profile JSON file, or a profile. */
  profile?: string | UdsProfile;
  /** Overrides the profile's seed-to-key algorithm (a name in SEED_KEY_ALGORITHMS). */
  seedKey?: string;
  /** Largest TransferData payload sent, whatever the ECU's maxNumberOfBlockLength allows. */
  maxBlockPayload?: number;
}

/**
 * What probeUdsBootloader found: PackScope's bootloader (and its firmware status, and with
 * keepOpen the adapter still open for the flash), or an ordinary one (the adapter is closed).
 */
export type UdsProbeResult = { kind: 'packscope'; status: FwStatus; opened?: OpenedUdsClient } | { kind: 'generic' };

/** Which bootloader answers on the ids: probeUdsBootloader. */
export interface UdsProbeJob extends UdsBus {
  port: string;
  baudRate?: number;
  signal?: AbortSignal;
  /** Keep the adapter open when PackScope's bootloader answers (the caller passes it on as UdsFlashJob.opened, or closes it). */
  keepOpen?: boolean;
}

/** 'touched': erase only the sectors the image touches; 'mass': erase the whole flash first. */
export type Stm32EraseStrategy = 'touched' | 'mass';

export interface Stm32RomFlashJob extends FlashJobBase {
  protocol: 'stm32-rom';
  /** Raw binary or Intel HEX: the file's bytes, or the path of the file. */
  firmware: Uint8Array | string;
  /** Where a raw binary goes (default 0x08000000; Intel HEX carries its own addresses). */
  address?: number;
  /** Default: 'none' on a pseudo-terminal (it cannot carry parity), else 'even' (the ROM's 8E1). */
  parity?: Parity;
  /** Read back and compare every byte (default true). */
  verify?: boolean;
  /** Start the application afterwards: true at the image's first address, or at this vector table. */
  go?: boolean | number;
  /** Default 'touched'. */
  erase?: Stm32EraseStrategy;
}

export type FlashJob = NativeFlashJob | UdsFlashJob | Stm32RomFlashJob | UdsGenericFlashJob;

/** The result of a native or UDS job. */
export interface ImageFlashResult {
  protocol: 'native' | 'uds';
  port: string;
  report: FlashReport;
  /** What the payload rate is measured against, in bytes/s (native: the serial line; uds: the ISO-TP ceiling at the bitrate); null where nothing paces the line. */
  lineBytesPerSecond: number | null;
  /** report.payloadRate ÷ lineBytesPerSecond (null without a line rate). */
  lineRatio: number | null;
  /** Native with settingsBackupDir: the settings backup taken before anything was erased, and what differs from it after the flash. */
  settings?: SettingsAcrossFlash;
}

/** The result of an stm32-rom job. */
export interface Stm32RomFlashResult {
  protocol: 'stm32-rom';
  port: string;
  format: 'bin' | 'ihex';
  baudRate: number;
  parity: Parity;
  result: Stm32FlashResult;
  /** Image bytes per second over the whole job. */
  payloadRate: number;
  /** Bytes per second of the ROM's 8E1 line (11 bits per byte). */
  lineRate: number;
}

/** The result of a uds-generic job. */
export interface UdsGenericFlashResult {
  protocol: 'uds-generic';
  port: string;
  format: 'bin' | 'ihex';
  report: UdsProfileFlashReport;
  /** The ISO-TP ceiling at the bitrate, bytes/s. */
  lineBytesPerSecond: number;
  /** report.payloadRate ÷ lineBytesPerSecond. */
  lineRatio: number;
}

export type FlashJobOf<P extends FlashProtocol> = Extract<FlashJob, { protocol: P }>;
export type FlashResultOf<P extends FlashProtocol> = P extends 'stm32-rom'
  ? Stm32RomFlashResult
  : P extends 'uds-generic'
    ? UdsGenericFlashResult
    : ImageFlashResult;

type Backend<P extends FlashProtocol> = (job: FlashJobOf<P>) => Promise<FlashResultOf<P>>;

/** The back ends, by protocol (in the order `flash --help` lists them). */
export const FLASH_BACKENDS: { readonly [P in FlashProtocol]: () => Promise<Backend<P>> } = {
  native: async () => (await import('./native-backend.js')).flashNative,
  'stm32-rom': async () => (await import('../stm32/flash-backend.js')).flashStm32Rom,
  uds: async () => (await import('../can/flash-backend.js')).flashUds,
  'uds-generic': async () => (await import('../can/profile-backend.js')).flashUdsGeneric,
};

export const FLASH_PROTOCOLS = Object.keys(FLASH_BACKENDS) as FlashProtocol[];

export function isFlashProtocol(name: string): name is FlashProtocol {
  return Object.prototype.hasOwnProperty.call(FLASH_BACKENDS, name);
}

/** Runs a flash job on the back end its protocol names. */
export async function runFlashJob<J extends FlashJob>(job: J): Promise<FlashResultOf<J['protocol']>> {
  const load = FLASH_BACKENDS[job.protocol] as unknown as () => Promise<(job: J) => Promise<FlashResultOf<J['protocol']>>>;
  return (await load())(job);
}

/** 'packscope' when PackScope's UDS bootloader answers on the ids (with the FD00 firmware status it answered), else 'generic'. */
export async function probeUdsBootloader(job: UdsProbeJob): Promise<UdsProbeResult> {
  return (await import('../can/profile-backend.js')).probeUds(job);
}
