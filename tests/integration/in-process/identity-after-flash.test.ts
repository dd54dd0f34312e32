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
import { PslogReader } from '../../../electron/host/blackbox/pslog.js';

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

/** A simulated board's state folder and an image signed for it that carries `version`. */
async function boardAndImage(version: string): Promise<{ state: string; file: string }> {
  const state = mkdtempSync(path.join(dir, 'board-'));
  const sim = await runSim({ stateDir: state, seed: 4 });
  const boardId = sim.board.identity.boardId;
  await sim.stop();
  const key = parsePrivateKeyPem(readFileSync(path.join(state, SIGNING_KEY_FILE), 'utf8'));
  const file = path.join(state, `next-${version}.img`);
  writeFileSync(file, signImage({ payload: syntheticApplication(16 * 1024, 5), version: parseVersion(version), key, securityCounter: 5, boardId }));
  return { state, file };
}

async function headerOf(file: string) {
  const r = await PslogReader.open(file);
  try {
    return { firmwareVersion: r.identity?.firmwareVersion, records: await r.recordCount() };
  } finally {
    await r.close();
  }
}

describe('identity after a flash', () => {
  it('the self-check, its report and the status show the flashed version', async () => {
    const { state, file } = await boardAndImage('1.7.0');
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
  });

  it('a recording running across a flash goes on in a new file whose header names the new firmware', async () => {
    const { state, file } = await boardAndImage('1.8.0');
    const connected = await call('device.connect', { path: `sim:?state=${encodeURIComponent(state)}&seed=4&unpaced=1`, protocol: 'native' });
    try {
      const before = connected.device.firmwareVersion;
      expect(before).not.toMatch(/^1\.8\.0/);
      const started = await call('recording.start', { path: path.join(dir, 'across-flash.pslog'), rateHz: 20 });
      await expect.poll(async () => (await call('recording.status', {})).records).toBeGreaterThanOrEqual(3);

      await call('flash.start', { path: file, opId: 'f-rec', confirm: false });
      // The identity was read again before the stream came back: the status and the job name it.
      expect((await call('device.status', {})).device!.firmwareVersion).toMatch(/^1\.8\.0/);
      const job = (await call('jobs.list', {})).find((j) => j.kind === 'recording' && j.state === 'running')!;
      expect(job.file).toMatch(/across-flash-fw1\.8\.0.*\.pslog$/);
      await expect.poll(async () => (await call('recording.status', {})).records).toBeGreaterThanOrEqual(3);

      const r = await call('recording.stop', {});
      expect(r.parts!.map((p) => p.firmwareVersion)).toEqual([before, expect.stringMatching(/^1\.8\.0/)]);
      expect(r.parts![0]!.path).toBe(started.path);
      expect(r.path).toBe(r.parts![1]!.path);
      // Each file's header names the firmware its records came from, and each holds records.
      const first = await headerOf(r.parts![0]!.path);
      const second = await headerOf(r.parts![1]!.path);
      expect(first.firmwareVersion).toBe(before);
      expect(second.firmwareVersion).toMatch(/^1\.8\.0/);
      expect(first.records).toBe(r.parts![0]!.records);
      expect(second.records).toBe(r.parts![1]!.records);
      expect(second.records).toBeGreaterThanOrEqual(3);
    } finally {
      await call('device.disconnect', {});
    }
  });
});
