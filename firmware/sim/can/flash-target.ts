import type { SimBoard } from '../board.js';
import type { Bootloader } from '../boot/bootloader.js';
import { openFirmwareStore, type FirmwareStore } from '../boot/firmware-store.js';

/**
 * The board's two-slot bootloader (firmware/sim/boot) as the UDS node uses it: the same object the
 * native protocol's firmware commands use, so an image flashed over CAN and one flashed over the
 * native link land in the same secondary slot and swap the same way.
 */
export interface BoardFirmware {
  target: Bootloader;
  /** Reboots the board: the bootloader runs its boot decision (swap, revert) and starts the image. */
  reboot(): Promise<void>;
}

const stores = new WeakMap<SimBoard, Promise<BoardFirmware>>();

/**
 * The board's firmware store. A board whose bootloader subsystem already opened the store exposes
 * it as `board.firmware`; otherwise it is opened here once per board (on the board's own state
 * directory, so it is the same flash file the native bootloader uses).
 */
export function boardFirmware(board: SimBoard): Promise<BoardFirmware> {
  let p = stores.get(board);
  if (!p) {
    p = (async () => {
      const attached = (board as SimBoard & { firmware?: FirmwareStore }).firmware;
      const store =
        attached ??
        (await openFirmwareStore({
          storage: board.storage,
          boardId: board.identity.boardId,
          ...(board.options.bootMode ? { mode: board.options.bootMode } : {}),
          ...(board.options.trustKeys ? { trust: board.options.trustKeys } : {}),
          ...(board.options.seed !== undefined ? { seed: board.options.seed } : {}),
        }));
      const bl = store.bootloader;
      board.firmwareVersion = bl.runningVersion ?? board.firmwareVersion;
      return {
        target: bl,
        async reboot() {
          await board.reset('application');
          // Without a bootloader subsystem listening for resets, run the boot decision here.
          if (!attached) await bl.boot();
          board.firmwareVersion = bl.runningVersion ?? board.firmwareVersion;
          board.firmwareTestMode = bl.bootState.testing;
        },
      };
    })();
    stores.set(board, p);
  }
  return p;
}
