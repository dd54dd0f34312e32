import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assembleCertificate, certificateTbs, publicKeyPem, spkiFromPoint } from '../../../shared/blackbox/certificate.js';
import { buildSchemaText, type RecordValues } from '../../../shared/blackbox/format.js';
import { ATTESTATION_NONE, checkpointMessage, type Attestation, type Checkpoint } from '../../../shared/blackbox/verify.js';
import { SegmentBuilder } from '../../../shared/blackbox/writer.js';
import type { DeviceEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import { concatBytes } from '../../../shared/util/bytes.js';

/**
 * A signed black box built with the black-box writer, the way a board writes it: a manufacturing
 * CA, a device key certified by it (certificate version 2, with the pack's rating), closed segments
 * signed by the device, and a checkpoint of the open segment over a tool nonce that attests the
 * extent (checkpoint format 2: oldest and newest closed segment with their hashes, board clock, boot
 * count). Options build a version-1 certificate or a first-format checkpoint instead. Deterministic
 * for a given seed.
 */
export interface Ca {
  secretKey: Uint8Array;
  spki: Uint8Array;
  pem: string;
}

export function makeCa(seed: number): Ca {
  const secretKey = p256.utils.randomSecretKey(new Uint8Array(48).fill(seed & 255));
  const spki = spkiFromPoint(p256.getPublicKey(secretKey, false));
  return { secretKey, spki, pem: publicKeyPem(spki) };
}

export interface LogOptions {
  serial?: string;
  model?: string;
  ca?: Ca;
  deviceSeed?: number;
  cells?: number;
  segmentSize?: number;
  nominalCapacityAh?: number;
  /** Chemistry in the identity and the certified rating (default 'lfp'). */
  chemistry?: string;
  /** Leave the last segment open and seal it with a checkpoint (default true). */
  checkpoint?: boolean;
  /** 2 (default): the certificate carries the rating (chemistry, cells, nominalCapacityAh); 1: it carries none. */
  certificateVersion?: 1 | 2;
  /** Checkpoint format 2 with the attested extent (default true); false: the first format, no attestation. */
  attestation?: boolean;
  /** Attest this counter as the oldest the board holds (default: the first closed segment). */
  attestedOldest?: number;
  /** The board clock in the attestation, ms (default: the last record's time). */
  boardTimeMs?: number;
  /** Boot count in the segments and the attestation (default 1). */
  bootCount?: number;
  /** Closed segments (by counter) left out of `segments`, as a package that drops part of the log would. */
  omitSegments?: number[];
  /** The checkpoint's nonce (default: 16 bytes derived from the segment count). */
  nonce?: Uint8Array;
  /** Firmware version in the identity (default 1.4.2). */
  firmwareVersion?: string;
  /** When the CA certified the board (default 2026-01-01). */
  certificateIssuedMs?: number;
}

export function makeDeviceLog(records: RecordValues[], o: LogOptions = {}): DeviceEvidenceParts & { ca: Ca } {
  const serial = o.serial ?? 'SN-0001';
  const model = o.model ?? 'PS-LFP-100';
  const ca = o.ca ?? makeCa(1);
  const deviceSk = p256.utils.randomSecretKey(new Uint8Array(48).fill((o.deviceSeed ?? 2) & 255));
  const devicePub = p256.getPublicKey(deviceSk, false);
  const cells = o.cells ?? records[0]?.cellVoltages.length ?? 4;
  const chemistry = o.chemistry ?? 'lfp';
  const nominalCapacityAh = o.nominalCapacityAh ?? 100;
  const rating = o.certificateVersion === 1 ? {} : { rating: { chemistry, cellCount: cells, ratedCapacityAh: nominalCapacityAh } };
  const tbs = certificateTbs({
    issuedMs: o.certificateIssuedMs ?? Date.UTC(2026, 0, 1),
    serial,
    model,
    boardId: 'psbms-v1',
    ...rating,
    devicePublicKey: devicePub,
    issuerSpki: ca.spki,
  });
  const certificate = assembleCertificate(tbs, p256.sign(tbs, ca.secretKey));
  const labels = (records[0]?.temperatures ?? [0, 0]).map((_, i) => (i === 0 ? 'cells1' : i === 1 ? 'mosfet' : `s${i + 1}`));
  const schemaText = buildSchemaText(cells, labels);
  const sign = (digest: Uint8Array) => p256.sign(digest, deviceSk, { prehash: false });
  const bootCount = o.bootCount ?? 1;
  const closed: Array<{ counter: number; bytes: Uint8Array; sha256: Uint8Array }> = [];
  let prevHash: Uint8Array = new Uint8Array(32);
  let counter = 0;
  let seg: SegmentBuilder | null = null;
  const open = (t: number) =>
    new SegmentBuilder({ segmentSize: o.segmentSize ?? 4096, counter: counter++, bootCount, rtcMs: t, uptimeMs: 0, prevHash, serial, schemaText });
  const close = (b: SegmentBuilder) => {
    prevHash = b.close(sign);
    closed.push({ counter: b.counter, bytes: b.bytes, sha256: prevHash });
  };
  for (const r of records) {
    if (seg && !seg.accepts(r.t)) {
      close(seg);
      seg = null;
    }
    seg ??= open(r.t);
    seg.append(r);
  }
  let checkpoint: Checkpoint | null = null;
  if (seg) {
    if (o.checkpoint === false) {
      close(seg);
    } else {
      const nonce = o.nonce ?? sha256(new Uint8Array([counter])).slice(0, 16);
      const prefix = seg.bytes.slice(0, seg.usedBytes);
      const attestation = o.attestation === false ? null : attest(closed, o.attestedOldest, o.boardTimeMs ?? records[records.length - 1]!.t, bootCount);
      const signature = p256.sign(sha256(checkpointMessage(seg.counter, seg.recordCount, nonce, prefix, attestation)), deviceSk, { prehash: false });
      checkpoint = {
        counter: seg.counter,
        recordCount: seg.recordCount,
        nonce,
        signature,
        prefix,
        segmentSize: seg.bytes.length,
        ...(attestation ? { attestation } : {}),
      };
    }
  }
  const omit = new Set(o.omitSegments ?? []);
  return {
    ca,
    identity: {
      model,
      serial,
      boardId: 'psbms-v1',
      hardwareRevision: 'B',
      firmwareVersion: o.firmwareVersion ?? '1.4.2',
      bootloaderVersion: '1.0.0',
      cellCount: cells,
      chemistry,
      nominalCapacityAh,
      pulledAt: '2026-06-03T10:00:00.000Z',
    },
    certificate,
    segments: concatBytes(...closed.filter((c) => !omit.has(c.counter)).map((c) => c.bytes)),
    checkpoint,
  };
}

/** The extent a board with these closed segments attests: oldest (or `oldest`) and newest with their hashes. */
function attest(closed: Array<{ counter: number; sha256: Uint8Array }>, oldest: number | undefined, boardTimeMs: number, bootCount: number): Attestation {
  const first = oldest === undefined ? closed[0] : closed.find((c) => c.counter === oldest);
  const last = closed[closed.length - 1];
  if (!first || !last) {
    return {
      oldestCounter: ATTESTATION_NONE,
      oldestHash: new Uint8Array(32),
      newestCounter: ATTESTATION_NONE,
      newestHash: new Uint8Array(32),
      boardTimeMs,
      bootCount,
    };
  }
  return { oldestCounter: first.counter, oldestHash: first.sha256, newestCounter: last.counter, newestHash: last.sha256, boardTimeMs, bootCount };
}

/** Record values from a synthetic LogRecord-like stream (index/segment are assigned by decoding). */
export function values(
  recs: {
    t: number;
    packVoltage: number;
    current: number;
    soc: number;
    cellVoltages: number[];
    temperatures: number[];
    status: number;
    alarms: number;
    event: number;
  }[],
): RecordValues[] {
  return recs.map(({ t, packVoltage, current, soc, cellVoltages, temperatures, status, alarms, event }) => ({
    t,
    packVoltage,
    current,
    soc,
    cellVoltages,
    temperatures,
    status,
    alarms,
    event,
  }));
}
