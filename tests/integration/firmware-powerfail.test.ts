import { describe, expect, it } from 'vitest';
import { PowerLoss } from '../../firmware/sim/flash/nor-flash.js';
import { flashImage } from '../../electron/host/flasher/flasher.js';
import { LocalTarget } from '../../electron/host/flasher/local-target.js';
import { Random } from '../../shared/util/random.js';
import { verifyImage } from '../../shared/image/index.js';
import { bootEnv, makeImage, BOARD } from '../unit/firmware/boot-env.js';
import { BOOT_MODES, type Bootloader, type BootMode } from '../../firmware/sim/boot/bootloader.js';
import { applyBundle } from '../../electron/host/bundle/apply.js';
import { board, bundleFor, goodSample, memoryHistory, NOW, root } from '../unit/bundle/helpers.js';

/**
 * The power-fail matrix, after MCUboot's simulator: count the flash operations of a clean update
 * (upload, verify, test swap, confirm), then for each operation in turn (evenly sampled above 400)
 * cut the power during it, reboot, and check that the board boots a valid signed image and that
 * running the flasher again completes the update. Then five random cuts in a row, and the same
 * matrix for a release bundle applied with test boot, self-test and confirm.
 */
const MAX_POINTS = 400;

async function setup(mode: BootMode = 'swap') {
  const env = await bootEnv({ mode });
  const factory = env.flash.dump();
  const image = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
  return { env, factory, image };
}

type Env = Awaited<ReturnType<typeof setup>>;

async function update(env: Env['env'], holder: { bl: Bootloader }, image: Uint8Array) {
  // The target object is rebuilt per attempt, as a host reconnecting after a power cut would.
  const t = new LocalTarget(holder.bl, async () => {
    holder.bl = env.rebootFresh();
    await holder.bl.boot();
    (t as unknown as { bl: Bootloader }).bl = holder.bl;
  });
  return flashImage(t, image, { confirm: true });
}

/** After power returns: the board must boot a valid, signed image of ours. */
async function rebootAndCheck(env: Env['env'], holder: { bl: Bootloader }) {
  env.flash.powerOn();
  holder.bl = env.rebootFresh();
  const report = await holder.bl.boot();
  expect(report.running, 'board bricked: no bootable image').not.toBeNull();
  const primary = holder.bl.readSlot('primary');
  expect(primary).not.toBeNull();
  const v = verifyImage(primary!, { trustedKeys: holder.bl.trustedKeys, boardId: BOARD });
  expect(v.valid, `primary image invalid: ${v.problems.join('; ')}`).toBe(true);
  expect(['1.0.0+0', '1.1.0+0']).toContain(report.running);
}

function expectUpdated(holder: { bl: Bootloader }) {
  const s = holder.bl.status();
  expect(s.runningVersion).toBe('1.1.0+0');
  expect(s.testing).toBe(false);
  expect(s.securityCounter).toBe(2);
}

/** The board as it left the factory, booted: the state every cut starts from. */
async function fromFactory({ env, factory }: Pick<Env, 'env' | 'factory'>, holder: { bl: Bootloader }) {
  env.flash.powerOn();
  env.flash.restore(factory);
  holder.bl = env.rebootFresh();
  await holder.bl.boot();
}

/**
 * Cuts the power at spread points of an update that takes `total` flash operations in a clean run
 * (every one, or MAX_POINTS evenly spaced): each time the board must boot a valid image, and
 * `rerun` must then finish the update. Counts which image the board booted after the cut.
 */
async function cutAtSpreadPoints(
  setupOf: Pick<Env, 'env' | 'factory'>,
  holder: { bl: Bootloader },
  total: number,
  attempt: () => Promise<unknown>,
  rerun: () => Promise<unknown>,
) {
  const n = Math.min(total, MAX_POINTS);
  const points = Array.from({ length: n }, (_, i) => 1 + Math.floor((i * total) / n));
  const outcomes = { old: 0, new: 0 };
  for (const k of points) {
    await fromFactory(setupOf, holder);
    setupOf.env.flash.armPowerLoss(k);
    const err = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, `cut point ${k} of ${total}: expected the power cut to interrupt the update`).toBeInstanceOf(PowerLoss);
    await rebootAndCheck(setupOf.env, holder);
    outcomes[holder.bl.status().runningVersion === '1.1.0+0' ? 'new' : 'old']++;
    await rerun();
    expectUpdated(holder);
  }
  return { points: points.length, ...outcomes };
}

describe('firmware power-fail matrix', () => {
  it.each(BOOT_MODES)(
    '%s: a cut at every flash operation of an update never bricks the board, and the update completes on re-run',
    async (mode) => {
      const { env, factory, image } = await setup(mode);
      // Clean run: count the operations.
      const holder = { bl: env.bootloader };
      const before = env.flash.opCount;
      await update(env, holder, image);
      expectUpdated(holder);
      const total = env.flash.opCount - before;
      expect(total).toBeGreaterThan(100);

      const { points, ...outcomes } = await cutAtSpreadPoints(
        { env, factory },
        holder,
        total,
        () => update(env, holder, image),
        () => update(env, holder, image),
      );
      console.log(
        `power-fail matrix (${mode}): ${points} cut points exercised of ${total} flash operations in a clean update; after the cut the board booted the old image ${outcomes.old} times, the new one ${outcomes.new} times; 0 bricked`,
      );
    },
    300_000,
  );

  it('a cut at any byte of the upload on the link never bricks the board, and the update completes on re-run', async () => {
    const { env, factory, image } = await setup();
    const holder = { bl: env.bootloader };
    const FRAME = 256; // the board takes data in frames; one cut mid-frame loses that frame
    const rng = new Random(77);
    const points = Array.from({ length: 40 }, (_, i) => Math.floor(((i + rng.next()) * image.length) / 40));
    for (const cutByte of points) {
      await fromFactory({ env, factory }, holder);
      let received = 0;
      const t = new LocalTarget(holder.bl);
      t.write = async (offset, data) => {
        for (let p = 0; p < data.length; p += FRAME) {
          const frame = data.subarray(p, p + FRAME);
          if (received + frame.length > cutByte) {
            env.flash.armPowerLoss(1);
            throw new PowerLoss(env.flash.opCount, 'program');
          }
          received += frame.length;
          await holder.bl.writeSecondary(offset + p, frame);
        }
      };
      const err = await flashImage(t, image, { confirm: true }).then(
        () => null,
        (e) => e,
      );
      expect(err).toBeInstanceOf(PowerLoss);
      await rebootAndCheck(env, holder);
      expect(holder.bl.status().runningVersion).toBe('1.0.0+0');
      const r = await update(env, holder, image);
      expect(r.bytesSkipped).toBeGreaterThanOrEqual(Math.max(0, Math.floor(cutByte / 4096) - 1) * 4096);
      expectUpdated(holder);
    }
    console.log(`power-fail matrix: ${points.length} cuts at bytes of the upload stream; 0 bricked, every re-run resumed from the sectors the board held`);
  });

  it('five random cuts in a row, then the update completes', async () => {
    const { env, image } = await setup();
    const holder = { bl: env.bootloader };
    const rng = new Random(20261123);
    for (let round = 0; round < 3; round++) {
      for (let cut = 0; cut < 5; cut++) {
        env.flash.armPowerLoss(1 + rng.int(900));
        const err = await update(env, holder, image).then(
          () => null,
          (e) => e,
        );
        if (err && !(err instanceof PowerLoss)) throw err;
        await rebootAndCheck(env, holder);
      }
      env.flash.armPowerLoss(null);
      await update(env, holder, image);
      expectUpdated(holder);
    }
    console.log('power-fail matrix: 3 rounds of 5 random cuts in a row; 0 bricked');
  });

  it('a cut during a release-bundle update never bricks the board, and applying the bundle again completes it', async () => {
    const { env, factory } = await setup();
    const bundle = bundleFor(env.signingKey);
    const holder = { bl: env.bootloader };
    const apply = () => {
      const t = new LocalTarget(holder.bl, async () => {
        holder.bl = env.rebootFresh();
        await holder.bl.boot();
        (t as unknown as { bl: Bootloader }).bl = holder.bl;
      });
      const history = memoryHistory();
      return applyBundle({ bundle, target: t, board, trust: { roots: [root.publicKey], revoked: new Set() }, history, now: () => NOW, sample: goodSample });
    };
    const before = env.flash.opCount;
    expect((await apply()).outcome).toBe('installed');
    expectUpdated(holder);
    const total = env.flash.opCount - before;
    const { points, ...outcomes } = await cutAtSpreadPoints({ env, factory }, holder, total, apply, async () => {
      expect(['installed', 'already-installed']).toContain((await apply()).outcome);
    });
    console.log(
      `bundle power-fail matrix: ${points} cuts of ${total} flash operations; old image ${outcomes.old}, new ${outcomes.new} times after the cut; 0 bricked`,
    );
  }, 300_000);
});
