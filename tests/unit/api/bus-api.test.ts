import { describe, expect, it } from 'vitest';
import { BusJobs, worstPair } from '../../../electron/host/api/bus.js';
import { DeviceSession } from '../../../electron/host/api/device.js';
import { HostEvents } from '../../../electron/host/api/events.js';
import type { BusRoundView } from '../../../shared/api/bus-contract.js';
import { contract } from '../../../shared/api/contract.js';
import type { DeviceInfo, TelemetryFrame } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * The Packs screen's host half against simulated buses in-process, on virtual time: scan finds
 * the addressed packs, the monitor sends a round per period with every pack, the totals and the
 * parallel check, and a pack 20 SOC points apart is named as unsafe to join.
 */
function rig() {
  const clock = new VirtualClock();
  const events = new HostEvents();
  const rounds: BusRoundView[] = [];
  events.on('bus', (r) => rounds.push(contract.events.bus.parse(r)));
  const jobs = new BusJobs(new DeviceSession(events, { clock }), events, { clock });
  return { clock, jobs, rounds };
}

describe.each([
  { protocol: 'pylontech-rs485' as const, label: 'module address' },
  { protocol: 'daly' as const, label: 'board number' },
])('several $protocol packs on one bus', ({ protocol, label }) => {
  it('scans four packs, watches them round by round, and flags the pack 20 SOC points apart', async () => {
    const { clock, jobs, rounds } = rig();
    const port = `sim:?personality=${protocol}&packs=4&packsoc=60,60,80,61`;
    const found = await clock.run(jobs.scan({ opId: 's', port, protocol }, new AbortController().signal, () => undefined));
    expect(found.label).toBe(label);
    expect(found.packs).toHaveLength(4);
    const addresses = found.packs.map((p) => p.address);
    // The simulated packs start at these SOCs and move a little while the scan runs.
    found.packs.forEach((p, i) => expect(Math.abs(p.frame!.soc - [60, 60, 80, 61][i]!)).toBeLessThan(3));

    const stop = new AbortController();
    const watching = jobs.monitor({ opId: 'm', port, protocol, addresses, rateHz: 1 }, stop.signal, () => undefined);
    await clock.advance(5500);
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    const r = rounds.at(-1)!;
    expect(r.packs.map((p) => p.address)).toEqual(addresses);
    expect(r.missing).toEqual([]);
    expect(r.totals.packs).toBe(4);
    expect(r.totals.socSpread).toBeGreaterThan(19);
    expect(r.parallel).toMatchObject({ safe: false, between: [`${label} ${addresses[2]}`, expect.stringMatching(new RegExp(`^${label} `))] });
    expect(r.parallel!.reasons.join(' ')).toMatch(/SOC differs by (19|20|21)\.\d points, more than 10/);
    // A screen that opens now finds the packs and the last round.
    expect(jobs.state()).toMatchObject({ opId: 'm', label, packs: expect.arrayContaining([expect.objectContaining({ address: addresses[0] })]) });
    expect(jobs.state().last!.round).toBe(r.round);
    stop.abort();
    const ended = await clock.run(watching);
    expect(ended).toMatchObject({ outcome: 'stopped', rounds: rounds.length });
  });
});

describe('the parallel check of a bus', () => {
  const device = (capacityAh: number): DeviceInfo => ({
    protocol: 'daly',
    model: 'x',
    serial: '',
    boardId: 'daly',
    hardwareRevision: '',
    firmwareVersion: '',
    bootloaderVersion: '',
    cellCount: 16,
    chemistry: 'lfp',
    nominalCapacityAh: capacityAh,
    publicKeyFingerprint: null,
    signsEvidence: false,
  });
  const frame = (v: number, soc: number): TelemetryFrame => ({
    t: 0,
    packVoltage: v,
    current: 0,
    soc,
    cellVoltages: Array(16).fill(v / 16),
    temperatures: [25],
    status: 0,
    alarms: 0,
  });
  it('accepts matched packs and names the pair that would not be safe', () => {
    const matched = [0, 1, 2].map((a) => ({ a, f: frame(53.1 + a * 0.005, 60 + a), d: device(100) }));
    expect(worstPair(matched, 'board number')).toMatchObject({ safe: true, reasons: [] });
    const apart = [...matched, { a: 7, f: frame(55.0, 95), d: device(100) }];
    const v = worstPair(apart, 'board number')!;
    expect(v.safe).toBe(false);
    expect(v.between[0]).toBe('board number 7');
    expect(v.from).toBe('board number 7');
    expect(v.currentA).toBeGreaterThan(v.currentLimitA);
    expect(worstPair(matched.slice(0, 1), 'board number')).toBeNull();
  });
});
