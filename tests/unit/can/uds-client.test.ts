import { describe, expect, it } from 'vitest';
import { dataFrame, type CanFrame } from '../../../shared/can/frame.js';
import { decodePdu, encodePdu } from '../../../shared/can/isotp.js';
import { decodeCommand, encodeReply, type SlcanReply } from '../../../shared/can/slcan.js';
import { PackscopeError } from '../../../shared/errors.js';
import { SlcanChannel } from '../../../electron/host/can/slcan-channel.js';
import { UdsClient } from '../../../electron/host/can/uds-client.js';
import { MockTransport } from '../../support/mock-transport.js';

/**
 * The UDS client and SLCAN channel against a scripted adapter + ECU (single-frame answers only):
 * response-pending is waited out, a negative response is an error named by its NRC, silence is a
 * timeout naming the ECU, and an adapter refusal reaches the caller.
 */
function scriptedAdapter(ecu: (req: Uint8Array) => Array<Uint8Array | 'bell'>): MockTransport {
  let line = '';
  return new MockTransport({
    path: 'scripted',
    open: false,
    peer: (data, port) => {
      const reply = (r: SlcanReply) => port.reply(encodeReply(r));
      for (const b of data) {
        if (b !== 0x0d) {
          line += String.fromCharCode(b);
          continue;
        }
        const l = line;
        line = '';
        if (!l) continue;
        const cmd = decodeCommand(l);
        if (cmd.kind === 'version') reply({ kind: 'version', hardware: 1, software: 2 });
        else if (cmd.kind === 'serial') reply({ kind: 'serial', serial: 'T001' });
        else if (cmd.kind === 'transmit') {
          const pdu = decodePdu(cmd.frame.data);
          const answers = pdu.type === 'single' ? ecu(pdu.data) : [];
          if (answers[0] === 'bell') {
            reply({ kind: 'error' });
            continue;
          }
          reply({ kind: 'txOk', extended: false });
          for (const a of answers) if (a !== 'bell') reply({ kind: 'frame', frame: dataFrame(0x7e8, encodePdu({ type: 'single', data: a })) as CanFrame });
        } else reply({ kind: 'ok' });
      }
    },
  });
}

async function client(ecu: (req: Uint8Array) => Array<Uint8Array | 'bell'>) {
  const ch = new SlcanChannel(scriptedAdapter(ecu));
  await ch.open({ bitrate: 500_000, timeoutMs: 200 });
  return new UdsClient(ch, { p2Ms: 150, p2StarMs: 300 });
}

describe('UDS client', () => {
  it('does not take a late answer for another identifier as the answer to the identifier asked', async () => {
    // The ECU answers the F186 read late: it arrives while FD00 is being asked, before FD00's own answer.
    const c = await client((req) =>
      req[0] === 0x22 && req[1] === 0xfd ? [Uint8Array.of(0x62, 0xf1, 0x86, 0x01), Uint8Array.of(0x62, 0xfd, 0x00, 0x7b, 0x7d)] : [],
    );
    const r = await c.request({ service: 'ReadDataByIdentifier', did: 0xfd00 });
    expect(r).toMatchObject({ did: 0xfd00, data: Uint8Array.of(0x7b, 0x7d) });
  });

  it('waits out response-pending (0x78) answers, then returns the positive response', async () => {
    const c = await client((req) =>
      req[0] === 0x31 ? [Uint8Array.of(0x7f, 0x31, 0x78), Uint8Array.of(0x7f, 0x31, 0x78), Uint8Array.of(0x71, 0x01, 0xff, 0x00, 0x00)] : [],
    );
    const r = await c.request({ service: 'RoutineControl', control: 1, routineId: 0xff00, data: new Uint8Array(0) });
    expect(r).toEqual({ service: 'RoutineControl', control: 1, routineId: 0xff00, status: Uint8Array.of(0) });
    expect(c.pendingSeen).toBe(2);
  });

  it('repeats a request the ECU answered with busyRepeatRequest (0x21), then returns its answer', async () => {
    let asked = 0;
    const c = await client((req) => (req[0] === 0x3e ? (++asked <= 2 ? [Uint8Array.of(0x7f, 0x3e, 0x21)] : [Uint8Array.of(0x7e, 0x00)]) : []));
    await expect(c.request({ service: 'TesterPresent' })).resolves.toMatchObject({ service: 'TesterPresent' });
    expect(asked).toBe(3);
    expect(c.busySeen).toBe(2);
  });

  it('an ECU that stays busy is refused with busyRepeatRequest once P2* is over', async () => {
    let asked = 0;
    const c = await client(() => (asked++, [Uint8Array.of(0x7f, 0x3e, 0x21)]));
    await expect(c.request({ service: 'TesterPresent' })).rejects.toThrow('busyRepeatRequest (0x21)');
    // Asked again every 50 ms for P2* (300 ms here): a handful of times, not once and not forever.
    expect(asked).toBeGreaterThan(1);
    expect(asked).toBeLessThan(300 / 50 + 2);
  });

  it('a negative response is an error named by its NRC', async () => {
    const c = await client(() => [Uint8Array.of(0x7f, 0x27, 0x35)]);
    await expect(c.request({ service: 'SecurityAccess', subFunction: 2, key: Uint8Array.of(1, 2, 3, 4) })).rejects.toThrow(
      'SecurityAccess refused by the ECU: invalidKey (0x35)',
    );
  });

  it('silence is a timeout that names the ECU', async () => {
    const c = await client(() => []);
    const e = await c.request({ service: 'TesterPresent' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PackscopeError);
    expect((e as PackscopeError).code).toBe('TIMEOUT');
    expect((e as PackscopeError).message).toMatch(/no UDS response from ECU 0x7E8 within 150 ms/);
  });

  it('an adapter refusing the frame (BELL) fails the request with the reason', async () => {
    const c = await client(() => ['bell']);
    await expect(c.request({ service: 'TesterPresent' })).rejects.toThrow(/SLCAN adapter refused 'transmit 7e0'/);
  });
});
