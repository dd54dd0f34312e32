import { LocalTarget } from '../../../electron/host/flasher/local-target.js';
import { certifyReleaseKey, createBundle, type SeenRelease } from '../../../shared/bundle/bundle.js';
import type { BundleMetadataInput } from '../../../shared/bundle/metadata.js';
import { generateKey, type PrivateKey } from '../../../shared/image/index.js';
import { bootEnv, BOARD, makeImage } from '../firmware/boot-env.js';

/** Keys, a small simulated board and bundle factories for the release-bundle tests. */
export const NOW = new Date('2026-12-07T12:00:00Z');
export const root = generateKey('ed25519');
export const release = generateKey('ed25519');
export const cert = certifyReleaseKey(root, release.publicKey, {
  vendorId: 'acme',
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2028-01-01T00:00:00Z'),
});
export const board = { boardId: BOARD, hardwareRevision: 'B2', serial: 'PS-0001' };

export type MetaOverrides = Partial<Omit<BundleMetadataInput, 'components'>>;

export function bundleFor(
  signingKey: PrivateKey,
  o: { version?: string; counter?: number; meta?: MetaOverrides; releaseKey?: PrivateKey; certificate?: typeof cert; seed?: number } = {},
) {
  const version = o.version ?? '1.1.0';
  const counter = o.counter ?? 2;
  const image = makeImage(signingKey, { version, counter, seed: o.seed ?? 7 });
  return createBundle({
    metadata: {
      schema: 1,
      sequence: 10,
      vendorId: 'acme',
      boards: [{ boardId: BOARD, hardwareRevisions: ['B1', 'B2'] }],
      created: '2026-12-01T00:00:00Z',
      expires: '2027-06-01T00:00:00Z',
      notes: `Release ${version}: fixes cell balancing at low temperature.`,
      preconditions: { minSocPercent: 30, maxCurrentA: 5, temperatureC: { min: 0, max: 45 } },
      ...o.meta,
      components: [{ name: 'app', target: { kind: 'mcuboot', slot: 'secondary' }, format: 'mcuboot', version, securityCounter: counter }],
    },
    images: [{ name: 'app', bytes: image }],
    releaseKey: o.releaseKey ?? release,
    certificate: o.certificate ?? cert,
  });
}

export function memoryHistory(initial: { installation?: SeenRelease; board?: SeenRelease } = {}) {
  let installation = initial.installation ?? null;
  const boards = new Map<string, SeenRelease>(initial.board ? [[board.serial, initial.board]] : []);
  return {
    seen: (serial: string) => ({ installation, board: boards.get(serial) ?? null }),
    record: (serial: string, r: SeenRelease) => {
      installation = r;
      boards.set(serial, r);
    },
  };
}

export const goodSample = async () => ({ soc: 62, current: 0.4, temperatures: [21, 22.5] });

export async function boardEnv() {
  const env = await bootEnv();
  const holder = { bl: env.bootloader };
  const target = new LocalTarget(holder.bl, async () => {
    holder.bl = env.rebootFresh();
    await holder.bl.boot();
    (target as unknown as { bl: typeof holder.bl }).bl = holder.bl;
  });
  return { env, holder, target };
}
