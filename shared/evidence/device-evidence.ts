/**
 * The contract between the evidence chain and the black-box format: given the raw device files a
 * package carries (the .pslog as pulled: segments, signatures, device certificate), decode them
 * afresh and say what holds. Package creation and package verification call the same decoder, so
 * the CSVs and the evaluation in a package can be recomputed and compared byte for byte.
 */
import type { LogRecord } from '../types/domain.js';
import type { ParsedSegment } from '../blackbox/segment.js';
import type { LogGap, SignatureStatus } from '../warranty/evaluation.js';
import type { SettingsEvidence } from '../settings/evidence.js';
import type { LifetimeCounters } from '../health/lifetime.js';
import type { LifetimeView } from '../health/report.js';

/** Lifetime counters as decoded from a package: the numbers, and the view with what verification found. */
export interface LifetimeEvidence {
  counters: LifetimeCounters;
  /** view.verified: signature, binding and the check against the records all hold. */
  view: LifetimeView;
}

export interface EvidenceCheck {
  /** Stable id: 'hashes', 'signature-raw', 'device-certificate', 'segment-signatures', … */
  id: string;
  ok: boolean;
  /** One line, plain words; says what failed and where when ok is false. */
  detail: string;
}

export interface DeviceIdentity {
  serial: string;
  model: string;
  firmwareVersion: string | null;
  hardwareRevision: string | null;
  /** SHA-256 (hex) of the device public key's DER SPKI; null when the data is not device-signed. */
  publicKeyFingerprint: string | null;
  /** Rated capacity as the manufacturing CA certified it (device certificate version 2); null otherwise. identity.json never counts. */
  nominalCapacityAh: number | null;
  /** Cell chemistry as the manufacturing CA certified it (certificate version 2); null otherwise. It picks the OCV curve capacity is measured with. */
  chemistry?: string | null;
  cellCount: number | null;
  /** Temperature sensor names in record order (from the record schema), e.g. cells1, mosfet, board. */
  temperatureLabels: string[] | null;
}

/** The history the board attested in its signed checkpoint, as found in the package. */
export interface AttestedExtent {
  /** Oldest and newest closed segment the board holds (null: none). */
  oldestCounter: number | null;
  newestCounter: number | null;
  /** The open segment the checkpoint seals. */
  openCounter: number;
  /** The board's clock when it signed, ms. */
  boardTimeMs: number;
  bootCount: number;
  /** Time of the oldest attested segment: the board holds history from here (null if the package lacks it). */
  historyFromMs: number | null;
  /** Attested segment counters the package lacks or that do not decode (the first 1000), and how many. */
  unreadable: number[];
  unreadableCount: number;
  /** The nonce the checkpoint was signed over (hex): a claim ticket's nonce proves the pull is fresh. */
  nonce: string;
}

export interface DecodedEvidence {
  device: DeviceIdentity;
  /** The extent the board attested; null for desktop recordings and logs without an attesting checkpoint. */
  extent: AttestedExtent | null;
  source: 'device' | 'desktop';
  /** Segment signatures against the device key in the certificate (independent of any root). */
  signature: SignatureStatus;
  /** Integrity gaps, the first 1000 (gapCount says how many there are). */
  gaps: LogGap[];
  gapCount: number;
  segments: number;
  records: LogRecord[];
  /** The board's signed settings snapshot and change records (device/settings.bin), verified; null when absent. */
  settings?: SettingsEvidence | null;
  /** The board's signed lifetime counters (device/lifetime.bin) with what verification found; absent: the board keeps none. */
  lifetime?: LifetimeEvidence | null;
  /**
   * Checks made while decoding: 'device-certificate' (chain to the root, when one was given),
   * 'segment-signatures', 'segment-chain'. All must be ok for a package to verify.
   */
  checks: EvidenceCheck[];
}

/** What a streamed decode tells about the log besides its records (DecodedEvidence without the records). */
export type EvidenceSummary = Omit<DecodedEvidence, 'records'> & {
  recordCount: number;
  /** Time of the newest record, ms (null: none). */
  lastRecordT: number | null;
};

export interface EvidenceRecordSink {
  /** The record layout, once the first segment is parsed (before its records). */
  schema?(cells: number | null, temperatureLabels: string[] | null): void;
  /**
   * The next records in log order, numbered from 0 by position (`index`); `segment`, when given, is
   * the segment they were decoded from (they are its first records), for consumers that read the
   * raw bytes instead (CSV rows).
   */
  records(records: readonly LogRecord[], segment?: ParsedSegment): void;
}

/** The closed segments (device/segments.bin) streamed again from the start, for a second pass. */
export type SegmentPass = () => Iterable<Uint8Array>;

/** A decode in progress: the closed segments in chunks of any size, then finish. */
export interface EvidenceStream {
  /** Rated capacity certified for the device (known before any segment), Ah; null if none. */
  readonly nominalCapacityAh: number | null;
  /** Cell chemistry certified for the device (certificate version 2); null if none. */
  readonly chemistry?: string | null;
  push(chunk: Uint8Array): void;
  /** Ends the log; `again` streams the closed segments once more if per-segment checks must be made. */
  finish(again: SegmentPass): EvidenceSummary;
}

export interface EvidenceDecoder {
  /**
   * Starts decoding the raw device files (names relative to `device/` in the package; every file
   * but segments.bin, which is pushed in chunks). `rootPublicKeyPem`: the supplier's manufacturing
   * CA; null skips the chain check (package creation on a customer's machine, which does not need
   * the root). `recordsOnly`: a second pass that only needs the records again (no checks).
   */
  open(
    files: ReadonlyMap<string, Uint8Array>,
    trust: { rootPublicKeyPem: string | null },
    sink: EvidenceRecordSink,
    o: { hasSegments: boolean; recordsOnly?: boolean },
  ): EvidenceStream;
}
