import { describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * `packscope monitor --count N`: stops after N frames, as `can monitor --count` does, so a script
 * (or a test) asks for the frames it needs instead of a length of time. Runs against the demo
 * board on virtual time.
 */
async function monitor(clock: VirtualClock, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await clock.run(
    main(['monitor', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false, clock }),
  );
  return { code, out, err };
}

describe('monitor --count', () => {
  it('stops after N frames with exit 0, then the summary; --duration still ends it first when shorter', async () => {
    const clock = new VirtualClock();
    const r = await monitor(clock, '--port', 'sim:', '--rate', '10', '--count', '3', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l));
    expect(lines.filter((l) => !l.summary)).toHaveLength(3);
    expect(lines.at(-1).summary).toMatchObject({ frames: 3, outcome: 'done' });

    const short = await monitor(clock, '--port', 'sim:', '--rate', '10', '--count', '1000', '--duration', '1', '--json');
    expect(short.code, short.err.join('\n')).toBe(0);
    const frames = short.out.map((l) => JSON.parse(l)).filter((l) => !l.summary).length;
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(1000);
  });

  it('refuses a count that is not a positive number, and --count with several packs, with exit 2', async () => {
    const clock = new VirtualClock();
    for (const bad of ['0', '-3', 'many']) {
      const r = await monitor(clock, '--port', 'sim:', '--count', bad);
      expect(r.code, bad).toBe(2);
      expect(r.err.join('\n')).toMatch(/count/);
    }
    const bus = await monitor(clock, '--port', 'sim:', '--protocol', 'daly', '--address', '0-3', '--count', '4');
    expect(bus.code).toBe(2);
    expect(bus.err.join('\n')).toMatch(/--count applies to one device/);
  });
});
