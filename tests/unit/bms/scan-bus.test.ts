import { describe, expect, it } from 'vitest';
import { scanBus } from '../../../electron/host/drivers/pack-bus.js';
import type { PackBus } from '../../../electron/host/drivers/types.js';
import { emptyLinkStats } from '../../../shared/types/domain.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { DeviceInfo, TelemetryFrame } from '../../../shared/types/domain.js';

/**
 * scanBus's sweep: an empty address costs one unanswered request; a pack whose reply came after
 * its timeout (seen as an unclaimed frame) is asked again, with a retry, before the scan ends.
 */
function fakeBus(packs: number[], lateOnce: number[]): PackBus & { asked: Array<[number, number]> } {
  const late = new Set(lateOnce);
  const bus = {
    asked: [] as Array<[number, number]>,
    unclaimedFrames: 0,
    async identify(address: number, _signal?: AbortSignal, retries = 1): Promise<DeviceInfo> {
      bus.asked.push([address, retries]);
      if (packs.includes(address) && late.has(address)) {
        // Its answer comes too late for this request and arrives while the next one waits.
        late.delete(address);
        bus.unclaimedFrames++;
        throw new PackscopeError('TIMEOUT', 'no answer from the board within 300 ms');
      }
      if (!packs.includes(address)) throw new PackscopeError('TIMEOUT', 'no answer from the board within 300 ms');
      return { serial: `P${address}` } as DeviceInfo;
    },
    async poll(address: number): Promise<TelemetryFrame> {
      return { t: address } as TelemetryFrame;
    },
    stats: emptyLinkStats,
    onDisconnect: () => () => undefined,
    dispose: () => undefined,
  };
  return bus;
}

describe('scanBus', () => {
  it('asks each silent address a second time, without a retry, on a bus with no late replies', async () => {
    const bus = fakeBus([2, 5], []);
    const progress: Array<[number, boolean, boolean]> = [];
    const hits = await scanBus(bus, [1, 2, 3, 4, 5, 6], undefined, (a, found, again) => progress.push([a, found, again]));
    expect(hits.map((h) => h.address)).toEqual([2, 5]);
    expect(bus.asked).toEqual([...[1, 2, 3, 4, 5, 6].map((a) => [a, 0]), ...[1, 3, 4, 6].map((a) => [a, 0])]);
    expect(progress.filter(([, , again]) => !again)).toHaveLength(6);
    expect(progress.filter(([, , again]) => again)).toEqual([]);
  });

  it('finds a pack whose first answer was lost (a collision) on the second asking', async () => {
    const bus = fakeBus([2, 5], []);
    const identify = bus.identify.bind(bus);
    let lost = false;
    bus.identify = async (address, signal, retries) => {
      if (address === 5 && !lost) {
        lost = true;
        bus.asked.push([address, retries ?? 1]);
        throw new PackscopeError('TIMEOUT', 'no answer from the board within 300 ms');
      }
      return identify(address, signal, retries);
    };
    const hits = await scanBus(bus, [1, 2, 3, 4, 5, 6]);
    expect(hits.map((h) => h.address)).toEqual([2, 5]);
  });

  it('asks the silent addresses again, with a retry, when a late reply turned up; the late pack is found', async () => {
    const bus = fakeBus([2, 4, 5], [4]);
    const progress: Array<[number, boolean, boolean]> = [];
    const hits = await scanBus(bus, [1, 2, 3, 4, 5, 6], undefined, (a, found, again) => progress.push([a, found, again]));
    expect(hits.map((h) => h.address)).toEqual([2, 4, 5]);
    expect(bus.asked.slice(6)).toEqual([
      [1, 1],
      [3, 1],
      [4, 1],
      [6, 1],
    ]);
    // Every address is reported once in the sweep; the late pack once more when it is found.
    expect(progress.filter(([, , again]) => !again)).toHaveLength(6);
    expect(progress.filter(([, , again]) => again)).toEqual([[4, true, true]]);
  });
});
