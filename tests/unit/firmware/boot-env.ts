import { MemoryStorage } from '../../../firmware/sim/state.js';
import { INSTANT } from '../../../firmware/sim/flash/nor-flash.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { openFirmwareStore } from '../../../firmware/sim/boot/firmware-store.js';
import { Bootloader, type BootMode } from '../../../firmware/sim/boot/bootloader.js';
import { parseVersion, signImage, type PrivateKey } from '../../../shared/image/index.js';

/** A small board (32 KiB slots, 4 KiB sectors, instant flash) for state-machine and power-fail tests. */
export const BOARD = 'PSB-TEST-A';

export async function bootEnv(o: { slotSize?: number; appSize?: number; seed?: number; mode?: BootMode } = {}) {
  const storage = new MemoryStorage();
  const store = await openFirmwareStore({
    storage,
    boardId: BOARD,
    timing: INSTANT,
    layout: { slotSize: o.slotSize ?? 32 * 1024 },
    appSize: o.appSize ?? 20 * 1024,
    seed: o.seed ?? 1,
    ...(o.mode ? { mode: o.mode } : {}),
  });
  /** A fresh bootloader over the same flash: what a reboot gives (RAM state lost). */
  const rebootFresh = () =>
    new Bootloader({
      flash: store.flash,
      layout: store.bootloader.layout,
      trustedKeys: store.bootloader.trustedKeys,
      boardId: BOARD,
      mode: store.bootloader.mode,
    });
  return { storage, ...store, rebootFresh };
}

export function makeImage(key: PrivateKey, o: { version: string; counter?: number; board?: string; size?: number; seed?: number }) {
  return signImage({
    payload: syntheticApplication(o.size ?? 24 * 1024, o.seed ?? 7),
    version: parseVersion(o.version),
    key,
    securityCounter: o.counter,
    boardId: o.board ?? BOARD,
  });
}
