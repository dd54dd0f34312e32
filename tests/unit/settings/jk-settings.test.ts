import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeJkFields, decodeJkFrame } from '../../../shared/bms/jk.js';
import {
  decodeJkRaw,
  decodeJkWritePayload,
  encodeJkRaw,
  encodeJkWrite,
  jkFieldFor,
  jkRawOf,
  jkSettingsFromFields,
  jkValueOf,
  JK_SETTING_FIELDS,
} from '../../../shared/settings/jk-registers.js';
import { settingDef } from '../../../shared/settings/catalog.js';
import { flagBit, STATUS_FLAGS } from '../../../shared/types/domain.js';
import { fromHex, toHex } from '../../../shared/util/bytes.js';
import { applySettings, SettingsValidationError } from '../../../electron/host/settings/service.js';
import { simulatedBoards } from './simulated-boards.js';

/**
 * JK settings: published read-all captures decode to the settings their fields hold, published
 * write frames are what PackScope sends, the field codecs round-trip over their ranges, and the
 * simulated JK board takes a write, answers with what it holds and refuses what its limits do not
 * allow (in process, on virtual time).
 */
interface Frame {
  id: string;
  direction: string;
  hex: string;
  decoded: Record<string, number | string>;
  source: string;
}
const fixtures = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/bmsframes/jk-settings.json'), 'utf8')) as { frames: Frame[] };
const bytes = (f: Frame) => fromHex(f.hex.replace(/ /g, '').toLowerCase());

describe('published JK frames (tests/fixtures/bmsframes/jk-settings.json)', () => {
  it('read-all captures decode to the settings their fields hold', () => {
    const reads = fixtures.frames.filter((f) => f.direction === 'response');
    expect(reads.length).toBeGreaterThanOrEqual(3);
    for (const f of reads) {
      const frame = decodeJkFrame(bytes(f));
      const values = jkSettingsFromFields(new Map(decodeJkFields(frame.payload).fields.map((x) => [x.id, x.value])));
      expect(values, f.id).toEqual(f.decoded);
    }
  });

  it('write frames are exactly what PackScope sends for the same change', () => {
    const writes = fixtures.frames.filter((f) => f.direction === 'request');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    for (const f of writes) {
      const x = jkFieldFor(String(f.decoded['setting']))!;
      expect(toHex(encodeJkWrite(x, Number(f.decoded['value'])))).toBe(toHex(bytes(f)));
      const d = decodeJkWritePayload(decodeJkFrame(bytes(f)));
      expect({ setting: d.field.setting, value: d.raw }).toEqual({ setting: f.decoded['setting'], value: f.decoded['value'] });
    }
  });

  it('every JK field names a catalogue setting that lists the JK protocol', () => {
    for (const x of JK_SETTING_FIELDS) expect(settingDef(x.setting)?.protocols, x.setting).toContain('jk');
  });
});

describe('JK field codecs (property)', () => {
  it('raw values round-trip through their bytes and through catalogue units, and write frames through the frame codec', () => {
    for (const x of JK_SETTING_FIELDS) {
      fc.assert(
        fc.property(fc.integer({ min: x.rawMin, max: Math.min(x.rawMax, 2 ** 31) }), (raw) => {
          expect(decodeJkRaw(x, encodeJkRaw(x, raw))).toBe(raw);
          expect(jkRawOf(x, jkValueOf(x, raw))).toBe(raw);
          expect(decodeJkWritePayload(decodeJkFrame(encodeJkWrite(x, raw)))).toEqual({ field: x, raw });
        }),
        { numRuns: 40 },
      );
    }
  });

  it('refuses a raw value outside the field, and a field of the wrong size', () => {
    const x = jkFieldFor('cell_count')!;
    expect(() => encodeJkRaw(x, 33)).toThrow(/takes 3…32/);
    expect(() => decodeJkRaw(jkFieldFor('cell_ov_protect')!, new Uint8Array(1))).toThrow(/must be 2 bytes/);
  });
});

describe('JK settings against the simulated board', () => {
  const jk = simulatedBoards('sim:?personality=jk&seed=4', 'jk');

  it('writes several fields, one frame each, and the board’s protection follows', async () => {
    const { clock, board, access } = await jk();
    const rep = await clock.run(applySettings(access, { cell_ov_protect: 3.7, charge_ut_release: -5, cell_ov_delay: 300 }, { tool: 't' }));
    expect(rep.outcomes.map((o) => [o.id, o.result, o.stored])).toEqual([
      ['cell_ov_protect', 'written', 3.7],
      ['charge_ut_release', 'written', -5],
      ['cell_ov_delay', 'written', 300],
    ]);
    expect(rep.mismatches).toEqual([]);
    expect(board.params.find((p) => p.name === 'cell_overvoltage')!.value).toBeCloseTo(3.7, 5);
  });

  it('reports the board’s refusal with the value it keeps', async () => {
    const { clock, access } = await jk();
    const rep = await clock.run(applySettings(access, { charge_oc_protect: 600 }, { tool: 't' }));
    expect(rep.outcomes).toEqual([expect.objectContaining({ id: 'charge_oc_protect', result: 'refused', stored: 150 })]);
    expect(rep.after['charge_oc_protect']).toBe(150);
  });

  it('refuses a fraction on a field the board keeps in whole units before anything is sent', async () => {
    const { clock, board, access } = await jk();
    const before = board.params.find((p) => p.name === 'charge_overcurrent')!.value;
    const err = await clock.run(applySettings(access, { charge_oc_protect: 150.5, charge_ot_protect: 45.5 }, { tool: 't' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsValidationError);
    expect((err as SettingsValidationError).issues.map((i) => [i.id, i.reason])).toEqual([
      ['charge_oc_protect', 'this board keeps it in whole units (A): 150.5 is not one, and PackScope never rounds a value it sends'],
      ['charge_ot_protect', 'this board keeps it in whole units (°C): 45.5 is not one, and PackScope never rounds a value it sends'],
    ]);
    expect(board.params.find((p) => p.name === 'charge_overcurrent')!.value).toBe(before);
  });

  it('the MOSFET switches open and close the pack’s FETs', async () => {
    const { clock, board, access } = await jk();
    await clock.run(applySettings(access, { discharge_mosfet: 0 }, { tool: 't' }));
    expect(board.pack.switches()).toEqual({ charge: true, discharge: false });
    expect(board.pack.state().status & flagBit(STATUS_FLAGS, 'discharge_fet_on')).toBe(0);
    const rep = await clock.run(applySettings(access, { discharge_mosfet: 1 }, { tool: 't' }));
    expect(rep.after['discharge_mosfet']).toBe(1);
    expect(board.pack.state().status & flagBit(STATUS_FLAGS, 'discharge_fet_on')).not.toBe(0);
  });
});
