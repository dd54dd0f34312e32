import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import { createHostApi } from '../../../electron/host/api/index.js';
import { contract, type MethodName, type Req, type Res } from '../../../shared/api/contract.js';
import type { CallContext } from '../../../shared/api/rpc-server.js';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../../shared/image/index.js';

/**
 * After a flash the board runs other firmware: the self-check, its report and the connection's
 * identity must show the version the board runs now, never the one read when it was connected.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-identity-flash-'));
const host = createHostApi({ host: 'browser', version: '0.0.0-test', dataDir: dir, claimDraftFile: null });
const ctx: CallContext = { closed: false, onClose: () => () => undefined };

async function call<M extends MethodName>(method: M, params: Req<M>): Promise<Res<M>> {
  const spec = contract.methods[method];
  const value = await (host.handlers[method] as (p: unknown, c: CallContext) => Promise<unknown>)(spec.request.parse(params), ctx);
  return spec.response.parse(value) as Res<M>;
}

afterAll(async () => {
  await host.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('identity after a flash', () => {
  it('the self-check, its report and the status show the flashed version', async () => {
    const state = mkdtempSync(path.join(dir, 'board-'));
    const sim = await runSim({ stateDir: state, seed: 4 });
    const boardId = sim.board.identity.boardId;
    await sim.stop();
    const key = parsePrivateKeyPem(readFileSync(path.join(state, SIGNING_KEY_FILE), 'utf8'));
    const file = path.join(dir, 'next.img');
    writeFileSync(file, signImage({ payload: syntheticApplication(16 * 1024, 5), version: parseVersion('1.7.0'), key, securityCounter: 5, boardId }));
    const connected = await call('device.connect', { path: `sim:?state=${encodeURIComponent(state)}&seed=4&unpaced=1`, protocol: 'native' });
    try {
      const before = connected.device.firmwareVersion;
      expect(before).not.toMatch(/^1\.7\.0/);
      await call('selfcheck.start', { charger: null, ambientC: null });
      const first = await call('selfcheck.step', { id: 'identity', opId: 'sc-1' });
      expect(first.measured).toContain(`firmware ${before}`);

      await call('flash.start', { path: file, opId: 'f-1', confirm: false });

      // The check started before the flash judged other firmware: its result does not stand.
      await expect(call('selfcheck.conclusion', {})).rejects.toThrow(
        /firmware changed since this check started \(1\.0\.0\+0 → 1\.7\.0\+0\): start the self-check again/,
      );
      await call('selfcheck.start', { charger: null, ambientC: null });
      const again = await call('selfcheck.step', { id: 'identity', opId: 'sc-2' });
      expect(again.measured).toMatch(/firmware 1\.7\.0/);
      expect((await call('device.status', {})).device!.firmwareVersion).toMatch(/^1\.7\.0/);
    } finally {
      await call('device.disconnect', {});
    }
  }, 60_000);
});
