import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_UDS_PROFILES, parseUdsProfile, parseUdsProfileJson } from '../../../shared/can/uds-profile.js';
import { addressAndLengthRecord } from '../../../shared/can/uds.js';
import { resolveUdsProfile } from '../../../electron/host/can/profile-backend.js';
import { PackscopeError } from '../../../shared/errors.js';

/**
 * UDS target profiles: numbers as JSON numbers or hex/decimal strings mean the same; defaults are
 * the ISO 14229 generic sequence; a bad field is a DECODE error naming it; the memory record is
 * ALFID ‖ address ‖ size, big-endian.
 */
describe('UDS target profiles', () => {
  it('the generic default: extended then programming session, FF00 erase with address and length, FF01 check, hard reset, Annex C identifiers', () => {
    const g = BUILTIN_UDS_PROFILES.generic!;
    expect(g).toMatchObject({
      preSessions: [3],
      programmingSession: 2,
      securityAccess: null,
      erase: { routineId: 0xff00, record: 'address-and-length' },
      check: { routineId: 0xff01, record: 'none' },
      memory: { address: 0, addressBytes: 4, sizeBytes: 4, dataFormat: 0 },
      identifiers: { softwareVersion: 0xf195, serial: 0xf18c },
      reset: { type: 1 },
    });
    expect(g.extensions).toBeUndefined();
    expect(BUILTIN_UDS_PROFILES.packscope!.extensions).toBe('packscope');
  });

  it('property: a number, its hex string and its decimal string parse to the same profile', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), (routine, address) => {
        const forms = [
          { erase: { routineId: routine }, memory: { address } },
          { erase: { routineId: `0x${routine.toString(16)}` }, memory: { address: `0x${address.toString(16).toUpperCase()}` } },
          { erase: { routineId: String(routine) }, memory: { address: String(address) } },
        ].map((f) => parseUdsProfile({ name: 'p', ...f }));
        expect(forms[1]).toEqual(forms[0]);
        expect(forms[2]).toEqual(forms[0]);
        expect(forms[0]!.erase!.routineId).toBe(routine);
        expect(forms[0]!.memory.address).toBe(address);
      }),
    );
  });

  it('property: any document either parses or is a DECODE error naming a field — never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => {
        try {
          parseUdsProfile(doc);
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
          expect((e as PackscopeError).code).toBe('DECODE');
        }
      }),
    );
  });

  it('names the field that is wrong', () => {
    expect(() => parseUdsProfileJson('{"name":"x","erase":{"routineId":"0x1FFFF"}}', 'tb.json')).toThrow(
      /tb\.json: erase\.routineId: erase\.routineId must be an integer 0\.\.0xFFFF/,
    );
    expect(() => parseUdsProfileJson('{"name":"x","securityAccess":{"level":2,"algorithm":"xor"}}')).toThrow(/securityAccess\.level must be odd/);
    expect(() => parseUdsProfileJson('{"name":"x","sesion":2}')).toThrow(/sesion/);
    expect(() => parseUdsProfileJson('{name}', 'p.json')).toThrow(/p\.json is not JSON/);
    expect(() => resolveUdsProfile('nosuch')).toThrow(/unknown UDS profile 'nosuch'.*generic, packscope/);
  });

  it('property: the address-and-length record is ALFID then big-endian address and size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat(), fc.nat(), (a, s, x, y) => {
        const address = x % 2 ** (8 * a);
        const size = y % 2 ** (8 * s);
        const r = addressAndLengthRecord(address, size, a, s);
        expect(r.length).toBe(1 + a + s);
        expect(r[0]).toBe((s << 4) | a);
        const read = (off: number, n: number) => [...r.subarray(off, off + n)].reduce((v, b) => v * 256 + b, 0);
        expect(read(1, a)).toBe(address);
        expect(read(1 + a, s)).toBe(size);
      }),
    );
    expect(() => addressAndLengthRecord(0x1_0000, 1, 2, 1)).toThrow(/address 65536 does not fit in 2 bytes/);
  });
});
