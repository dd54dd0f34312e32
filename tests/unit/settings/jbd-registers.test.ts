import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeJbdRequest, decodeJbdResponse, encodeJbdRequest } from '../../../shared/bms/jbd.js';
import { DecodeError } from '../../../shared/errors.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import {
  decodeJbdErrorCounts,
  decodeJbdRegister,
  encodeJbdErrorCounts,
  encodeJbdRegister,
  jbdFieldRange,
  jbdFieldsOf,
  JBD_ERROR_COUNTERS,
  JBD_EXIT_KEEP,
  JBD_EXIT_SAVE_RESET,
  JBD_FACTORY_PASSWORD,
  JBD_FIELDS,
  JBD_SETTING_REGISTERS,
} from '../../../shared/settings/jbd-registers.js';
import { fromHex, toHex } from '../../../shared/util/bytes.js';

/** JBD EEPROM registers: published frames decode to their documented values; codecs round-trip. */
interface Frame {
  id: string;
  direction: 'request' | 'response';
  hex: string;
  decoded: Record<string, unknown>;
  source: string;
}
const dir = path.resolve(import.meta.dirname, '../../fixtures/bmsframes');
const eeprom = JSON.parse(readFileSync(path.join(dir, 'jbd-eeprom.json'), 'utf8')) as { frames: Frame[] };
const dev = JSON.parse(readFileSync(path.join(dir, 'jbd.json'), 'utf8')) as { frames: Frame[] };
const bytes = (f: Frame) => fromHex(f.hex.replace(/ /g, '').toLowerCase());

describe('published JBD EEPROM frames (tests/fixtures/bmsframes/jbd-eeprom.json)', () => {
  it('names a source for every frame', () => {
    expect(eeprom.frames.length).toBeGreaterThanOrEqual(8);
    for (const f of eeprom.frames) expect(f.source.length).toBeGreaterThan(20);
  });

  for (const f of eeprom.frames) {
    it(`${f.id} decodes to its documented values`, () => {
      const d = f.decoded;
      const register = parseInt(d['register'] as string, 16);
      if (f.direction === 'request') {
        const req = decodeJbdRequest(bytes(f));
        expect(req.kind).toBe(d['kind']);
        expect(req.register).toBe(register);
        expect(encodeJbdRequest(req)).toEqual(bytes(f));
        if (d['data']) expect(toHex(req.data)).toBe(d['data']);
        if (d['values']) expect(decodeJbdRegister(register, req.data)).toEqual(d['values']);
        if (register === 0x00) expect(req.data).toEqual(JBD_FACTORY_PASSWORD);
        if (register === 0x01) expect(req.data).toEqual(d['resets_error_counts'] ? JBD_EXIT_SAVE_RESET : JBD_EXIT_KEEP);
      } else {
        const res = decodeJbdResponse(bytes(f));
        expect(res.register).toBe(register);
        expect(res.status).toBe(d['status']);
        if (d['values']) {
          expect(decodeJbdRegister(register, res.data)).toEqual(d['values']);
          expect(encodeJbdRegister(register, d['values'] as Record<string, number>)).toEqual(res.data);
        }
        if (register === 0xaa) {
          const c = decodeJbdErrorCounts(res.data);
          expect(Object.keys(c)).toHaveLength(d['words'] as number);
          expect(Object.values(c).every((v) => v === d['error_counts_all'])).toBe(true);
        }
      }
    });
  }

  it('decodes the published 0xAA counters with non-zero counts (tests/fixtures/bmsframes/jbd.json)', () => {
    const f = dev.frames.find((x) => x.id === 'jbd-sp04-errcount')!;
    const c = decodeJbdErrorCounts(decodeJbdResponse(bytes(f)).data);
    const want = f.decoded['error_counts'] as Record<string, number>;
    expect(c['cell_overvoltage']).toBe(want['cell_overvoltage']);
    expect(c['cell_undervoltage']).toBe(want['cell_undervoltage']);
    expect(c['short_circuit']).toBe(0);
  });
});

describe('JBD register codecs', () => {
  it('maps every field to a catalogue setting that lists jbd', () => {
    for (const x of JBD_FIELDS) expect(settingDef(x.setting)?.protocols, x.setting).toContain('jbd');
  });

  it('round-trips every register over values its scale can hold', () => {
    for (const reg of JBD_SETTING_REGISTERS) {
      const fields = jbdFieldsOf(reg);
      const arb = fc.record(
        Object.fromEntries(
          fields.map((x) => {
            const r = jbdFieldRange(x);
            const def = settingDef(x.setting)!;
            return [x.setting, fc.double({ min: r.min, max: r.max, noNaN: true }).map((v) => Math.min(r.max, Math.max(r.min, quantize(def, v))))];
          }),
        ),
      );
      fc.assert(
        fc.property(arb, (values) => {
          const data = encodeJbdRegister(reg, values);
          const back = decodeJbdRegister(reg, data);
          expect(encodeJbdRegister(reg, back)).toEqual(data);
          for (const x of fields) expect(Math.abs(back[x.setting]! - values[x.setting]!)).toBeLessThanOrEqual(settingDef(x.setting)!.step / 2 + 1e-9);
        }),
        { numRuns: 50 },
      );
    }
  });

  it('turns arbitrary bytes into values or a DecodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }), (reg, data) => {
        try {
          decodeJbdRegister(reg, data);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
        try {
          decodeJbdErrorCounts(data);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });

  it('error counters round-trip', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 11, maxLength: 11 }), (v) => {
        const counts = Object.fromEntries(JBD_ERROR_COUNTERS.map((n, i) => [n, v[i]!]));
        const back = decodeJbdErrorCounts(encodeJbdErrorCounts(counts));
        for (const n of JBD_ERROR_COUNTERS) expect(back[n]).toBe(counts[n]);
      }),
    );
  });
});
