import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';
import { openPty, type PtyBridge } from '../../../firmware/sim/pty.js';
import { decodePylonLine, encodePylonRequest, PYLON_ALL_MODULES, PYLON_CID2 } from '../../../shared/bms/pylontech-rs485.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { loadFixtures, type FixtureFrame } from '../../unit/bms/fixtures.js';
import { requirePython } from '../cli-process.js';
import { until } from './harness.js';

/**
 * Acceptance of Pylontech RS485 through the CLI over a real pseudo-terminal: the published frames
 * (tests/fixtures/bmsframes/pylontech_rs485.json), played onto the line as an inverter and its
 * batteries would exchange them, decode through `packscope monitor --listen --json` to the values
 * their sources state, and the listener writes nothing to the line.
 */
let pty: PtyBridge | null = null;
afterEach(() => {
  pty?.close();
  pty = null;
});

const frames = loadFixtures('pylontech_rs485');
const byId = (id: string): FixtureFrame => frames.find((f) => f.id === id)!;
const bytes = (f: FixtureFrame) => fromHex(f.hex);

/** Each published answer behind the request that asks for it (the fixture's own where published). */
function conversation(): Array<{ request: Uint8Array; answer: FixtureFrame }> {
  const ask = (cid2: number, adr: number, info?: Uint8Array) => encodePylonRequest(cid2, adr, info);
  return [
    { request: bytes(byId('pylon-ess-req-42-adr2')), answer: byId('pylon-ess-us2000-analog') },
    { request: bytes(byId('pylon-ess-req-93-adr2')), answer: byId('pylon-ess-serial-adr2') },
    { request: bytes(byId('pylon-ess-req-44-adr2')), answer: byId('pylon-ess-alarm-adr2') },
    { request: ask(PYLON_CID2.alarm, 3), answer: byId('pylon-ess-alarm-adr3') },
    { request: ask(PYLON_CID2.manufacturer, 3), answer: byId('pylon-ess-manuf-us2000c-adr3') },
    { request: bytes(byId('pylon-ess-req-51-adr2')), answer: byId('pylon-ess-manuf-us2kbpl') },
    { request: ask(PYLON_CID2.analog, 2, Uint8Array.of(PYLON_ALL_MODULES)), answer: byId('pylon-fr-us2000-3modules') },
    { request: ask(PYLON_CID2.analog, 2, Uint8Array.of(PYLON_ALL_MODULES)), answer: byId('pylon-fr-mixed-us3000-us2000') },
    { request: ask(PYLON_CID2.analog, 2), answer: byId('pylon-fr-up2500-single') },
    { request: ask(PYLON_CID2.analog, 1), answer: byId('pylon-manual-analog-adr1') },
    { request: bytes(byId('pylon-tom-req-4f')), answer: byId('pylon-tom-resp-4f') },
    { request: bytes(byId('pylon-tom-req-51')), answer: byId('pylon-tom-resp-51') },
    { request: bytes(byId('pylon-tom-req-42-a')), answer: byId('pylon-tom-resp-42') },
    { request: bytes(byId('pylon-tom-req-44')), answer: byId('pylon-tom-resp-44') },
    { request: bytes(byId('pylon-tom-req-92')), answer: byId('pylon-tom-resp-92') },
  ];
}

type Stated = Record<string, unknown>;
const close = (a: number, b: unknown, tol: number, what: string) =>
  expect(Math.abs(a - (b as number)), `${what}: ${a} vs ${String(b)}`).toBeLessThanOrEqual(tol);

function expectPack(line: Stated, d: Stated, what: string): void {
  close(line['packVoltage'] as number, d['voltage_V'], 0.0005, `${what} voltage`);
  close(line['current'] as number, d['current_A'], 0.05, `${what} current`);
  close(line['soc'] as number, d['soc_pct_computed'], 0.01, `${what} SOC`);
  expect(line['cellVoltages'], `${what} cells`).toEqual((d['cell_voltages_V'] as number[]).map((v) => Math.round(v * 1000) / 1000));
  (line['temperatures'] as number[]).forEach((t, i) => close(t, (d['temperatures_C'] as number[])[i], 0.05, `${what} temperature ${i + 1}`));
}

describe('packscope monitor --listen --protocol pylontech-rs485 over a pty', () => {
  it('decodes the published frames to their published values and sends nothing', async () => {
    requirePython();
    pty = await openPty();
    let sent = 0;
    pty.pipe.onData((d) => (sent += d.length));
    const out: string[] = [];
    const err: string[] = [];
    const ac = new AbortController();
    const run = main(['monitor', '--listen', '--protocol', 'pylontech-rs485', '--port', pty.path, '--json'], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: ac.signal,
      isTTY: false,
    });
    // The listener says on stderr when the port is open; bytes written before that are lost.
    await until(() => err.some((l) => l.startsWith('listening on')), 20_000, 'the listener to open the port');
    const talk = conversation();
    const expectedLines = 9 + 9; // nine pack frames; serial, three alarms, three manufacturers, protocol version, management
    for (const { request, answer } of talk) pty.pipe.write(Uint8Array.from([...request, ...bytes(answer)]));
    await until(() => out.length >= expectedLines, 20_000, `${expectedLines} decoded lines (got ${out.length}: ${err.join(' ')})`);
    ac.abort();
    expect(await run).toBe(0);
    const lines = out.map((l) => JSON.parse(l) as Stated);
    const summary = lines.pop()!['summary'] as Stated;
    expect(summary['listen']).toMatchObject({ bytesOut: 0, crcErrors: 0, decodeErrors: 0, answers: talk.length, requests: talk.length });
    expect(sent).toBe(0);

    const packFrames = lines.filter((l) => l['message'] === undefined);
    const messages = lines.filter((l) => l['message'] !== undefined);
    // Single-module answers, in the order they were heard.
    const singles = ['pylon-ess-us2000-analog', 'pylon-fr-up2500-single', 'pylon-manual-analog-adr1', 'pylon-tom-resp-42'];
    const order = [singles[0], '3mod', '3mod', '3mod', 'mixed', 'mixed', singles[1], singles[2], singles[3]];
    expect(packFrames).toHaveLength(order.length);
    const three = (byId('pylon-fr-us2000-3modules').decoded as { modules: Stated[] }).modules;
    const mixed = (byId('pylon-fr-mixed-us3000-us2000').decoded as { modules: Stated[] }).modules;
    let m3 = 0;
    let mm = 0;
    packFrames.forEach((line, i) => {
      const which = order[i]!;
      if (which === '3mod') {
        expect(line['pack']).toBe(2 + m3);
        expectPack(line, three[m3]!, `3-module answer, module ${m3 + 1}`);
        m3++;
      } else if (which === 'mixed') {
        expect(line['pack']).toBe(2 + mm);
        expectPack(line, mixed[mm]!, `mixed stack, module ${mm + 1}`);
        mm++;
      } else {
        const f = byId(which);
        expect(line['pack']).toBe(decodePylonLine(bytes(f)).adr);
        expectPack(line, f.decoded as Stated, which);
      }
    });

    const msg = (what: string) => messages.filter((m) => m['message'] === what).map((m) => m['values'] as Stated);
    expect(msg('serial')).toEqual([{ command: 2, serial: 'HPTCR03171112590' }]);
    const manufacturers = msg('manufacturer');
    expect(manufacturers).toEqual(
      ['pylon-ess-manuf-us2000c-adr3', 'pylon-ess-manuf-us2kbpl', 'pylon-tom-resp-51'].map((id) => {
        const d = byId(id).decoded as Stated;
        return { device: d['device'], version: d['version'], manufacturer: d['manufacturer'] };
      }),
    );
    const alarms = msg('alarm');
    expect(alarms).toHaveLength(3);
    for (const [i, id] of ['pylon-ess-alarm-adr2', 'pylon-ess-alarm-adr3'].entries()) {
      const d = byId(id).decoded as Stated;
      expect(alarms[i]).toMatchObject({ cellStates: d['u_cell'], temperatureStates: d['t'], status: d['status'] });
    }
    expect(alarms[2]).toMatchObject({ status: (byId('pylon-tom-resp-44').decoded as Stated)['status_bytes'] });
    const g = byId('pylon-tom-resp-92').decoded as Stated;
    const [mg] = msg('management');
    close(mg!['chargeVoltageLimit'] as number, g['charge_voltage_limit_V'], 0.0005, 'charge voltage limit');
    close(mg!['dischargeCurrentLimit'] as number, g['discharge_current_limit_A'], 0.05, 'discharge current limit');
    expect(msg('protocol-version')).toEqual([{ version: '2.0' }]);
  });
});
