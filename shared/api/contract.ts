import { z } from 'zod';
import { SEED_KEY_ALGORITHMS } from '../can/seedkey.js';
import { FwStatusSchema } from '../image/fw-status.js';
import { ClaimSchema } from '../warranty/claim.js';
import { EvaluationSchema, VerdictSchema } from '../warranty/evaluation.js';
import { LogHealthSchema } from '../health/report.js';
import { PackageHealthSchema } from '../evidence/health-section.js';
import { MAX_PHOTOS, PHOTO_KINDS } from '../evidence/photos.js';
import { deskMethods } from './desk-contract.js';
import { settingsMethods } from './settings-contract.js';
import { busMethods, busRoundView } from './bus-contract.js';
import { eventsReply, eventsRequest, seriesReply, seriesRequest } from './series-schemas.js';
import {
  claimDraft,
  claimFieldState,
  dialogResult,
  openDialogResult,
  importRequest,
  importResult,
  openDialogRequest,
  openScreen,
  rootCheck,
  saveDialogRequest,
  themeRequest,
} from './desktop.js';
import { PreconditionsSchema } from '../bundle/metadata.js';
import { deviceInfo, hostPath, linkStats, opId, portInfo, protocolId, telemetryFrame, transferProgress } from './schemas.js';

/**
 * The API contract between the renderer and the host: ONE object naming every method (request and
 * response schema) and every event (payload schema). The TypeScript types below are derived from
 * it, the RPC server validates every request against it before the host sees it, and the same
 * contract runs over Electron IPC and over the WebSocket bridge of `packscope serve`.
 *
 * Only methods the host really implements appear here; a screen whose back end is absent learns it
 * from `app.info().features` and says so instead of showing invented data.
 */
const method = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, summary: string) => ({
  request,
  response,
  summary,
});

const empty = z.object({}).strict();
const ok = z.object({ ok: z.literal(true) });

export const probeResult = z.object({
  protocol: protocolId,
  answered: z.boolean(),
  error: z.string().optional(),
  /** The line rate this probe used. */
  baudRate: z.number().optional(),
});

export const fileEntry = z.object({
  name: z.string(),
  path: z.string(),
  isDir: z.boolean(),
  size: z.number(),
  mtimeMs: z.number(),
});

const photoKindSchema = z.enum(PHOTO_KINDS);
/** A photo inside a package: the name SHA256SUMS lists it under (assemblePackage's safe names). */
const packagePhotoName = z.string().regex(/^photos\/[A-Za-z0-9._-]{1,100}$/);

export const features = z.object({
  /** Live sessions (connect, identity, telemetry). */
  live: z.boolean(),
  /** Black-box log pull and .pslog viewing. */
  logs: z.boolean(),
  /** Firmware image inspection, flashing, slot control. */
  firmware: z.boolean(),
  /** Self-check, claim packages, package verification, policy evaluation. */
  evidence: z.boolean(),
});

export const connectResult = z.object({
  device: deviceInfo,
  protocol: protocolId,
  /** What auto-detection tried, in order, and which one answered. */
  probes: z.array(probeResult),
  transport: portInfo,
});

export const sessionStatus = z.object({
  connected: z.boolean(),
  path: z.string().nullable(),
  device: deviceInfo.nullable(),
  stats: linkStats.nullable(),
  telemetryRateHz: z.number().nullable(),
});

export const recordingStatus = z.object({
  active: z.boolean(),
  path: z.string().nullable(),
  frames: z.number(),
  bytes: z.number(),
});

export const imageInfo = z.object({
  path: z.string(),
  version: z.string(),
  boardId: z.string().nullable(),
  securityCounter: z.number().nullable(),
  size: z.number(),
  hash: z.string(),
  keyHash: z.string().nullable(),
  /** The image's own SHA-256 TLV matches its bytes. */
  intact: z.boolean(),
  /** Signature against the connected board's trusted keys ('unknown_key' when no board is connected). */
  signature: z.object({
    status: z.enum(['valid', 'unknown_key', 'bad_signature', 'missing']),
    keyType: z.string().nullable(),
    trustedKey: z.string().nullable(),
  }),
  /** Whether the connected board would take it, with the reason when not; null without a board. */
  againstBoard: z.object({ ok: z.boolean(), message: z.string(), boardId: z.string() }).nullable(),
});

/** A port the host opens for a job (a serial device, tcp://host:port or sim:). */
const flashPort = z.string().min(1).max(512);
const canId = z.number().int().min(0).max(0x1fff_ffff);
const address32 = z.number().int().min(0).max(0xffff_ffff);
const seedKeyNames = Object.keys(SEED_KEY_ALGORITHMS) as [string, ...string[]];
/** What every MCUboot image flash takes: the image, test run or confirm, and keys it must also be signed by. */
const imageFlashFields = {
  path: hostPath,
  opId,
  /** false: a test run (the board reverts at its next reset unless confirmed); true: permanent after its test boot. */
  confirm: z.boolean().default(false),
  /** Public-key files (PEM) the image must also be signed by; the board's own trusted keys always apply. */
  trustKeyPaths: z.array(hostPath).max(16).optional(),
};

/**
 * flash.start's request, by protocol (absent: native, on the connected board):
 *  - native: the connected board, or `port` opened for the job;
 *  - uds: UDS over CAN through the SLCAN adapter at `port`;
 *  - stm32-rom: raw firmware (.bin at `address`, or Intel HEX) through the STM32 ROM bootloader at `port`.
 */
export const flashRequest = z.discriminatedUnion('protocol', [
  z
    .object({
      protocol: z.literal('native').default('native'),
      ...imageFlashFields,
      /** Absent: the connected board. */
      port: flashPort.optional(),
      baudRate: z.number().int().min(300).max(12_000_000).optional(),
      /** Deflate the upload where it pays. */
      compress: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      protocol: z.literal('uds'),
      ...imageFlashFields,
      port: flashPort,
      /** The adapter's serial line rate (USB CDC adapters ignore it). */
      baudRate: z.number().int().min(300).max(12_000_000).optional(),
      bitrate: z.number().int().min(10_000).max(1_000_000).default(500_000),
      txId: canId.default(0x7e0),
      rxId: canId.default(0x7e8),
      seedKey: z.enum(seedKeyNames).default('packscope-hmac'),
      /** Largest TransferData payload sent, whatever the ECU allows (default 64 KiB). */
      maxBlockPayload: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024 * 1024)
        .optional(),
    })
    .strict(),
  z
    .object({
      protocol: z.literal('stm32-rom'),
      path: hostPath,
      opId,
      port: flashPort,
      baudRate: z.number().int().min(1200).max(115_200).optional(),
      /** Default: none on a pseudo-terminal, else even (the ROM's 8E1). */
      parity: z.enum(['none', 'even']).optional(),
      /** Where a raw .bin goes (default 0x08000000; Intel HEX carries its addresses). */
      address: address32.optional(),
      verify: z.boolean().default(true),
      /** Start the application afterwards: true at the image's first address, or at this vector table. */
      go: z.union([z.boolean(), address32]).default(false),
      /** 'touched': only the sectors the image touches; 'mass': the whole flash. */
      erase: z.enum(['touched', 'mass']).default('touched'),
    })
    .strict(),
]);

/** The result of an MCUboot image flash (native or UDS). */
export const flashResult = z.object({
  protocol: z.enum(['native', 'uds']),
  outcome: z.enum(['installed-test', 'installed-confirmed', 'already-running', 'confirmed-running']),
  version: z.string(),
  bytesTotal: z.number(),
  bytesSent: z.number(),
  bytesSkipped: z.number(),
  seconds: z.number(),
  payloadRate: z.number(),
  /** payloadRate ÷ the line's rate (the serial line, or the ISO-TP ceiling on CAN); null where nothing paces the line. */
  lineRatio: z.number().nullable(),
  status: FwStatusSchema,
  /** Native: the board's settings, backed up after the checks and before anything was erased (null: the board carries none; absent: no backup was asked for). */
  settingsBackup: z.object({ path: z.string(), digest: z.string() }).nullable().optional(),
  /** Writable settings that differ from that backup after the flash: left the board, right the backup (null: the board could not be compared). */
  settingsChanged: z
    .array(z.object({ id: z.string(), left: z.number().nullable(), right: z.number().nullable() }))
    .nullable()
    .optional(),
});

/** The result of an STM32 ROM recovery flash. */
export const romFlashResult = z.object({
  protocol: z.literal('stm32-rom'),
  part: z.string(),
  productId: z.number(),
  bootloaderVersion: z.string(),
  format: z.enum(['bin', 'ihex']),
  imageBytes: z.number(),
  bytesWritten: z.number(),
  blocksWritten: z.number(),
  /** Blocks holding only 0xFF, not sent. */
  blocksSkipped: z.number(),
  erased: z.array(z.object({ index: z.number(), address: z.number(), size: z.number() })),
  collateralErasedBytes: z.number(),
  verified: z.boolean(),
  /** How: the bootloader's CRC (Get Checksum), reading every byte back, or the CRC with a read-back of what it did not prove; null when not verified. */
  verifiedBy: z.enum(['checksum', 'read-back', 'checksum+read-back']).nullable(),
  /** Where the application was started, or null: the board stays in its bootloader. */
  started: z.number().nullable(),
  retries: z.number(),
  seconds: z.number(),
  payloadRate: z.number(),
  lineRatio: z.number(),
});

export const flashStartResult = z.discriminatedUnion('protocol', [flashResult, romFlashResult]);

/** One release precondition against the pack's live state (shared/bundle/preconditions.ts). */
export const preconditionCheck = z.object({
  name: z.enum(['soc', 'current', 'temperature', 'charger']),
  required: z.string(),
  actual: z.string(),
  ok: z.boolean(),
});

/** A release bundle (.psfw) as the Update screen shows it before anything is written. */
export const updateInfo = z.object({
  path: z.string(),
  sequence: z.number(),
  vendorId: z.string(),
  created: z.string(),
  expires: z.string(),
  notes: z.string(),
  boards: z.array(z.object({ boardId: z.string(), hardwareRevisions: z.array(z.string()) })),
  preconditions: PreconditionsSchema,
  /** What will change: each component, the version the board runs now (null: unknown) and the new one. */
  components: z.array(
    z.object({
      name: z.string(),
      target: z.string(),
      format: z.string(),
      version: z.string(),
      securityCounter: z.number(),
      size: z.number(),
      from: z.string().nullable(),
      /** Where it goes, in words: the board, an ECU's ids and profile, the STM32 ROM's address. */
      where: z.string(),
      /** Which port reaches it: the connected board's, a CAN adapter's, or the STM32 ROM's line. */
      reachedBy: z.enum(['board', 'can', 'rom']),
      /** UDS components: whether this installation has the target profile the component names. */
      profileKnown: z.boolean().optional(),
    }),
  ),
  releaseKeyId: z.string(),
  /** null: trusted, and it fits the connected board (board, hardware revision, sequence); else why not. */
  refusal: z.object({ reason: z.string(), message: z.string() }).nullable(),
});

export const updateResult = z.object({
  outcome: z.enum(['installed', 'reverted', 'already-installed']),
  sequence: z.number(),
  components: z.array(
    z.object({
      name: z.string(),
      /** Where it went: the board, an ECU's ids and adapter port, the STM32 ROM's port. */
      target: z.string(),
      from: z.string().nullable(),
      to: z.string(),
      outcome: z.enum(['installed', 'already-installed', 'reverted']),
    }),
  ),
  preconditions: z.array(preconditionCheck),
  selfTest: z.object({ ok: z.boolean(), problems: z.array(z.string()) }).nullable(),
  runningVersion: z.string().nullable(),
  seconds: z.number(),
  /** The board's settings, backed up after the checks and before anything was erased (null: the board carries none). */
  settingsBackup: z.object({ path: z.string(), digest: z.string() }).nullable(),
  /** Writable settings that differ from that backup after the update: left the board, right the backup. */
  settingsChanged: z.array(z.object({ id: z.string(), left: z.number().nullable(), right: z.number().nullable() })),
});

export const logGap = z.object({ from: z.number(), to: z.number().nullable(), reason: z.string() });

/** A log as chart columns (min/max-reduced beyond 200 000 records), with its events as markers. */
export const recordedSeries = z.object({
  t: z.array(z.number()),
  packVoltage: z.array(z.number()),
  current: z.array(z.number()),
  soc: z.array(z.number()),
  cellMin: z.array(z.number()),
  cellMax: z.array(z.number()),
  tempMin: z.array(z.number()),
  tempMax: z.array(z.number()),
  events: z.array(z.object({ t: z.number(), code: z.number(), label: z.string(), index: z.number() })),
  /** Records in the log (before any reduction). */
  records: z.number(),
  decimated: z.boolean(),
  /**
   * Where the log has no data, explicitly: from the time of the last record before the gap to the
   * first one after it (to: null, the log ends inside it). A chart breaks its lines at each gap
   * instead of drawing across it; desktop recordings mark every gap in the file itself.
   */
  gaps: z.array(logGap).optional(),
});

/**
 * A long job the host runs (recording, black-box download, flash, self-check step): it belongs to
 * the host, not to a screen, so leaving a screen, reloading the page or reopening the window
 * never stops it; screens find it again with jobs.list and follow it through 'job' events.
 * `result` is the job's method result (log.pull, flash.start, recording.stop …) once it is done.
 */
const capacityTestSettings = z.object({ dischargeA: z.number(), endCellV: z.number(), chargeA: z.number(), restS: z.number() });
/** The result of a guided capacity test (electron/host/health/capacity-test.ts). */
export const capacityTestResult = z.object({
  outcome: z.enum(['complete', 'aborted']),
  settings: capacityTestSettings,
  capacityAh: z.number(),
  energyWh: z.number(),
  ratedCapacityAh: z.number(),
  percentOfRated: z.number(),
  restedV: z.number().nullable(),
  startedMs: z.number(),
  endedMs: z.number(),
  reason: z.string().nullable(),
});

export const jobKind = z.enum([
  'recording',
  'pull',
  'flash',
  'selfcheck',
  'export',
  'can-monitor',
  'update',
  'bus-scan',
  'bus-monitor',
  'capacity-test',
  'desk-ingest',
]);
export const jobView = z.object({
  id: z.string(),
  kind: jobKind,
  /** What runs, in words ("Downloading the black box of #A1"). */
  title: z.string(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  progress: transferProgress.nullable(),
  /** A file the job writes (recording, download), if any. */
  file: z.string().nullable(),
  /** Closing the window or page during it loses work or interrupts the board: ask first. */
  guard: z.boolean(),
  cancellable: z.boolean(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

/** Where the installation key (it signs packages) is kept, in words for the app and the CLI. */
export const keyProtection = z.object({
  /** os-keyring: sealed by the OS; file: a mode-0600 file, not encrypted; keyring-unavailable: sealed, but the keyring is not there now. */
  kind: z.enum(['os-keyring', 'file', 'keyring-unavailable']),
  location: z.string(),
  /** The keyring's name ('GNOME Keyring (Secret Service)', 'the macOS Keychain' …) when it protects the key. */
  keyring: z.string().nullable(),
  headline: z.string(),
  /** What it means and what to do. */
  meaning: z.string(),
});
export type KeyProtection = z.output<typeof keyProtection>;

export const canFrameView = z.object({ t: z.number(), id: z.number(), extended: z.boolean(), dlc: z.number(), data: z.string(), text: z.string() });

/** A download cut short (cancel, lost link, closed app): resumable with log.pull { out: path, resume: true }. */
export const partialPull = z.object({
  /** The final name the download completes to. */
  path: z.string(),
  bytes: z.number(),
  mtimeMs: z.number(),
  serial: z.string().nullable(),
  segments: z.number(),
});

const check = z.object({ id: z.string(), ok: z.boolean(), detail: z.string() });

export const packageVerification = z.object({
  path: z.string(),
  ok: z.boolean(),
  line: z.string(),
  checks: z.array(check),
  manifest: z
    .looseObject({
      createdAt: z.string(),
      tool: z.object({ name: z.string(), version: z.string() }),
      device: z.object({
        serial: z.string(),
        model: z.string(),
        firmwareVersion: z.string().nullable(),
        hardwareRevision: z.string().nullable(),
        publicKeyFingerprint: z.string().nullable(),
        source: z.enum(['device', 'desktop']),
      }),
      installKey: z.looseObject({ fingerprint: z.string() }),
      policy: z.object({ id: z.string(), sha256: z.string() }),
    })
    .nullable(),
  claim: z
    .looseObject({
      customer: z.string(),
      contact: z.string(),
      model: z.string(),
      serial: z.string(),
      purchaseDate: z.string(),
      description: z.string(),
      remedy: z.string(),
      failureDate: z.string().optional(),
    })
    .nullable(),
  /** The verdict that decides: recomputed with the verifier's policy (see policy.decidedBy). */
  evaluation: EvaluationSchema.nullable(),
  /** What the customer saw: the evaluation recomputed with the package's own policy. */
  customerEvaluation: z.object({ verdict: VerdictSchema, summary: z.string() }).nullable(),
  policy: z.object({
    /** 'verifier': a policy from the verifier's store; 'default': PackScope's default policy. */
    decidedBy: z.object({ id: z.string(), sha256: z.string(), source: z.enum(['verifier', 'default']) }).nullable(),
    /** The policy inside the package (what the customer saw). */
    package: z.object({ id: z.string(), sha256: z.string() }).nullable(),
    /** Where the package's policy departs from the deciding one, one line each (empty: the same policy). */
    differences: z.array(z.string()),
  }),
  /** The key that signed the package; pinned: true known, false unknown (a failed check), null no keys known. */
  installKey: z.object({ fingerprint: z.string(), pinned: z.boolean().nullable() }).nullable(),
  /** Whether the pull is proven to follow the claim (a checked claim ticket), in words. */
  freshness: z.object({ proven: z.boolean(), detail: z.string() }),
  /** The history the board attested to hold, in words (null: no attested extent). */
  extent: z.string().nullable(),
  /** What the verifier should know besides the fields above (they are not repeated here). */
  caveats: z.array(z.string()),
  /** Pack health recomputed from the device data, with the board's signed lifetime counters (null: the data did not decode). */
  health: PackageHealthSchema.nullable(),
  series: recordedSeries.nullable(),
  /** Photos the package carries (shown on request with package.photo). */
  photos: z.array(z.object({ name: z.string(), bytes: z.number() })),
  /** SHA-256 of the package as verified; package.photo refuses a file that changed since. */
  sha256: z.string(),
  /** The chosen root against the board's certificate (a mismatch is the verifier's choice, not the package). */
  root: rootCheck.optional(),
  /** Each claim field: verified, or flagged when the package's signatures or hashes do not cover it. */
  claimFields: z.array(claimFieldState).optional(),
});

/** A warranty policy in the verifier's policy store (its identity is the SHA-256 of its canonical JSON). */
export const storedPolicy = z.object({ sha256: z.string(), id: z.string(), version: z.number().nullable(), title: z.string() });

/** An installation key the verifier knows, with the label it gave it. */
export const installKeyEntry = z.object({ fingerprint: z.string(), label: z.string() });
const installKeyLabel = z.string().max(200);

export const logOpenResult = z.object({
  path: z.string(),
  /** False for a partial download (a pull that was cancelled or cut). */
  complete: z.boolean(),
  device: deviceInfo.nullable(),
  /** 'device': segments signed by the board; 'desktop': a recording made by the tool, unsigned. */
  source: z.enum(['device', 'desktop']),
  verification: z.object({
    ok: z.boolean(),
    certificate: z.object({ ok: z.boolean(), message: z.string(), serial: z.string().nullable(), model: z.string().nullable() }),
    checkpoint: z.object({ present: z.boolean(), ok: z.boolean(), counter: z.number().nullable(), records: z.number() }),
    missingSegments: z.number(),
    issueCount: z.number(),
    issues: z.array(z.string()),
    rootChecked: z.boolean(),
  }),
  /** Signature status per segment (counter -1: damaged bytes between segments). */
  segments: z.array(z.object({ counter: z.number(), records: z.number(), startMs: z.number(), ok: z.boolean(), issue: z.string().optional() })),
  series: recordedSeries,
});

/** A claim ticket file given with a claim, checked against the chosen log (its signature is the supplier's to check). */
export const claimTicketView = z.object({
  claimId: z.string(),
  serial: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  /** The ticket's expiry has passed: the supplier may not accept a package sealed over it. */
  expired: z.boolean(),
  /** The log's checkpoint is sealed over this ticket: a package can carry it. */
  matchesLog: z.boolean(),
  /** Why it cannot be used with this log, in plain words (null when it matches). */
  problem: z.string().nullable(),
  /** The log is from the pack the ticket names: downloading it again with the ticket fixes the problem. */
  pullAgain: z.boolean(),
});

const stepId = z.enum(['identity', 'faults', 'cell-spread', 'capacity', 'temperatures', 'current-offset', 'charger', 'blackbox']);
const stepInfo = z.object({ id: stepId, title: z.string(), prompt: z.string() });
export const stepResult = z.object({
  id: stepId,
  title: z.string(),
  status: z.enum(['pass', 'warn', 'fail', 'skipped']),
  measured: z.string(),
  normal: z.string(),
  meaning: z.string(),
  values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
});

const chargerText = z.object({ v: z.string().max(40), a: z.string().max(40) }).strict();
const conclusionView = z.object({ outcome: z.enum(['no-problem-found', 'file-a-claim']), summary: z.string(), results: z.array(stepResult) });
/**
 * The self-check wizard as the host keeps it: a screen that was left, a reloaded page or another
 * window shows the same check where it stands.
 */
export const selfCheckView = z.object({
  /** The check's job (kind 'selfcheck'). */
  jobId: z.string(),
  board: z.object({ model: z.string(), serial: z.string(), firmwareVersion: z.string() }).nullable(),
  steps: z.array(stepInfo),
  /** Results by step id, as last run. */
  results: z.record(z.string(), stepResult),
  /** The step page shown. */
  index: z.number().int(),
  /** The charger's ratings as typed (in the user's locale). */
  charger: chargerText,
  running: z.object({ id: stepId, opId: z.string() }).nullable(),
  conclusion: conclusionView.nullable(),
  /** Why the check ended before its conclusion (a flash, another pack): start again. */
  ended: z.string().nullable(),
});

export const contract = {
  methods: {
    'app.info': method(
      empty,
      z.object({
        version: z.string(),
        host: z.enum(['electron', 'browser']),
        platform: z.string(),
        dataDir: z.string(),
        features,
        /** Native Open/Save dialogs, show in folder and open with the system (the Electron shell). */
        desktop: z.boolean().optional(),
      }),
      'What this host is and which capabilities it has.',
    ),
    'files.list': method(
      z
        .object({
          dir: hostPath.optional(),
          extensions: z
            .array(z.string().regex(/^\.[a-z0-9]+$/))
            .max(16)
            .optional(),
        })
        .strict(),
      z.object({ dir: z.string(), parent: z.string().nullable(), entries: z.array(fileEntry) }),
      'Lists a directory on the host (folders first), filtered by extension.',
    ),
    'ports.list': method(empty, z.array(portInfo), 'Serial ports with recognised adapters, plus the built-in demo pack (sim:).'),
    'device.connect': method(
      z
        .object({
          path: z.string().min(1).max(512),
          protocol: z.union([z.literal('auto'), protocolId]).default('auto'),
          /** A line rate, or 'auto': the protocols' own rates first, then the other common rates. */
          baudRate: z.union([z.number().int().min(300).max(4_000_000), z.literal('auto')]).optional(),
        })
        .strict(),
      connectResult,
      'Opens a port (or sim: for the demo pack), detects or forces the protocol (and with baudRate auto the line rate), reads identity.',
    ),
    'device.disconnect': method(empty, ok, 'Stops telemetry and recording and closes the port.'),
    'device.status': method(empty, sessionStatus, 'The current session.'),
    'device.identity': method(empty, deviceInfo, 'Reads the identity of the connected device again.'),
    'telemetry.start': method(z.object({ rateHz: z.number().min(0.2).max(100).default(10) }).strict(), ok, 'Starts the telemetry stream (telemetry events).'),
    'telemetry.stop': method(empty, ok, 'Stops the telemetry stream.'),
    'image.inspect': method(
      z.object({ path: hostPath }).strict(),
      imageInfo,
      'Reads a firmware image: version, board, size, hash, security counter, signature; nothing is written.',
    ),
    'fw.status': method(empty, FwStatusSchema, "The board's firmware slots, test/confirmed state and security counter."),
    'flash.start': method(
      flashRequest,
      flashStartResult,
      'Flashes an image (progress events under opId; op.cancel stops it safely): a signed image over the native protocol (default: the connected board) or UDS over CAN, where without confirm the new image runs in test mode; or raw firmware through the STM32 ROM bootloader (recovery).',
    ),
    'update.inspect': method(
      z.object({ path: hostPath }).strict(),
      updateInfo,
      'Reads a release bundle (.psfw): notes, what will change on the connected board, preconditions, and whether this installation trusts it and it fits the board; nothing is written.',
    ),
    'update.apply': method(
      z
        .object({
          path: hostPath,
          opId,
          /** The CAN adapter for the bundle's UDS components, and the bus bitrate (default 500 kbit/s). */
          canPort: flashPort.optional(),
          bitrate: z.number().int().min(10_000).max(1_000_000).optional(),
          /** The serial line of the processor held in its STM32 ROM bootloader, for the bundle's ROM components. */
          romPort: flashPort.optional(),
        })
        .strict(),
      updateResult,
      'Applies a release bundle to the connected board and, through canPort and romPort, its ECUs and STM32 co-processors (progress events under opId, their phase naming the step): every check, the live preconditions and what each target reports before anything is erased, then install (irreversible components first, the board last), test boot, self-test, and confirm — or automatic revert; the first failure stops the update there.',
    ),
    'fw.confirm': method(empty, z.object({ changed: z.boolean(), status: FwStatusSchema }), 'Keeps the running test image.'),
    'fw.revert': method(empty, z.object({ mode: z.string(), status: FwStatusSchema }), 'Goes back to the other slot (resets the board).'),
    'log.pull': method(
      z
        .object({
          opId,
          out: hostPath.optional(),
          resume: z.boolean().default(false),
          /** The short code of a supplier's claim ticket, as typed (XXXX-XXXX-XXXX-XXXX-C; case, spaces and hyphens are forgiven). */
          ticketCode: z.string().min(1).max(64).optional(),
          /** A supplier's claim ticket file (.psticket): the pack it names must be the connected one. */
          ticketPath: hostPath.optional(),
        })
        .strict()
        .refine((r) => r.ticketCode === undefined || r.ticketPath === undefined, {
          message: 'give the claim code or the ticket file, not both',
          path: ['ticketCode'],
        }),
      z.object({
        path: z.string(),
        segments: z.number(),
        records: z.number(),
        resumedSegments: z.number(),
        bytesRead: z.number(),
        seconds: z.number(),
        payloadRate: z.number(),
        signaturesOk: z.boolean(),
        issues: z.array(z.string()),
        /** The claim ticket the checkpoint is sealed over (null: a fresh nonce of this PackScope's). */
        ticket: z
          .object({
            /** The ticket's code (normalised), the nonce the checkpoint carries. */
            code: z.string(),
            /** From a ticket file: its claim id, pack serial and expiry; null for a typed code. */
            claimId: z.string().nullable(),
            serial: z.string().nullable(),
            expiresAt: z.string().nullable(),
          })
          .nullable(),
      }),
      "Pulls the board's black box into a .pslog, verified as it arrives (progress under opId; cancel keeps a partial file that resume continues). With a claim ticket (code or file) the checkpoint is sealed over its nonce; a ticket file for another pack is refused before anything is read.",
    ),
    'log.open': method(
      z.object({ path: hostPath, rootKeyPath: hostPath.optional() }).strict(),
      logOpenResult,
      'Opens a .pslog: verification (per segment, certificate against the optional supplier root), chart series and events.',
    ),
    'health.analyse': method(
      z
        .object({
          path: hostPath,
          /** Overrides of the pack's rating, when the board does not say (or says wrongly). */
          ratedCapacityAh: z.number().gt(0).max(100_000).optional(),
          chemistry: z.enum(['lfp', 'nmc']).optional(),
        })
        .strict(),
      LogHealthSchema,
      'Pack health of a .pslog: capacity with its uncertainty, resistance and self-discharge per cell, throughput, cycles and histograms (verified, the rating from the signed certificate).',
    ),
    'health.capacityTest': method(
      z
        .object({
          opId,
          /** Discharge current, A (default 0.2C of the rating). */
          dischargeA: z.number().gt(0).max(100_000).optional(),
          /** End of discharge, lowest cell under load, V (default by chemistry). */
          endCellV: z.number().min(1).max(5).optional(),
          /** Charge current before the CV taper, A (default 0.5C). */
          chargeA: z.number().gt(0).max(100_000).optional(),
          /** Rest after the charge and after the discharge, s (default 1800). */
          restS: z.number().min(0).max(86_400).optional(),
        })
        .strict(),
      capacityTestResult,
      'The guided capacity test on the connected board (a job under opId; op.cancel makes the board stop): full charge, rest, discharge at a set current to the end voltage, rest. The board stops at any protection event and marks every phase in its black box.',
    ),
    'log.series': method(seriesRequest, seriesReply, 'Range read of a .pslog: per channel min, max, first and last per column, or the raw records when few.'),
    'log.events': method(eventsRequest, eventsReply, "A .pslog's events in a time range, one page at a time (never cut)."),
    'log.export': method(
      z.object({ path: hostPath, out: hostPath, opId, range: z.object({ from: z.number(), to: z.number() }).optional() }).strict(),
      z.object({ path: z.string(), records: z.number(), bytes: z.number() }),
      'Exports the whole log, or the records of a time range, as CSV (written to a temp name, then renamed).',
    ),
    'package.verify': method(
      z
        .object({
          path: hostPath,
          rootKeyPath: hostPath,
          /** A policy from policies.list; absent: the store's copy of the package's policy, else PackScope's default. */
          policySha256: z
            .string()
            .regex(/^[0-9a-fA-F]{64}$/)
            .optional(),
          /** The supplier's claim-ticket public key (Ed25519, PEM or OpenSSH line): a valid ticket is then required. */
          ticketKeyPath: hostPath.optional(),
          /** The supplier's own copy of the claim ticket (default: the one in the package). */
          ticketPath: hostPath.optional(),
        })
        .strict(),
      packageVerification,
      "Verifies a .psdiag completely against the supplier's root key and decides with the supplier's policy, claim ticket and known installation keys; never throws for a bad package (failed checks say why).",
    ),
    'policies.list': method(empty, z.array(storedPolicy), "The warranty policies in this installation's policy store, by id and version."),
    'policies.add': method(
      z.object({ path: hostPath }).strict(),
      storedPolicy.extend({ added: z.boolean() }),
      'Checks a policy file and adds it to the policy store (added false: it was there already); an id and version already stored with other content is refused.',
    ),
    'installKey.protection': method(empty, keyProtection, "Where the key that signs this installation's packages is kept, and what that means."),
    'installKeys.list': method(empty, z.array(installKeyEntry), 'The installation keys the verifier knows (a package signed by another key fails).'),
    'installKeys.add': method(
      z.union([
        z.object({ path: hostPath, label: installKeyLabel.optional() }).strict(),
        z
          .object({
            key: z
              .string()
              .min(1)
              .max(64 * 1024),
            label: installKeyLabel.optional(),
          })
          .strict(),
      ]),
      z.array(installKeyEntry),
      'Adds the Ed25519 keys in a key file or pasted text (PEM, OpenSSH line or allowed_signers) to the known installation keys; a known key takes the new label.',
    ),
    'installKeys.remove': method(
      z.object({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/) }).strict(),
      z.object({ removed: z.boolean() }),
      'Forgets a known installation key (removed false: it was not known).',
    ),
    'selfcheck.start': method(
      z
        .object({
          charger: z
            .object({ voltageV: z.number().min(1).max(1000), currentA: z.number().min(0.1).max(1000) })
            .nullable()
            .default(null),
          ambientC: z.number().min(-40).max(60).nullable().default(null),
          /** The charger fields as typed, kept with the check so they come back as they were. */
          chargerText: chargerText.optional(),
        })
        .strict(),
      z.array(stepInfo),
      'Starts a guided self-check of the connected pack; returns its steps with what the user should do before each.',
    ),
    'selfcheck.step': method(
      z
        .object({
          id: stepId,
          opId,
          /** The charger's ratings entered at this step (null: none); absent: as given at the start. */
          charger: z
            .object({ voltageV: z.number().min(1).max(1000), currentA: z.number().min(0.1).max(1000) })
            .nullable()
            .optional(),
        })
        .strict(),
      stepResult,
      'Runs one step (again, after a fix); plain-words result.',
    ),
    'selfcheck.conclusion': method(empty, conclusionView, '"No problem found" or "file a claim", from the steps run.'),
    'selfcheck.state': method(empty, selfCheckView.nullable(), 'The self-check as it stands (null: none started, or it was ended).'),
    'selfcheck.position': method(
      z.object({ index: z.number().int().min(0).max(100).optional(), charger: chargerText.optional() }).strict(),
      ok,
      'Keeps where the self-check wizard stands: the step page shown, the charger fields as typed.',
    ),
    'selfcheck.discard': method(empty, ok, 'Ends the self-check (Check again); a step still running is stopped.'),
    'selfcheck.report': method(
      z.object({ out: hostPath.optional() }).strict(),
      z.object({ path: z.string(), html: z.string() }),
      "Writes the self-check's result as an HTML report (default: a fresh name in the data folder).",
    ),
    'recording.start': method(
      z.object({ path: hostPath.optional(), rateHz: z.number().min(0.2).max(100) }).strict(),
      z.object({ path: z.string() }),
      'Records the live telemetry into a .pslog desktop recording (default: the data folder).',
    ),
    'recording.stop': method(
      empty,
      z.object({
        path: z.string(),
        records: z.number(),
        segments: z.number(),
        gaps: z.number(),
        /** Each gap (the file marks the first record after one with the recording_gap event). */
        gapList: z.array(logGap).optional(),
        /** Why it ended ("stopped by the user", "the board went away" …). */
        ended: z.string().optional(),
        /**
         * Every file of the recording, oldest first, when the board's firmware changed while it
         * ran (a flash): each file's header names the firmware its records come from.
         */
        parts: z.array(z.object({ path: z.string(), records: z.number(), gaps: z.number(), firmwareVersion: z.string() })).optional(),
      }),
      'Completes the recording file.',
    ),
    'recording.status': method(
      empty,
      z.object({ active: z.boolean(), path: z.string().nullable(), records: z.number(), jobId: z.string().optional(), rateHz: z.number().optional() }),
      'The recording in progress, if any.',
    ),
    'claim.evaluate': method(
      z.object({ logPath: hostPath, claim: ClaimSchema, ticketPath: hostPath.optional() }).strict(),
      z.object({
        device: z.object({ model: z.string(), serial: z.string(), source: z.enum(['device', 'desktop']) }),
        evaluation: EvaluationSchema,
        series: recordedSeries,
        /** The claim ticket given, against the log (null: none given). */
        ticket: claimTicketView.nullable(),
        /** Names exactly what was previewed: package.create with it signs only that (the log unchanged on disk). */
        previewId: z.string().optional(),
      }),
      "Previews a claim: the warranty policy's evaluation of a pulled log (findings, verdict) and its charts, with the claim ticket's facts as package.create signs them; nothing is signed or written.",
    ),
    'photo.inspect': method(
      z.object({ path: hostPath }).strict(),
      z.object({ path: z.string(), name: z.string(), bytes: z.number(), kind: photoKindSchema }),
      'Checks a photo before it is attached to a claim: a JPEG, PNG, WebP or HEIC image (by content) within the size limit.',
    ),
    'package.photo': method(
      z.object({ path: hostPath, name: packagePhotoName, sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
      z.object({ name: z.string(), kind: photoKindSchema, base64: z.string() }),
      'One photo of a verified .psdiag (the package must still have the verified SHA-256, the photo must match SHA256SUMS).',
    ),
    'package.create': method(
      z
        .object({
          logPath: hostPath,
          claim: ClaimSchema,
          /** Absent: a fresh name in the data folder (never over an earlier package). */
          out: hostPath.optional(),
          photos: z.array(hostPath).max(MAX_PHOTOS).default([]),
          ticketPath: hostPath.optional(),
          /** From claim.evaluate: refused unless the log, claim and ticket are still what was previewed. */
          previewId: z.string().max(128).optional(),
        })
        .strict(),
      z.object({
        path: z.string(),
        bytes: z.number(),
        sha256: z.string(),
        verdict: VerdictSchema,
        summary: z.string(),
        /** The claim the package carries the ticket of (null: no ticket). */
        claimId: z.string().nullable(),
      }),
      'Builds the signed diagnosis package (.psdiag) from a pulled log, the claim, its photos and the claim ticket the log was pulled with (a ticket the log was not sealed over is refused).',
    ),
    'op.cancel': method(z.object({ opId }).strict(), z.object({ cancelled: z.boolean() }), 'Cancels a long operation by its opId.'),
    'claim.draft.get': method(empty, claimDraft.nullable(), 'The Claim screen draft the host keeps (null: none).'),
    'claim.draft.set': method(z.object({ draft: claimDraft.nullable() }).strict(), ok, 'Keeps the Claim screen draft (null: forget it).'),
    'package.report': method(
      z.object({ path: hostPath, sha256: z.string().regex(/^[0-9a-f]{64}$/), out: hostPath.optional() }).strict(),
      z.object({ path: z.string(), html: z.string() }),
      "Writes the verifier's report of the package last verified at this SHA-256 (HTML, printable; default: a fresh name in the data folder).",
    ),
    'desktop.openDialog': method(openDialogRequest, openDialogResult, 'The native Open dialog (Electron only).'),
    'desktop.saveDialog': method(saveDialogRequest, dialogResult, 'The native Save dialog (Electron only).'),
    'desktop.showInFolder': method(z.object({ path: hostPath }).strict(), ok, "Shows a file in the system's file manager (Electron only)."),
    'desktop.openPath': method(z.object({ path: hostPath }).strict(), ok, 'Opens a report with the system (Electron only; HTML reports only).'),
    'desktop.theme': method(themeRequest, ok, "The app's theme, so the window's background matches it from the first frame."),
    'files.dropped': method(
      z.object({ path: hostPath }).strict(),
      z.object({ screen: openScreen.nullable() }),
      'A file dropped on the desktop window (by path): opens it on its screen (open-file event); screen null: not a file PackScope opens.',
    ),
    'files.import': method(importRequest, importResult, 'Uploads a file dropped on the browser page into the data folder, in chunks (path once final).'),
    'jobs.list': method(empty, z.array(jobView), "The host's jobs: those running, then the latest finished ones (newest first)."),
    'image.sign': method(
      z
        .object({
          /** The firmware payload: a raw .bin or an Intel HEX file. */
          input: hostPath,
          out: hostPath,
          keyPath: hostPath,
          version: z.string().min(1).max(40),
          boardId: z.string().min(1).max(64),
          securityCounter: z.number().int().min(0).max(0xffff_ffff).optional(),
          overwrite: z.boolean().default(false),
        })
        .strict(),
      z.object({
        path: z.string(),
        version: z.string(),
        boardId: z.string().nullable(),
        size: z.number(),
        hash: z.string(),
        securityCounter: z.number().nullable(),
        keyType: z.string(),
      }),
      'Signs a firmware payload into an MCUboot image for a board (the layout imgtool writes), written atomically.',
    ),
    'image.keygen': method(
      z.object({ out: hostPath, type: z.enum(['ed25519', 'ecdsa-p256']).default('ed25519') }).strict(),
      z.object({ privateKey: z.string(), publicKey: z.string(), keyHash: z.string(), name: z.string() }),
      'Makes a lab signing key (private key mode 0600, public key beside it as .pub.pem); never replaces a file.',
    ),
    'can.monitor': method(
      z
        .object({
          opId,
          port: z.string().min(1).max(512),
          bitrate: z.number().int().min(10_000).max(1_000_000).default(500_000),
          listenOnly: z.boolean().default(true),
        })
        .strict(),
      z.object({
        frames: z.number(),
        seconds: z.number(),
        overruns: z.number(),
        busErrors: z.number(),
        last: z.array(canFrameView),
        /** Why nothing arrived, when nothing did. */
        hint: z.string().nullable(),
      }),
      "Watches a CAN bus through an SLCAN adapter until op.cancel (frames as 'can-frames' events under opId).",
    ),
    'log.partials': method(empty, z.array(partialPull), 'Black-box downloads in the data folder that were cut short and can be resumed.'),
    // The claims desk (shared/api/desk-contract.ts).
    ...deskMethods(recordedSeries),
    // BMS settings (shared/api/settings-contract.ts).
    ...settingsMethods,
    // Several packs on one bus (shared/api/bus-contract.ts).
    ...busMethods,
  },
  events: {
    telemetry: telemetryFrame,
    /** Link changes: 'stale' when telemetry stopped arriving (the host's 1 s watchdog), 'connected' when it resumes. */
    link: z.object({
      state: z.enum(['connected', 'stale', 'disconnected']),
      path: z.string().nullable(),
      reason: z.string().optional(),
      /** The board's identity as last read (sent again after a flash, a revert or a reconnect). */
      device: deviceInfo.nullable().optional(),
      /** Host time of the last telemetry frame before a 'stale' or 'disconnected': a live chart's gap starts there. */
      since: z.number().nullable().optional(),
    }),
    /** A job started, progressed or ended (the same shape jobs.list returns). */
    job: jobView,
    /** The self-check changed (a step ran, the page moved, it ended); null: none. */
    selfcheck: selfCheckView.nullable(),
    /** Frames a CAN monitor received since its last batch. */
    'can-frames': z.object({ opId, frames: z.array(canFrameView) }),
    /** One polling round of the packs on a shared bus (bus.monitor). */
    bus: busRoundView,
    progress: transferProgress.extend({ opId }),
    /** The OS handed the app a file (double-click on a .psdiag or .pslog): open it on its screen. */
    'open-file': z.object({ screen: openScreen, path: hostPath }),
  },
} as const;

export type Contract = typeof contract;
export type MethodName = keyof Contract['methods'];
export type EventName = keyof Contract['events'];
/** What a caller passes (defaults not yet applied). */
export type Req<M extends MethodName> = z.input<Contract['methods'][M]['request']>;
/** What the host receives (validated, defaults applied). */
export type Params<M extends MethodName> = z.output<Contract['methods'][M]['request']>;
export type Res<M extends MethodName> = z.output<Contract['methods'][M]['response']>;
export type EventPayload<E extends EventName> = z.output<Contract['events'][E]>;

export type Features = z.output<typeof features>;
export type ConnectResult = z.output<typeof connectResult>;
export type SessionStatus = z.output<typeof sessionStatus>;
export type RecordingStatus = z.output<typeof recordingStatus>;
export type FileEntry = z.output<typeof fileEntry>;
export type ImageInfo = z.output<typeof imageInfo>;
export type FlashRequest = z.input<typeof flashRequest>;
export type FlashResult = z.output<typeof flashResult>;
export type RomFlashResult = z.output<typeof romFlashResult>;
export type FlashStartResult = z.output<typeof flashStartResult>;
export type RecordedSeries = z.output<typeof recordedSeries>;
export type PackageVerificationView = z.output<typeof packageVerification>;
export type LogOpenResult = z.output<typeof logOpenResult>;
export type StepResultView = z.output<typeof stepResult>;
export type StoredPolicyView = z.output<typeof storedPolicy>;
export type InstallKeyEntry = z.output<typeof installKeyEntry>;
export type ClaimTicketView = z.output<typeof claimTicketView>;
export type JobView = z.output<typeof jobView>;
export type JobKind = z.output<typeof jobKind>;
export type PartialPull = z.output<typeof partialPull>;
export type LogGap = z.output<typeof logGap>;

/**
 * The API as the renderer sees it (window.packscope in Electron, the WebSocket client in a
 * browser): plain functions only, so it crosses Electron's contextBridge unchanged.
 */
export interface PackscopeApi {
  call<M extends MethodName>(method: M, params: Req<M>): Promise<Res<M>>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(contract.methods, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(contract.events, name);
}
