import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import * as daly from '../../../shared/bms/daly.js';
import * as jbd from '../../../shared/bms/jbd.js';
import * as jk from '../../../shared/bms/jk.js';

/** Only typed errors may escape a decoder, whatever the bytes. */
function typedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

const bytes = fc.uint8Array({ maxLength: 400 });
const chunks = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 });

describe('JBD codec properties', () => {
  it('frame round trip: any register/status/data encodes and decodes back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }).filter((r) => r !== 0xa5 && r !== 0x5a),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 255 }),
        (register, status, data) => {
          const res = jbd.decodeJbdResponse(jbd.encodeJbdResponse({ register, status, data }));
          expect(res).toEqual({ register, status, data });
        },
      ),
    );
  });

  it('basic info round trip within the protocol resolution', () => {
    fc.assert(
      fc.property(
        fc.record({
          packVoltage: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
          current: fc.integer({ min: -32768, max: 32767 }).map((v) => v / 100),
          remainingAh: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
          nominalAh: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
          cycles: fc.integer({ min: 0, max: 65535 }),
          productionDate: fc.record({
            year: fc.integer({ min: 2000, max: 2127 }),
            month: fc.integer({ min: 1, max: 12 }),
            day: fc.integer({ min: 1, max: 31 }),
          }),
          balanceMask: fc.integer({ min: 0, max: 0xffffffff }),
          protection: fc.integer({ min: 0, max: 0xffff }),
          softwareVersion: fc.integer({ min: 0, max: 255 }),
          soc: fc.integer({ min: 0, max: 100 }),
          fet: fc.integer({ min: 0, max: 3 }),
          cellCount: fc.integer({ min: 1, max: 32 }),
          temperatures: fc.array(
            fc.integer({ min: -400, max: 1000 }).map((v) => v / 10),
            { maxLength: 8 },
          ),
          extra: fc.uint8Array({ maxLength: 9 }),
        }),
        (b) => {
          const d = jbd.decodeJbdBasicInfo(jbd.encodeJbdBasicInfo(b));
          expect(d).toEqual(b);
        },
      ),
    );
  });

  it('cells round trip to the millivolt', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 127 }), (mv) => {
        expect(jbd.decodeJbdCells(jbd.encodeJbdCells(mv.map((v) => v / 1000)))).toEqual(mv.map((v) => v / 1000));
      }),
    );
  });

  it('arbitrary bytes: typed errors only', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        typedOnly(() => jbd.decodeJbdFrame(b));
        typedOnly(() => jbd.decodeJbdResponse(b));
        typedOnly(() => jbd.decodeJbdRequest(b));
        typedOnly(() => jbd.decodeJbdBasicInfo(b));
        typedOnly(() => jbd.decodeJbdCells(b));
        typedOnly(() => jbd.decodeJbdHardwareVersion(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('extractor: any chunking of garbage and frames yields exactly the frames, never throws', () => {
    fc.assert(
      fc.property(chunks, fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }), (noise, payloads) => {
        const ex = jbd.createJbdExtractor();
        for (const c of noise) ex.push(c);
        ex.flush();
        const frames = payloads.map((p, i) => jbd.encodeJbdResponse({ register: 3 + (i % 3), status: 0, data: p }));
        const got = [];
        for (const f of frames) got.push(...ex.push(f));
        expect(got.map((g) => g.data)).toEqual(payloads);
      }),
    );
  });
});

describe('Daly codec properties', () => {
  it('frame round trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (address, command, data) => {
          expect(daly.decodeDalyFrame(daly.encodeDalyFrame({ address, command, data }))).toEqual({ address, command, data });
        },
      ),
    );
  });

  it('0x90 round trip within 0.1 V / 0.1 A / 0.1 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: -3000, max: 3000 }), fc.integer({ min: 0, max: 1000 }), (v, i, s) => {
        const buf = new Uint8Array(8);
        daly.writeDalySoc(buf, { packVoltage: v / 10, current: i / 10, soc: s / 10 });
        const d = daly.decodeDalySoc(buf);
        expect([d.packVoltage, d.current, d.soc]).toEqual([v / 10, i / 10 || 0, s / 10]);
      }),
    );
  });

  it('cells and temperatures survive the multi-frame split, stale bytes and all', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 48 }),
        fc.array(fc.integer({ min: -40, max: 215 }), { minLength: 1, maxLength: 16 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (mv, temps, stale) => {
          const buf = stale.slice();
          const cellFrames: Array<{ frame: number; values: number[] }> = [];
          for (let n = 1; n <= daly.dalyFrameCount(mv.length, 3); n++) {
            daly.writeDalyCellFrame(
              buf,
              n,
              mv.map((v) => v / 1000),
            );
            const f = daly.decodeDalyCellFrame(daly.decodeDalyFrame(daly.encodeDalyFrame({ address: 1, command: 0x95, data: buf })).data);
            cellFrames.push({ frame: f.frame, values: f.millivolts.map((v) => v / 1000) });
          }
          expect(daly.assembleDalyValues(cellFrames.reverse(), mv.length, 3, 'cells')).toEqual(mv.map((v) => v / 1000));
          const tf: Array<{ frame: number; values: number[] }> = [];
          for (let n = 1; n <= daly.dalyFrameCount(temps.length, 7); n++) {
            daly.writeDalyTempFrame(buf, n, temps);
            const f = daly.decodeDalyTempFrame(buf);
            tf.push({ frame: f.frame, values: f.temperatures });
          }
          expect(daly.assembleDalyValues(tf, temps.length, 7, 'temps')).toEqual(temps);
          if (cellFrames.length > 1) expect(() => daly.assembleDalyValues(cellFrames.slice(1), mv.length, 3, 'cells')).toThrow(DecodeError);
        },
      ),
    );
  });

  it('alarms round trip through the 0x98 failure bits; balancing through 0x97', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uniqueArray(fc.integer({ min: 0, max: 63 })), (alarms, bal) => {
        const buf = new Uint8Array(8);
        daly.writeDalyFailures(buf, alarms, 7);
        expect(daly.decodeDalyFailures(buf)).toMatchObject({ alarms, faultCode: 7 });
        daly.writeDalyBalance(buf, bal);
        expect(daly.decodeDalyBalance(buf)).toEqual([...bal].sort((a, b) => a - b));
      }),
    );
  });

  it('arbitrary bytes: typed errors only', () => {
    const decoders = [
      daly.decodeDalySoc,
      daly.decodeDalyCellRange,
      daly.decodeDalyTempRange,
      daly.decodeDalyMos,
      daly.decodeDalyStatus,
      daly.decodeDalyCellFrame,
      daly.decodeDalyTempFrame,
      daly.decodeDalyBalance,
      daly.decodeDalyFailures,
    ];
    fc.assert(
      fc.property(bytes, (b) => {
        typedOnly(() => daly.decodeDalyFrame(b));
        typedOnly(() => daly.decodeDalyResponse(b));
        for (const d of decoders) typedOnly(() => d(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('extractor: frames after arbitrary noise all come out', () => {
    fc.assert(
      fc.property(chunks, fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 6 }), (noise, datas) => {
        const ex = daly.createDalyExtractor();
        for (const c of noise) ex.push(c);
        ex.flush();
        const got = [];
        for (const d of datas) got.push(...ex.push(daly.encodeDalyFrame({ address: 1, command: 0x90, data: d })));
        expect(got.map((g) => g.data)).toEqual(datas);
      }),
    );
  });
});

describe('JK codec properties', () => {
  const status = fc.record({
    cells: fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 32 }),
    temps: fc.tuple(fc.integer({ min: -40, max: 100 }), fc.integer({ min: -40, max: 100 }), fc.integer({ min: -40, max: 100 })),
    voltage: fc.integer({ min: 0, max: 65535 }),
    current: fc.integer({ min: -32767, max: 32767 }),
    soc: fc.integer({ min: 0, max: 100 }),
    cycles: fc.integer({ min: 0, max: 65535 }),
  });

  it('read-all reply round trip: fields, frame and values within 10 mV / 10 mA / 1 °C', () => {
    fc.assert(
      fc.property(status, fc.integer({ min: 0, max: 0xffffffff }), (s, rec) => {
        const fields: jk.JkField[] = [
          jk.jkCells(s.cells.map((v) => v / 1000)),
          jk.jkU16(0x80, jk.encodeJkTemperature(s.temps[0])),
          jk.jkU16(0x81, jk.encodeJkTemperature(s.temps[1])),
          jk.jkU16(0x82, jk.encodeJkTemperature(s.temps[2])),
          jk.jkU16(0x83, s.voltage),
          jk.jkU16(0x84, jk.encodeJkCurrent(s.current / 100)),
          jk.jkU8(0x85, s.soc),
          jk.jkU8(0x86, 2),
          jk.jkU16(0x87, s.cycles),
          jk.jkAscii(0xb7, '11.XW_S11.26___'),
          jk.jkU8(0xc0, 1),
        ];
        const bytes = jk.encodeJkFrame({ bmsId: 0, command: 6, source: 0, type: 1, payload: jk.encodeJkFields(fields), recordNumber: rec });
        expect(jk.decodeJkFrame(bytes).recordNumber).toBe(rec);
        const d = jk.decodeJkStatusFrame(bytes);
        expect(d.cellVoltages).toEqual(s.cells.map((v) => v / 1000));
        expect([d.mosTemperature, d.temperature1, d.temperature2]).toEqual(s.temps.map((t) => t || 0));
        expect(d.packVoltage).toBe(s.voltage / 100);
        expect(d.current).toBe(s.current / 100 || 0);
        expect(d.soc).toBe(s.soc);
        expect(d.cycles).toBe(s.cycles);
        expect(d.softwareVersion).toBe('11.XW_S11.26___');
      }),
    );
  });

  it('arbitrary bytes: typed errors only (frame, fields, status)', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        typedOnly(() => jk.decodeJkFrame(b));
        typedOnly(() => jk.decodeJkStatusFrame(b));
        typedOnly(() => jk.interpretJkFields(jk.decodeJkFields(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('valid envelope around arbitrary payload: typed errors only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (p) => {
        typedOnly(() => jk.decodeJkStatusFrame(jk.encodeJkFrame({ bmsId: 0, command: 6, source: 0, type: 1, payload: p, recordNumber: 0 })));
      }),
      { numRuns: 2000 },
    );
  });

  it('extractor never throws and never hangs on any chunk sequence, then still finds a frame', () => {
    fc.assert(
      fc.property(chunks, (noise) => {
        const ex = jk.createJkExtractor();
        for (const c of noise) ex.push(c);
        ex.flush();
        expect(ex.push(jk.encodeJkReadAll())).toHaveLength(1);
      }),
    );
  });
});

describe('all extractors on arbitrary chunk streams', () => {
  it('never throw, and flush always empties the buffer', () => {
    fc.assert(
      fc.property(chunks, (cs) => {
        for (const ex of [jbd.createJbdExtractor(), daly.createDalyExtractor(), jk.createJkExtractor()]) {
          try {
            for (const c of cs) ex.push(c);
            ex.flush();
          } catch (e) {
            expect.fail(`extractor threw ${(e as Error).message}`);
          }
          expect((ex as unknown as { pending: number }).pending).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('typed errors carry the DECODE code', () => {
    let caught: unknown = null;
    try {
      jbd.decodeJbdFrame(new Uint8Array(3));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PackscopeError);
    expect((caught as PackscopeError).code).toBe('DECODE');
  });
});
