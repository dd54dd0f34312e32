import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assembleCertificate, certificateTbs, publicKeyPem, spkiFromPoint } from '../../../shared/blackbox/certificate.js';
import { buildSchemaText, type RecordValues } from '../../../shared/blackbox/format.js';
import { checkpointMessage, type Checkpoint } from '../../../shared/blackbox/verify.js';
import { SegmentBuilder } from '../../../shared/blackbox/writer.js';
import type { DeviceEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import { concatBytes } from '../../../shared/util/bytes.js';

/**
 * A signed black box built with the black-box writer, the way a board writes it: a manufacturing
 * CA, a device key certified by it, closed segments signed by the device, and a checkpoint of the
 * open segment over a tool nonce. Deterministic for a given seed.
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
  /** Leave the last segment open and seal it with a checkpoint (default true). */
  checkpoint?: boolean;
}

export function makeDeviceLog(records: RecordValues[], o: LogOptions = {}): DeviceEvidenceParts & { ca: Ca } {
  const serial = o.serial ?? 'SN-0001';
  const model = o.model ?? 'PS-LFP-100';
  const ca = o.ca ?? makeCa(1);
  const deviceSk = p256.utils.randomSecretKey(new Uint8Array(48).fill((o.deviceSeed ?? 2) & 255));
  const devicePub = p256.getPublicKey(deviceSk, false);
  const tbs = certificateTbs({ issuedMs: Date.UTC(2026, 0, 1), serial, model, boardId: 'psbms-v1', devicePublicKey: devicePub, issuerSpki: ca.spki });
  const certificate = assembleCertificate(tbs, p256.sign(tbs, ca.secretKey));
  const cells = o.cells ?? records[0]?.cellVoltages.length ?? 4;
  const labels = (records[0]?.temperatures ?? [0, 0]).map((_, i) => (i === 0 ? 'cells1' : i === 1 ? 'mosfet' : `s${i + 1}`));
  const schemaText = buildSchemaText(cells, labels);
  const sign = (digest: Uint8Array) => p256.sign(digest, deviceSk, { prehash: false });
  const closed: Uint8Array[] = [];
  let prevHash: Uint8Array = new Uint8Array(32);
  let counter = 0;
  let seg: SegmentBuilder | null = null;
  const open = (t: number) => new SegmentBuilder({ segmentSize: o.segmentSize ?? 4096, counter: counter++, bootCount: 1, rtcMs: t, uptimeMs: 0, prevHash, serial, schemaText });
  for (const r of records) {
    if (seg && !seg.accepts(r.t)) {
      prevHash = seg.close(sign);
      closed.push(seg.bytes);
      seg = null;
    }
    seg ??= open(r.t);
    seg.append(r);
  }
  let checkpoint: Checkpoint | null = null;
  if (seg) {
    if (o.checkpoint === false) {
      seg.close(sign);
      closed.push(seg.bytes);
    } else {
      const nonce = sha256(new Uint8Array([counter])).slice(0, 16);
      const prefix = seg.bytes.slice(0, seg.usedBytes);
      const signature = p256.sign(sha256(checkpointMessage(seg.counter, seg.recordCount, nonce, prefix)), deviceSk, { prehash: false });
      checkpoint = { counter: seg.counter, recordCount: seg.recordCount, nonce, signature, prefix, segmentSize: seg.bytes.length };
    }
  }
  return {
    ca,
    identity: {
      model,
      serial,
      boardId: 'psbms-v1',
      hardwareRevision: 'B',
      firmwareVersion: '1.4.2',
      bootloaderVersion: '1.0.0',
      cellCount: cells,
      chemistry: 'lfp',
      nominalCapacityAh: o.nominalCapacityAh ?? 100,
      pulledAt: '2026-06-03T10:00:00.000Z',
    },
    certificate,
    segments: concatBytes(...closed),
    checkpoint,
  };
}

/** Record values from a synthetic LogRecord-like stream (index/segment are assigned by decoding). */
export function values(recs: { t: number; packVoltage: number; current: number; soc: number; cellVoltages: number[]; temperatures: number[]; status: number; alarms: number; event: number }[]): RecordValues[] {
  return recs.map(({ t, packVoltage, current, soc, cellVoltages, temperatures, status, alarms, event }) => ({ t, packVoltage, current, soc, cellVoltages, temperatures, status, alarms, event }));
}
