/**
 * The native board's signed settings records (firmware/PROTOCOL.md §5.1) and their verification.
 *
 *   change record   "PSSC" | version u8 (1) | flags u8 | seq u32 | rtcMs u64 | bootCount u32 |
 *                   paramId u16 | old f32 | new f32 | prevHash[32] | name str8 | tool str8 | signature[64]
 *   snapshot        "PSSS" | version u8 (1) | flags u8 | rtcMs u64 | bootCount u32 | journalCount u32 |
 *                   journalHead[32] | nonceLen u8 | nonce | count u16 | (paramId u16 | value f32 | name str8)… |
 *                   signature[64]
 *
 * The body is every byte before the signature; its SHA-256 is the record's hash (a change record's
 * prevHash is the previous record's hash, so the journal is a chain; the snapshot's journalHead is
 * the newest record's hash and its SHA-256 is the snapshot's digest). The signature is ECDSA P-256
 * by the device key over that hash, raw r‖s, as the black-box segments are signed.
 *
 * The journal also holds the board's firmware-update records (update-record.ts), in the same chain.
 * A pull and a package keep them together in one container:
 *   "PSSE" | version u8 (1) | snapshot blob32 | count u32 | (entry blob16)…
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { ByteReader, ByteWriter } from '../protocol/bytes-io.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { NATIVE_PARAM_SETTINGS } from './native.js';
import { decodeUpdate, isUpdateRecord, type UpdateOutcome } from './update-record.js';

const CHANGE_MAGIC = [0x50, 0x53, 0x53, 0x43]; // PSSC
const SNAPSHOT_MAGIC = [0x50, 0x53, 0x53, 0x53]; // PSSS
const CONTAINER_MAGIC = [0x50, 0x53, 0x53, 0x45]; // PSSE
const SIG = 64;
export const ZERO_HASH = new Uint8Array(32);

export interface ChangeRecord {
  seq: number;
  rtcMs: number;
  bootCount: number;
  paramId: number;
  oldValue: number;
  newValue: number;
  prevHash: Uint8Array;
  /** The board's parameter name. */
  name: string;
  /** The tool's identity as it sent it ('' for a PARAM_SET that carried none). */
  tool: string;
}

export interface SnapshotRecord {
  rtcMs: number;
  bootCount: number;
  journalCount: number;
  journalHead: Uint8Array;
  nonce: Uint8Array;
  values: Array<{ paramId: number; value: number; name: string }>;
}

function magic(w: ByteWriter, m: number[]): void {
  for (const b of m) w.u8(b);
}
function checkMagic(r: ByteReader, m: number[], what: string): void {
  const got = r.bytes(4, 'magic');
  if (!m.every((b, i) => got[i] === b)) throw new DecodeError(`${what}: bad magic`);
}

export function encodeChangeBody(c: ChangeRecord): Uint8Array {
  const w = new ByteWriter(128);
  magic(w, CHANGE_MAGIC);
  w.u8(1).u8(0).u32(c.seq).u64(c.rtcMs).u32(c.bootCount).u16(c.paramId).f32(c.oldValue).f32(c.newValue).bytes(c.prevHash);
  w.str8(c.name).str8(c.tool);
  return w.finish();
}

export function encodeSnapshotBody(s: SnapshotRecord): Uint8Array {
  const w = new ByteWriter(256);
  magic(w, SNAPSHOT_MAGIC);
  w.u8(1).u8(0).u64(s.rtcMs).u32(s.bootCount).u32(s.journalCount).bytes(s.journalHead);
  w.u8(s.nonce.length).bytes(s.nonce).u16(s.values.length);
  for (const v of s.values) w.u16(v.paramId).f32(v.value).str8(v.name);
  return w.finish();
}

/** A signed record: body ‖ signature. `sign` signs SHA-256(body) (ECDSA P-256, raw r‖s). */
export function signRecord(body: Uint8Array, sign: (message: Uint8Array) => Uint8Array): Uint8Array {
  const sig = sign(body);
  if (sig.length !== SIG) throw new RangeError('device signature must be 64 bytes');
  const out = new Uint8Array(body.length + SIG);
  out.set(body);
  out.set(sig, body.length);
  return out;
}

function split(bytes: Uint8Array, what: string): { body: Uint8Array; signature: Uint8Array } {
  if (bytes.length < SIG + 8) throw new DecodeError(`${what}: too short (${bytes.length} bytes)`);
  return { body: bytes.subarray(0, bytes.length - SIG), signature: bytes.subarray(bytes.length - SIG) };
}

export function decodeChange(bytes: Uint8Array): ChangeRecord & { hash: Uint8Array; signature: Uint8Array; body: Uint8Array } {
  const { body, signature } = split(bytes, 'settings change record');
  const r = new ByteReader(body, 'settings change record');
  checkMagic(r, CHANGE_MAGIC, 'settings change record');
  const version = r.u8('version');
  if (version !== 1) throw new DecodeError(`settings change record: version ${version} (this PackScope reads 1)`);
  r.u8('flags');
  const c: ChangeRecord = {
    seq: r.u32('seq'),
    rtcMs: r.u64('rtcMs'),
    bootCount: r.u32('bootCount'),
    paramId: r.u16('paramId'),
    oldValue: r.f32('old'),
    newValue: r.f32('new'),
    prevHash: r.bytes(32, 'prevHash').slice(),
    name: r.str8('name'),
    tool: r.str8('tool'),
  };
  if (r.remaining !== 0) throw new DecodeError(`settings change record: ${r.remaining} unexpected bytes before the signature`);
  return { ...c, hash: sha256(body), signature: signature.slice(), body: body.slice() };
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotRecord & { digest: Uint8Array; signature: Uint8Array; body: Uint8Array } {
  const { body, signature } = split(bytes, 'settings snapshot');
  const r = new ByteReader(body, 'settings snapshot');
  checkMagic(r, SNAPSHOT_MAGIC, 'settings snapshot');
  const version = r.u8('version');
  if (version !== 1) throw new DecodeError(`settings snapshot: version ${version} (this PackScope reads 1)`);
  r.u8('flags');
  const rtcMs = r.u64('rtcMs');
  const bootCount = r.u32('bootCount');
  const journalCount = r.u32('journalCount');
  const journalHead = r.bytes(32, 'journalHead').slice();
  const nonce = r.bytes(r.u8('nonceLen'), 'nonce').slice();
  const n = r.u16('count');
  const values: SnapshotRecord['values'] = [];
  for (let i = 0; i < n; i++) values.push({ paramId: r.u16('paramId'), value: r.f32('value'), name: r.str8('name') });
  if (r.remaining !== 0) throw new DecodeError(`settings snapshot: ${r.remaining} unexpected bytes before the signature`);
  return { rtcMs, bootCount, journalCount, journalHead, nonce, values, digest: sha256(body), signature: signature.slice(), body: body.slice() };
}

export function encodeContainer(snapshot: Uint8Array, entries: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(snapshot.length + entries.length * 200 + 16);
  magic(w, CONTAINER_MAGIC);
  w.u8(1).u32(snapshot.length).bytes(snapshot).u32(entries.length);
  for (const e of entries) w.blob16(e);
  return w.finish();
}

export function decodeContainer(bytes: Uint8Array): { snapshot: Uint8Array; entries: Uint8Array[] } {
  const r = new ByteReader(bytes, 'settings evidence');
  checkMagic(r, CONTAINER_MAGIC, 'settings evidence');
  const version = r.u8('version');
  if (version !== 1) throw new DecodeError(`settings evidence: version ${version} (this PackScope reads 1)`);
  const snapshot = r.bytes(r.u32('snapshotLength'), 'snapshot').slice();
  const n = r.u32('count');
  if (n > r.remaining / 2) throw new DecodeError(`settings evidence: ${n} entries cannot fit in ${r.remaining} bytes`);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < n; i++) entries.push(r.blob16('entry').slice());
  if (r.remaining !== 0) throw new DecodeError(`settings evidence: ${r.remaining} trailing bytes`);
  return { snapshot, entries };
}

/** One verified change, in the catalogue's vocabulary. */
export interface SettingsChange {
  seq: number;
  t: number;
  bootCount: number;
  paramId: number;
  name: string;
  /** Catalogue id, or null for a parameter the catalogue does not know. */
  setting: string | null;
  oldValue: number;
  newValue: number;
  tool: string;
  /** SHA-256 (hex) of the signed record. */
  hash: string;
}

/** One verified firmware-update record (update-record.ts). */
export interface FirmwareUpdateEntry {
  seq: number;
  t: number;
  bootCount: number;
  outcome: UpdateOutcome;
  oldVersion: string;
  newVersion: string;
  /** The release bundle's sequence number (null: installed without a bundle). */
  releaseSequence: number | null;
  releaseDigest: string | null;
  hash: string;
}

export interface SettingsEvidence {
  /** Values the board signed in its snapshot, by catalogue id (or board name when unknown). */
  values: Record<string, number>;
  snapshotTime: number;
  snapshotBootCount: number;
  /** SHA-256 (hex) of the snapshot body. */
  snapshotDigest: string;
  nonce: string;
  /** Records the board has made since it was made, oldest first (journalCount in all, changes and updates). */
  journalCount: number;
  changes: SettingsChange[];
  /** Firmware the board test-booted, confirmed or reverted, oldest first (its firmware history). */
  updates: FirmwareUpdateEntry[];
  /** Sequence numbers the board no longer holds (its journal ring overwrote them): 1…n-1 of the first entry kept. */
  olderThanKept: number;
  /** Every signature and chain link verified against the device key. */
  verified: boolean;
  problems: string[];
}

/** Float32 as the board stored it, rounded to 6 significant digits (3.6500000953 → 3.65). */
export function wireValue(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}

function verifySig(body: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return p256.verify(signature, body, publicKey, { lowS: false });
  } catch {
    return false;
  }
}

/**
 * Decodes and verifies a settings evidence container against the device public key (uncompressed
 * SEC1 point, as in the device certificate): every signature, the chain of change records, and the
 * snapshot's journal head and count against the newest record. Damage is reported, never repaired.
 */
export function verifySettingsEvidence(container: Uint8Array, devicePublicKey: Uint8Array): SettingsEvidence {
  const { snapshot: snapBytes, entries } = decodeContainer(container);
  const snap = decodeSnapshot(snapBytes);
  const problems: string[] = [];
  if (!verifySig(snap.body, snap.signature, devicePublicKey)) problems.push('the settings snapshot signature does not verify against the device key');
  const changes: SettingsChange[] = [];
  const updates: FirmwareUpdateEntry[] = [];
  let prev: { seq: number; hash: Uint8Array } | null = null;
  let first = 0;
  for (const bytes of entries) {
    // The journal chains settings changes and firmware updates (update-record.ts) alike.
    const c = isUpdateRecord(bytes) ? decodeUpdate(bytes) : decodeChange(bytes);
    const what = 'outcome' in c ? 'firmware update record' : 'settings change';
    if (!verifySig(c.body, c.signature, devicePublicKey)) problems.push(`${what} ${c.seq}: signature does not verify against the device key`);
    if (prev) {
      if (c.seq !== prev.seq + 1) problems.push(`${what} ${c.seq} follows ${prev.seq}: records are missing`);
      else if (!bytesEqual(c.prevHash, prev.hash)) problems.push(`${what} ${c.seq} is not chained to ${prev.seq}`);
    } else {
      first = c.seq;
      if (c.seq === 1 && !bytesEqual(c.prevHash, ZERO_HASH)) problems.push('the first settings change does not start the chain');
    }
    prev = { seq: c.seq, hash: c.hash };
    if ('outcome' in c) {
      updates.push({
        seq: c.seq,
        t: c.rtcMs,
        bootCount: c.bootCount,
        outcome: c.outcome,
        oldVersion: c.oldVersion,
        newVersion: c.newVersion,
        releaseSequence: c.releaseSequence || null,
        releaseDigest: c.releaseSequence ? toHex(c.releaseDigest) : null,
        hash: toHex(c.hash),
      });
      continue;
    }
    changes.push({
      seq: c.seq,
      t: c.rtcMs,
      bootCount: c.bootCount,
      paramId: c.paramId,
      name: c.name,
      setting: NATIVE_PARAM_SETTINGS[c.name] ?? null,
      oldValue: wireValue(c.oldValue),
      newValue: wireValue(c.newValue),
      tool: c.tool,
      hash: toHex(c.hash),
    });
  }
  if (snap.journalCount === 0) {
    if (entries.length) problems.push('the snapshot says the board recorded no change, yet change records are present');
  } else if (!prev) {
    problems.push(`the board recorded ${snap.journalCount} settings change(s); none is in the evidence`);
  } else {
    if (prev.seq !== snap.journalCount) problems.push(`the board recorded ${snap.journalCount} settings change(s); the evidence ends at ${prev.seq}`);
    else if (!bytesEqual(prev.hash, snap.journalHead)) problems.push('the newest settings change is not the one the snapshot names');
  }
  const values: Record<string, number> = {};
  for (const v of snap.values) values[NATIVE_PARAM_SETTINGS[v.name] ?? v.name] = wireValue(v.value);
  return {
    values,
    snapshotTime: snap.rtcMs,
    snapshotBootCount: snap.bootCount,
    snapshotDigest: toHex(snap.digest),
    nonce: toHex(snap.nonce),
    journalCount: snap.journalCount,
    changes,
    updates,
    olderThanKept: first > 1 ? first - 1 : 0,
    verified: problems.length === 0,
    problems,
  };
}
