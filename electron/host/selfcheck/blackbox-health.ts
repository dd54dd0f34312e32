/**
 * Black-box health on a native board: the ring answers, records keep arriving, the device
 * certificate names this board, and the newest closed segment (read back over the bulk transfer)
 * carries a valid device signature. Power losses (segments closed at boot) are counted.
 */
import { decodeCertificate } from '../../../shared/blackbox/certificate.js';
import { readHeader, TRAILER_FLAG } from '../../../shared/blackbox/format.js';
import { BB_CERTIFICATE, BB_CMD, BB_SEGMENTS_REQ, BB_SEGMENTS_RES, BB_STATUS, NONE32, type BlackBoxStatus } from '../../../shared/blackbox/messages.js';
import { parseSegment, segmentDigest } from '../../../shared/blackbox/segment.js';
import { p256 } from '@noble/curves/nist.js';
import { bytesEqual } from '../../../shared/util/bytes.js';
import type { NativeDriver } from '../drivers/native.js';
import type { StepResult } from './types.js';

const title = 'Black box';

function verifyDigest(signature: Uint8Array, digest: Uint8Array, key: Uint8Array): boolean {
  try {
    return p256.verify(signature, digest, key, { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

/** Temperature sensor names from the record schema of the segment being written (null: unknown). */
export async function readTemperatureLabels(native: NativeDriver, signal?: AbortSignal): Promise<string[] | null> {
  try {
    const st = BB_STATUS.decode(await native.request(BB_CMD.STATUS));
    const counter = st.openCounter !== NONE32 ? st.openCounter : st.newestCounter;
    if (counter === NONE32) return null;
    const slot = counter % st.slotCount;
    const res = await native.bulkRead({
      region: st.ringRegion,
      offset: slot * st.segmentSize,
      length: Math.min(1024, st.segmentSize),
      ...(signal ? { signal } : {}),
    });
    const bytes = new Uint8Array(st.segmentSize).fill(0xff);
    bytes.set(res.data!);
    return readHeader(bytes).schema.tempLabels;
  } catch {
    return null;
  }
}
const normal = 'the log is being written, the certificate names this pack, and the newest segment is signed by the pack';

export async function checkBlackBox(native: NativeDriver, serial: string, signal?: AbortSignal): Promise<StepResult> {
  const base = { id: 'blackbox' as const, title, normal };
  let status: BlackBoxStatus;
  try {
    status = BB_STATUS.decode(await native.request(BB_CMD.STATUS, new Uint8Array(0), { ...(signal ? { signal } : {}) }));
  } catch (e) {
    return {
      ...base,
      status: 'fail',
      measured: `the black box does not answer (${(e as Error).message})`,
      meaning: 'The pack cannot produce evidence for a claim: its black box is not working. File a claim.',
      values: {},
    };
  }
  const values: StepResult['values'] = {
    oldestSegment: status.oldestCounter === NONE32 ? null : status.oldestCounter,
    newestSegment: status.newestCounter === NONE32 ? null : status.newestCounter,
    openRecords: status.openRecords,
    recordsWritten: status.recordsWritten,
    bootCount: status.bootCount,
  };
  const problems: string[] = [];
  let certSerial: string | null = null;
  let key: Uint8Array | null = null;
  try {
    const { certificate } = BB_CERTIFICATE.decode(await native.request(BB_CMD.CERTIFICATE));
    const cert = decodeCertificate(certificate);
    certSerial = cert.serial;
    key = cert.devicePublicKey;
    if (cert.serial !== serial) problems.push(`its certificate names serial ${cert.serial}, not ${serial}`);
  } catch (e) {
    problems.push(`its device certificate is missing or unreadable (${(e as Error).message})`);
  }
  values.certificateSerial = certSerial;

  // Records keep arriving: the open segment grows (or a new one opens) within a few record intervals.
  const before = status;
  await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(1200, status.recordIntervalMs * 1.5))));
  const after = BB_STATUS.decode(await native.request(BB_CMD.STATUS));
  const grew = after.recordsWritten > before.recordsWritten || after.openCounter !== before.openCounter || after.openRecords > before.openRecords;
  values.recording = grew;
  if (!grew) problems.push('no new record was written while the check waited');

  let powerLosses = 0;
  let verifiedSegment: number | null = null;
  if (after.newestCounter !== NONE32) {
    const from = Math.max(after.oldestCounter, after.newestCounter - 255);
    const list = BB_SEGMENTS_RES.decode(await native.request(BB_CMD.SEGMENTS, BB_SEGMENTS_REQ.encode({ from, max: 256 }))).segments;
    powerLosses = list.filter((s) => s.flags & TRAILER_FLAG.CLOSED_AT_BOOT).length;
    const newest = list.find((s) => s.counter === after.newestCounter);
    if (newest && key) {
      const res = await native.bulkRead({
        region: after.ringRegion,
        offset: newest.slot * after.segmentSize,
        length: after.segmentSize,
        ...(signal ? { signal } : {}),
      });
      try {
        const seg = parseSegment(res.data!);
        readHeader(seg.bytes);
        const digest = segmentDigest(seg.bytes);
        if (seg.header.counter !== newest.counter) problems.push(`slot ${newest.slot} holds segment ${seg.header.counter}, not ${newest.counter}`);
        else if (!seg.trailer || !bytesEqual(digest, seg.trailer.sha256)) problems.push(`segment ${newest.counter} does not match its hash`);
        else if (!verifyDigest(seg.trailer.signature, digest, key)) problems.push(`segment ${newest.counter} is not signed by this pack's key`);
        else verifiedSegment = newest.counter;
      } catch (e) {
        problems.push(`segment ${newest.counter} does not decode (${(e as Error).message})`);
      }
    }
  }
  values.verifiedSegment = verifiedSegment;
  values.powerLossesInLast256Segments = powerLosses;
  const span = after.newestCounter === NONE32 ? 0 : after.newestCounter - after.oldestCounter + 1;
  const measured =
    `${span} closed segment(s) in the ring, open segment ${after.openCounter === NONE32 ? '–' : after.openCounter} with ${after.openRecords} records` +
    (grew ? ', recording' : ', NOT recording') +
    (verifiedSegment !== null ? `; segment ${verifiedSegment} read back and its signature verified` : '') +
    (powerLosses ? `; ${powerLosses} power loss(es) in the last 256 segments` : '');
  if (problems.length) {
    return {
      ...base,
      status: 'fail',
      measured,
      meaning: `The black box is not healthy: ${problems.join('; ')}. Without it a claim cannot be decided from evidence: file a claim for the BMS.`,
      values,
    };
  }
  if (powerLosses > 0) {
    // Healthy, with a note: a status of "needs attention" would contradict its own words.
    return {
      ...base,
      status: 'pass',
      measured,
      meaning:
        'The black box records and signs evidence as it should. The pack lost power while running a few times (for example a disconnected battery under load); that is recorded, not a fault.',
      values,
    };
  }
  return { ...base, status: 'pass', measured, meaning: 'The black box records and signs evidence as it should.', values };
}
