import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import {
  generateKey,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  signImage,
  type PrivateKey,
  type TrustedKey,
} from '../../../shared/image/index.js';
import { utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import type { Clock } from '../../../shared/util/clock.js';
import type { SimStorage } from '../board.js';
import { FileBacking, INSTANT, MemoryBacking, NorFlash, DEFAULT_TIMING, type FlashTiming } from '../flash/nor-flash.js';
import { syntheticApplication } from './app-image.js';
import { Bootloader, type BootMode, type BootReport } from './bootloader.js';
import { makeLayout, type LayoutOptions } from './layout.js';

/**
 * Everything firmware-related a simulated board keeps: the flash (in the state directory), the
 * bootloader, and the supplier test signing key. On first start it creates
 * `firmware-signing-key.pem` (Ed25519, for tests and demos only — the app never ships it as a
 * trusted key), trusts its public key, and factory-installs application 1.0.0 signed with it.
 */
export const SIGNING_KEY_FILE = 'firmware-signing-key.pem';
export const FLASH_FILE = 'flash.bin';
export const FACTORY_VERSION = { major: 1, minor: 0, revision: 0, build: 0 };
export const FACTORY_APP_SIZE = 48 * 1024;

export interface FirmwareStoreOptions {
  storage: SimStorage;
  boardId: string;
  /** Further trusted keys: PEM text or paths of PEM files (--trust). */
  trust?: string[];
  timing?: FlashTiming;
  layout?: LayoutOptions;
  seed?: number;
  /** Size of the factory application (default 48 KiB). */
  appSize?: number;
  /** The flash's busy time passes on this clock (the board's). */
  clock?: Clock;
  /** How the bootloader starts a new image (default 'swap'). */
  mode?: BootMode;
}

export interface FirmwareStore {
  flash: NorFlash;
  bootloader: Bootloader;
  signingKey: PrivateKey;
  /** Path of the signing key file (null when the state is in memory). */
  signingKeyPath: string | null;
  firstStart: boolean;
  firstBoot: BootReport;
}

function loadTrust(spec: string): TrustedKey {
  if (spec.includes('-----BEGIN')) return { key: parsePublicKeyPem(spec), name: 'trusted key' };
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (e) {
    throw new PackscopeError('NOT_FOUND', `cannot read trusted key ${spec}: ${(e as Error).message}`);
  }
  return { key: parsePublicKeyPem(text), name: path.basename(spec) };
}

export function loadOrCreateSigningKey(storage: SimStorage): { key: PrivateKey; path: string | null } {
  const existing = storage.read(SIGNING_KEY_FILE);
  const keyPath = storage.dir ? path.join(storage.dir, SIGNING_KEY_FILE) : null;
  if (existing) return { key: parsePrivateKeyPem(utf8Decode(existing)), path: keyPath };
  const key = generateKey('ed25519');
  storage.write(SIGNING_KEY_FILE, utf8Encode(privateKeyToPem(key)));
  if (keyPath) chmodSync(keyPath, 0o600);
  return { key, path: keyPath };
}

export async function openFirmwareStore(o: FirmwareStoreOptions): Promise<FirmwareStore> {
  const { key, path: keyPath } = loadOrCreateSigningKey(o.storage);
  const trusted: TrustedKey[] = [{ key: key.publicKey, name: 'supplier test key' }, ...(o.trust ?? []).map(loadTrust)];
  const layout = makeLayout(o.layout);
  const backing = o.storage.dir ? new FileBacking(path.join(o.storage.dir, FLASH_FILE)) : new MemoryBacking();
  const flash = new NorFlash({ geometry: layout.geometry, timing: o.timing ?? DEFAULT_TIMING, backing, seed: o.seed, ...(o.clock ? { clock: o.clock } : {}) });
  const bootloader = new Bootloader({ flash, layout, trustedKeys: trusted, boardId: o.boardId, ...(o.mode ? { mode: o.mode } : {}) });
  let firstStart = false;
  if (!bootloader.readSlot('primary') && bootloader.bootState.lastEvent === 0 && !bootloader.bootState.swap) {
    firstStart = true;
    const image = signImage({
      payload: syntheticApplication(o.appSize ?? FACTORY_APP_SIZE, o.seed ?? 1),
      version: FACTORY_VERSION,
      key,
      securityCounter: 1,
      boardId: o.boardId,
    });
    const timing = flash.timing;
    flash.timing = INSTANT; // factory programming is not part of the run
    await bootloader.factoryInstall(image);
    flash.timing = timing;
  }
  const firstBoot = await bootloader.boot();
  return { flash, bootloader, signingKey: key, signingKeyPath: keyPath, firstStart, firstBoot };
}
