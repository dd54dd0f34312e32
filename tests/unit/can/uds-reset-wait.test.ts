/**
 * What a whole UDS flash spends besides the upload, pinned: the wait for the ECU after its reset
 * is a short tester-present poll (on virtual time: the ECU is seen back within one poll of
 * answering again), the probe's read of the firmware status stands in for the flasher's first,
 * and the flasher reports each phase's time.
 */
import { describe, expect, it } from 'vitest';
import {
  RESET_GUARD_MS,
  RESET_POLL_MS,
  RESET_SESSION_POLL_MS,
  RESET_SESSION_PROBE_MS,
  waitForEcu,
  waitForEcuReset,
} from '../../../electron/host/can/uds-generic.js';
import { UdsNegativeResponseError } from '../../../shared/can/uds.js';
import { UdsFirmwareTarget } from '../../../electron/host/can/uds-target.js';
import type { UdsClient } from '../../../electron/host/can/uds-client.js';
import { flashImage } from '../../../electron/host/flasher/flasher.js';
import { LocalTarget } from '../../../electron/host/flasher/local-target.js';
import { PackscopeError } from '../../../shared/errors.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { bootEnv, makeImage } from '../firmware/boot-env.js';

/** An ECU that is silent until `backAt` (virtual ms), then answers tester present after 3 ms. */
function restartingEcu(clock: VirtualClock, backAt: number) {
  const probes: Array<{ at: number; timeoutMs: number | undefined }> = [];
  const client = {
    clock,
    async request(_req: unknown, _signal?: AbortSignal, o: { timeoutMs?: number } = {}) {
      probes.push({ at: clock.now(), timeoutMs: o.timeoutMs });
      if (clock.now() + 3 >= backAt) {
        await clock.sleep(3);
        return { service: 'TesterPresent' };
      }
      await clock.sleep(o.timeoutMs ?? 2500);
      throw new PackscopeError('TIMEOUT', 'no UDS response');
    },
  };
  return { client: client as unknown as UdsClient, probes };
}

describe('waiting for the ECU after its reset', () => {
  it('polls with short probes and returns within one probe of the ECU answering again', async () => {
    const clock = new VirtualClock();
    const ecu = restartingEcu(clock, 9_400);
    const waited = await clock.run(waitForEcu(ecu.client, 60_000));
    expect(ecu.probes[0]!.at).toBe(RESET_GUARD_MS);
    expect(ecu.probes.every((p) => p.timeoutMs === RESET_POLL_MS)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(9_400);
    expect(waited).toBeLessThanOrEqual(9_400 + RESET_POLL_MS + 3);
  });

  it('gives up after its limit with TIMEOUT, and passes any other failure on at once', async () => {
    const clock = new VirtualClock();
    const silent = restartingEcu(clock, Infinity);
    const e = await clock.run(
      waitForEcu(silent.client, 2_000).then(
        () => null,
        (x: unknown) => x as PackscopeError,
      ),
    );
    expect(e?.code).toBe('TIMEOUT');
    expect(e?.message).toMatch(/did not answer within 2 s/);
    expect(clock.now()).toBeLessThan(2_000 + 2 * RESET_POLL_MS);

    const broken = {
      clock,
      request: async () => {
        throw new PackscopeError('DISCONNECTED', 'adapter link closed');
      },
    } as unknown as UdsClient;
    await expect(clock.run(waitForEcu(broken, 60_000))).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

/**
 * An ECU that is still in the programming session until `resetAt` (it answers F186 with 02),
 * silent while it boots until `backAt`, then in the default session (01); every answer takes 3 ms.
 * Without F186 it answers requestOutOfRange to it, and tester present once back.
 */
function resettingEcu(clock: VirtualClock, resetAt: number, backAt: number, o: { f186?: boolean } = {}) {
  const probes: Array<{ at: number; service: string; timeoutMs: number | undefined }> = [];
  const client = {
    clock,
    async request(req: { service: string }, _signal?: AbortSignal, opt: { timeoutMs?: number } = {}) {
      probes.push({ at: clock.now(), service: req.service, timeoutMs: opt.timeoutMs });
      const now = clock.now();
      if (now < resetAt || now + 3 >= backAt) {
        await clock.sleep(3);
        if (req.service === 'TesterPresent') return { service: 'TesterPresent' };
        if (o.f186 === false) throw new UdsNegativeResponseError(0x22, 0x31);
        return { service: 'ReadDataByIdentifier', did: 0xf186, data: Uint8Array.of(now < resetAt ? 0x02 : 0x01) };
      }
      await clock.sleep(opt.timeoutMs ?? 2500);
      throw new PackscopeError('TIMEOUT', 'no UDS response');
    },
  };
  return { client: client as unknown as UdsClient, probes };
}

describe('waiting for the ECU after a reset from the programming session', () => {
  it('reads the active session (F186) at once, with no guard time, until the ECU answers in the default session', async () => {
    const clock = new VirtualClock();
    const ecu = resettingEcu(clock, 12, 40);
    const waited = await clock.run(waitForEcuReset(ecu.client, 60_000));
    expect(ecu.probes[0]!.at).toBe(0);
    expect(ecu.probes.every((p) => p.service === 'ReadDataByIdentifier' && p.timeoutMs === RESET_SESSION_PROBE_MS)).toBe(true);
    // Answers naming the programming session came first: the ECU had not reset yet.
    expect(ecu.probes.filter((p) => p.at < 12).length).toBeGreaterThanOrEqual(2);
    expect(waited).toBeGreaterThanOrEqual(40);
    expect(waited).toBeLessThanOrEqual(40 + RESET_SESSION_PROBE_MS + RESET_SESSION_POLL_MS + 3);
    expect(waited).toBeLessThan(RESET_GUARD_MS);
  });

  it('an ECU without F186 is waited for with the guard time and tester present', async () => {
    const clock = new VirtualClock();
    const ecu = resettingEcu(clock, 50, 400, { f186: false });
    const waited = await clock.run(waitForEcuReset(ecu.client, 60_000));
    expect(ecu.probes.filter((p) => p.service === 'ReadDataByIdentifier')).toEqual([
      { at: 0, service: 'ReadDataByIdentifier', timeoutMs: RESET_SESSION_PROBE_MS },
    ]);
    const tp = ecu.probes.filter((p) => p.service === 'TesterPresent');
    expect(tp[0]!.at).toBeGreaterThanOrEqual(RESET_GUARD_MS);
    expect(tp.every((p) => p.timeoutMs === RESET_POLL_MS)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThanOrEqual(400 + RESET_POLL_MS + 3 + 3);
  });

  it('gives up after its limit with TIMEOUT', async () => {
    const clock = new VirtualClock();
    const ecu = resettingEcu(clock, 0, Infinity);
    const e = await clock.run(
      waitForEcuReset(ecu.client, 1_000).then(
        () => null,
        (x: unknown) => x as PackscopeError,
      ),
    );
    expect(e?.code).toBe('TIMEOUT');
    expect(clock.now()).toBeLessThan(1_000 + 2 * RESET_SESSION_PROBE_MS);
  });
});

describe('status reads and phase times of a whole flash', () => {
  it('reads the status before, after the test boot (the proof) and after confirming (the report), and times each phase', async () => {
    const env = await bootEnv();
    const t = new LocalTarget(env.bootloader);
    let reads = 0;
    const status = t.status.bind(t);
    t.status = async () => {
      reads++;
      return status();
    };
    const r = await flashImage(t, makeImage(env.signingKey, { version: '1.1.0', counter: 3 }), { confirm: true });
    expect(r.outcome).toBe('installed-confirmed');
    expect(reads).toBe(3);
    // The report's status is what the board itself now says.
    expect(r.status).toEqual(await status());
    expect(r.status).toMatchObject({ testing: false, securityCounter: 3 });
    const phases = Object.values(r.phases);
    expect(phases.every((s) => s >= 0)).toBe(true);
    expect(phases.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(r.seconds);
  });

  it('a UDS target given the probe-read status answers its first status() without asking the ECU', async () => {
    const env = await bootEnv();
    const known = await new LocalTarget(env.bootloader).status();
    const asked: unknown[] = [];
    const client = {
      txId: 0x7e0,
      rxId: 0x7e8,
      request: async (req: unknown) => {
        asked.push(req);
        return { service: 'ReadDataByIdentifier', did: 0xfd00, data: new TextEncoder().encode(JSON.stringify(known)) };
      },
    } as unknown as UdsClient;
    const target = new UdsFirmwareTarget(client, { knownStatus: known });
    expect(await target.status()).toEqual(known);
    expect(asked).toEqual([]);
    expect(await target.status()).toEqual(known);
    expect(asked).toHaveLength(1);
  });
});
