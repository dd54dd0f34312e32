import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import * as N from '../../../shared/settings/native.js';
import {
  decodeChange,
  decodeContainer,
  decodeSnapshot,
  encodeChangeBody,
  encodeContainer,
  encodeSnapshotBody,
  signRecord,
  verifySettingsEvidence,
  ZERO_HASH,
} from '../../../shared/settings/evidence.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** The native settings codecs and the signed records: round trips, and arbitrary bytes → DecodeError only. */
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => Math.fround(x));
const str = fc.string({ maxLength: 40 });
const t = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });

const codecs: Array<[string, { encode(v: any): Uint8Array; decode(b: Uint8Array): any }, fc.Arbitrary<any>]> = [
  ['SETTINGS_WRITE', N.SETTINGS_WRITE, fc.record({ tool: str, items: fc.array(fc.record({ id: u16, value: f32 }), { maxLength: N.MAX_WRITE_ITEMS }) })],
  [
    'SETTINGS_WRITTEN',
    N.SETTINGS_WRITTEN,
    fc.record({ items: fc.array(fc.record({ id: u16, result: fc.constantFrom(...N.WRITE_RESULT), stored: f32 }), { maxLength: 64 }) }),
  ],
  ['SNAPSHOT_REQUEST', N.SNAPSHOT_REQUEST, fc.record({ nonce: fc.uint8Array({ maxLength: 64 }) })],
  ['SNAPSHOT_FROZEN', N.SNAPSHOT_FROZEN, fc.record({ length: u32, journalCount: u32 })],
];

const change = fc.record({ seq: u32, rtcMs: t, bootCount: u32, paramId: u16, oldValue: f32, newValue: f32, prevHash: hash, name: str, tool: str });
const snapshot = fc.record({
  rtcMs: t,
  bootCount: u32,
  journalCount: u32,
  journalHead: hash,
  nonce: fc.uint8Array({ maxLength: 64 }),
  values: fc.array(fc.record({ paramId: u16, value: f32, name: str }), { maxLength: 30 }),
});
const fakeSig = () => new Uint8Array(64).fill(7);

describe('native settings codecs', () => {
  for (const [name, c, arb] of codecs) {
    it(`${name} round-trips`, () => {
      fc.assert(
        fc.property(arb, (v) => {
          expect(c.decode(c.encode(v))).toEqual(v);
        }),
      );
    });
    it(`${name} turns arbitrary bytes into a value or a DecodeError`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
          try {
            c.decode(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }),
      );
    });
  }

  it('change records round-trip and hash their body', () => {
    fc.assert(
      fc.property(change, (c) => {
        const body = encodeChangeBody(c);
        const d = decodeChange(signRecord(body, fakeSig));
        expect({ ...d, hash: undefined, signature: undefined, body: undefined }).toEqual({ ...c, hash: undefined, signature: undefined, body: undefined });
        expect(d.hash).toEqual(sha256(body));
      }),
    );
  });

  it('snapshots round-trip', () => {
    fc.assert(
      fc.property(snapshot, (s) => {
        const d = decodeSnapshot(signRecord(encodeSnapshotBody(s), fakeSig));
        expect({ rtcMs: d.rtcMs, bootCount: d.bootCount, journalCount: d.journalCount, journalHead: d.journalHead, nonce: d.nonce, values: d.values }).toEqual(
          s,
        );
      }),
    );
  });

  it('containers round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (s, e) => {
        expect(decodeContainer(encodeContainer(s, e))).toEqual({ snapshot: s, entries: e });
      }),
    );
  });

  for (const [name, decode] of [
    ['change record', decodeChange],
    ['snapshot', decodeSnapshot],
    ['container', decodeContainer],
    ['container verification', (b: Uint8Array) => verifySettingsEvidence(b, p256.getPublicKey(p256.utils.randomSecretKey(), false))],
  ] as const) {
    it(`the ${name} decoder turns arbitrary bytes into a value or a DecodeError`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
          try {
            decode(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }),
      );
    });
  }
});

describe('settings evidence verification', () => {
  const secret = p256.utils.randomSecretKey();
  const pub = p256.getPublicKey(secret, false);
  const sign = (m: Uint8Array) => p256.sign(m, secret);
  function journal(n: number): { entries: Uint8Array[]; head: Uint8Array } {
    let prev = ZERO_HASH;
    const entries: Uint8Array[] = [];
    for (let i = 1; i <= n; i++) {
      const body = encodeChangeBody({
        seq: i,
        rtcMs: 1000 * i,
        bootCount: 1,
        paramId: 1,
        oldValue: 3.6,
        newValue: 3.6 + i / 100,
        prevHash: prev,
        name: 'cell_overvoltage',
        tool: 't',
      });
      entries.push(signRecord(body, sign));
      prev = sha256(body);
    }
    return { entries, head: prev };
  }
  const snap = (count: number, head: Uint8Array) =>
    signRecord(
      encodeSnapshotBody({
        rtcMs: 9,
        bootCount: 1,
        journalCount: count,
        journalHead: head,
        nonce: new Uint8Array([1]),
        values: [{ paramId: 1, value: 3.63, name: 'cell_overvoltage' }],
      }),
      sign,
    );

  it('accepts an intact journal and names the changes in catalogue ids', () => {
    const j = journal(3);
    const ev = verifySettingsEvidence(encodeContainer(snap(3, j.head), j.entries), pub);
    expect(ev.problems).toEqual([]);
    expect(ev.changes.map((c) => [c.seq, c.setting, c.newValue])).toEqual([
      [1, 'cell_ov_protect', 3.61],
      [2, 'cell_ov_protect', 3.62],
      [3, 'cell_ov_protect', 3.63],
    ]);
    expect(ev.values).toEqual({ cell_ov_protect: 3.63 });
  });

  it('reports a removed record, a tampered record and a truncated tail', () => {
    const j = journal(3);
    expect(verifySettingsEvidence(encodeContainer(snap(3, j.head), [j.entries[0]!, j.entries[2]!]), pub).problems.join()).toMatch(/records are missing/);
    const bad = j.entries[1]!.slice();
    bad[30] ^= 1;
    expect(verifySettingsEvidence(encodeContainer(snap(3, j.head), [j.entries[0]!, bad, j.entries[2]!]), pub).problems.join()).toMatch(
      /signature does not verify/,
    );
    expect(verifySettingsEvidence(encodeContainer(snap(3, j.head), j.entries.slice(0, 2)), pub).problems.join()).toMatch(/ends at 2/);
    const other = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    expect(verifySettingsEvidence(encodeContainer(snap(3, j.head), j.entries), other).verified).toBe(false);
  });
});
