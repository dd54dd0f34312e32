import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCapture, ReplayBoard } from '../../../electron/host/transport/replay.js';
import { toHex } from '../../../shared/util/bytes.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/** Raw captures parse into exchanges, and the replayed board answers each request as captured, on virtual time. */
const header = JSON.stringify({ capture: 'packscope-raw', version: 1, port: '/dev/ttyUSB0', line: { baudRate: 9600, parity: 'none' }, started: '', tool: 't' });
const rec = (t: number, dir: 'tx' | 'rx', b: Uint8Array) => JSON.stringify({ t, dir, hex: toHex(b) });

describe('raw capture replay', () => {
  it('any capture of request/answer turns parses back into the same exchanges, and each request gets its answer at its delay', async () => {
    const arbTurn = fc.record({
      request: fc.uint8Array({ minLength: 1, maxLength: 20 }),
      answer: fc.array(fc.record({ delay: fc.integer({ min: 0, max: 200 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 30 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(arbTurn, { minLength: 1, maxLength: 6 }), async (turns) => {
        let t = 0;
        const lines = [header];
        for (const turn of turns) {
          t += 50;
          lines.push(rec(t, 'tx', turn.request));
          for (const a of turn.answer) {
            t += a.delay;
            lines.push(rec(t, 'rx', a.bytes));
          }
        }
        const cap = parseCapture(lines.join('\n'));
        expect(cap.exchanges.map((e) => ({ request: e.request, answer: e.answer.map((a) => ({ delay: a.delayMs, bytes: a.bytes })) }))).toEqual(
          turns.map((x) => ({ request: x.request, answer: x.answer.map((a) => ({ delay: a.delay, bytes: a.bytes })) })),
        );
        const clock = new VirtualClock();
        const sent: Array<{ at: number; hex: string }> = [];
        const board = new ReplayBoard(cap, (b) => sent.push({ at: clock.now(), hex: toHex(b) }), { clock });
        // Played in order, each request is answered with its own captured bytes and delays.
        for (const turn of turns) {
          sent.length = 0;
          const start = clock.now();
          board.receive(turn.request);
          await clock.advance(turn.answer.reduce((s, a) => s + a.delay, 0) + 1);
          const want = turn.answer.map((a) => toHex(a.bytes));
          expect(sent.map((s) => s.hex).join('')).toBe(want.join(''));
          expect(sent[0]!.at - start).toBe(turn.answer[0]!.delay);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('refuses what is not a capture', () => {
    expect(() => parseCapture('{"capture":"other"}')).toThrow(/not a PackScope raw capture/);
    expect(() => parseCapture(`${header}\nnot json`)).toThrow(/line 2 is not JSON/);
    expect(() => parseCapture(`${header}\n{"t":1,"dir":"tx","hex":"zz"}`)).toThrow(/not a capture record/);
  });
});
