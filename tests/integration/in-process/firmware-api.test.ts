import { readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import { createHostApi } from '../../../electron/host/api/index.js';
import { contract } from '../../../shared/api/contract.js';
import type { CallContext } from '../../../shared/api/rpc-server.js';
import { contractCaller } from '../../support/contract-call.js';
import { generateKey, parsePrivateKeyPem, parseVersion, publicKeyToPem, signImage, type PrivateKey } from '../../../shared/image/index.js';

/**
 * The app's firmware API on each flash back end: flash.start validated at the boundary (protocol
 * absent: native on the connected board, as the Firmware screen asks), native on the connected
 * board, UDS over the simulated SLCAN adapter, and STM32 ROM recovery, each answering inside the
 * contract's response schema, with progress events under the operation's id.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-firmware-api-'));
const host = createHostApi({ host: 'browser', version: '0.0.0-test', dataDir: dir });
const ctx: CallContext = { closed: false, onClose: () => () => undefined };
const request = contract.methods['flash.start'].request;

const call = contractCaller(host, ctx);

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

/** A simulated board's state (created once, so its signing key exists) and a sim: port on it. */
async function board(personality: 'native' | 'slcan'): Promise<{ key: PrivateKey; boardId: string; port: string }> {
  const state = mkdtempSync(path.join(dir, `${personality}-`));
  const sim = await runSim({ personality, stateDir: state, seed: 9 });
  const boardId = sim.board.identity.boardId;
  await sim.stop();
  const key = parsePrivateKeyPem(readFileSync(path.join(state, SIGNING_KEY_FILE), 'utf8'));
  const query = new URLSearchParams({ ...(personality === 'slcan' ? { personality } : {}), state, seed: '9', unpaced: '1' });
  return { key, boardId, port: `sim:?${query}` };
}

function imageFile(name: string, key: PrivateKey, boardId: string, version: string, counter: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, signImage({ payload: syntheticApplication(16 * 1024, counter), version: parseVersion(version), key, securityCounter: counter, boardId }));
  return file;
}

const progress: Array<{ opId: string; phase?: string; done: number; total: number }> = [];
let offProgress: () => void = () => undefined;
beforeAll(() => {
  offProgress = host.events.on('progress', (p) => progress.push(p));
});

afterAll(async () => {
  offProgress();
  await host.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('flash.start request schema', () => {
  it("keeps the Firmware screen's request valid: native on the connected board, compressed", () => {
    expect(request.parse({ path: '/x.img', opId: 'a', confirm: true })).toEqual({
      protocol: 'native',
      path: '/x.img',
      opId: 'a',
      confirm: true,
      compress: true,
    });
  });

  it('fills in each protocol’s defaults', () => {
    expect(request.parse({ protocol: 'uds', path: '/x.img', opId: 'a', port: '/dev/ttyACM0' })).toEqual({
      protocol: 'uds',
      path: '/x.img',
      opId: 'a',
      port: '/dev/ttyACM0',
      confirm: false,
      bitrate: 500_000,
      txId: 0x7e0,
      rxId: 0x7e8,
      seedKey: 'packscope-hmac',
    });
    expect(request.parse({ protocol: 'stm32-rom', path: '/x.hex', opId: 'a', port: '/dev/ttyUSB0' })).toEqual({
      protocol: 'stm32-rom',
      path: '/x.hex',
      opId: 'a',
      port: '/dev/ttyUSB0',
      verify: true,
      go: false,
      erase: 'touched',
    });
  });

  it.each([
    ['an unknown protocol', { protocol: 'jtag', path: '/x', opId: 'a' }],
    ['uds without a port', { protocol: 'uds', path: '/x', opId: 'a' }],
    ['a CAN id beyond 29 bits', { protocol: 'uds', path: '/x', opId: 'a', port: 'p', txId: 0x2000_0000 }],
    ['a bitrate out of range', { protocol: 'uds', path: '/x', opId: 'a', port: 'p', bitrate: 5_000_000 }],
    ['an unknown seed-to-key algorithm', { protocol: 'uds', path: '/x', opId: 'a', port: 'p', seedKey: 'guess' }],
    ['confirm for raw firmware', { protocol: 'stm32-rom', path: '/x', opId: 'a', port: 'p', confirm: true }],
    ['an odd parity', { protocol: 'stm32-rom', path: '/x', opId: 'a', port: 'p', parity: 'odd' }],
    ['an erase strategy it does not know', { protocol: 'stm32-rom', path: '/x', opId: 'a', port: 'p', erase: 'chip' }],
    ['a CAN option on native', { path: '/x', opId: 'a', bitrate: 500_000 }],
  ])('refuses %s', (_what, params) => {
    expect(request.safeParse(params).success).toBe(false);
  });
});

describe('flash.start on each back end', () => {
  it('native: the connected board, as the Firmware screen asks; keys it must also be signed by, as files', async () => {
    const b = await board('native');
    await call('device.connect', { path: b.port, protocol: 'native' });
    try {
      const file = imageFile('native.img', b.key, b.boardId, '1.3.0', 2);
      const stranger = path.join(dir, 'stranger.pem');
      writeFileSync(stranger, publicKeyToPem(generateKey('ed25519').publicKey));
      const refused = await refusal(call('flash.start', { path: file, opId: 'n0', trustKeyPaths: [stranger] }));
      expect(refused.code).toBe('REFUSED');
      expect(refused.message).toMatch(/not signed by any of the 1 key/);

      const r = await call('flash.start', { path: file, opId: 'n1', confirm: true });
      expect(r.protocol).toBe('native');
      if (r.protocol === 'stm32-rom') throw new Error('unexpected');
      expect(r.outcome).toBe('installed-confirmed');
      expect(r.status).toMatchObject({ runningVersion: '1.3.0+0', testing: false });
      expect(progress.filter((p) => p.opId === 'n1').at(-1)).toMatchObject({ phase: 'upload', done: r.bytesTotal, total: r.bytesTotal });
      // The board's settings were backed up into the data folder before anything was erased; the flash left them alone.
      expect(path.dirname(r.settingsBackup!.path)).toBe(path.join(dir, 'settings-backups'));
      expect(r.settingsChanged).toEqual([]);
      // A refused image took none.
      expect(readdirSync(path.join(dir, 'settings-backups'))).toHaveLength(1);

      // Another back end cannot open the port the connection holds.
      const busy = await refusal(call('flash.start', { protocol: 'uds', port: b.port, path: file, opId: 'n2' }));
      expect(busy.message).toMatch(/connected device's port: disconnect it first/);
    } finally {
      await call('device.disconnect', {});
    }
  });

  it('uds: a signed image over the simulated SLCAN adapter, in test mode', async () => {
    const b = await board('slcan');
    const file = imageFile('uds.img', b.key, b.boardId, '1.4.0', 3);
    const r = await call('flash.start', { protocol: 'uds', port: b.port, path: file, opId: 'u1', txId: 0x7e0, rxId: 0x7e8, maxBlockPayload: 2048 });
    if (r.protocol !== 'uds') throw new Error(`expected a UDS result, got ${r.protocol}`);
    expect(r.outcome).toBe('installed-test');
    expect(r.status).toMatchObject({ runningVersion: '1.4.0+0', testing: true });
    expect(r.lineRatio).toBeGreaterThan(0);
    expect(progress.some((p) => p.opId === 'u1' && p.phase === 'upload')).toBe(true);
  });

  it('stm32-rom: raw firmware through the simulated ROM bootloader', async () => {
    const file = path.join(dir, 'recovery.bin');
    writeFileSync(
      file,
      Uint8Array.from({ length: 5000 }, (_, i) => (i * 29) & 0xff),
    );
    const r = await call('flash.start', {
      protocol: 'stm32-rom',
      port: 'sim:?personality=stm32-rom&unpaced=1',
      path: file,
      opId: 's1',
      address: 0x0800_c000,
      go: true,
    });
    if (r.protocol !== 'stm32-rom') throw new Error(`expected an STM32 ROM result, got ${r.protocol}`);
    expect(r.format).toBe('bin');
    expect(r.erased.map((e) => e.index)).toEqual([3]);
    expect(r.verified).toBe(true);
    expect(r.started).toBe(0x0800_c000);
    expect(new Set(progress.filter((p) => p.opId === 's1').map((p) => p.phase))).toEqual(new Set(['connect', 'erase', 'write', 'verify', 'go']));
  });
});
