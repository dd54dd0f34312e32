import { ERR } from '../../../shared/protocol/constants.js';
import { FW_CMD, decodeHashesRequest, encodeJson, refusalMessage, requestBody } from '../../../shared/image/fw-messages.js';
import { concatBytes } from '../../../shared/util/bytes.js';
import type { SimBoard } from '../board.js';
import { NativeError } from '../native/dispatcher.js';
import { BootRefusal } from './bootloader.js';
import { openFirmwareStore, type FirmwareStore } from './firmware-store.js';
import { FW_UPLOAD_REGION, fwStatusOf } from './status.js';
import { UpdateHistory } from './update-history.js';
import { FW_RELEASE } from '../../../shared/settings/update-record.js';

/**
 * The bootloader subsystem of the simulated board: opens the firmware store (flash file, signing
 * key, factory image) in the board's state, runs the boot decision at every reset, reports the
 * running slot's version, and serves the native firmware commands (0x03xx) and the upload region.
 * The store is exposed as `board.firmware` so other transports (UDS on CAN) drive the same slots.
 */
export type BoardWithFirmware = SimBoard & { firmware?: FirmwareStore };

export async function installBootloader(board: SimBoard): Promise<void> {
  const store = await openFirmwareStore({
    storage: board.storage,
    boardId: board.identity.boardId,
    clock: board.clock,
    ...(board.options.bootMode ? { mode: board.options.bootMode } : {}),
    ...(board.options.trustKeys ? { trust: board.options.trustKeys } : {}),
    ...(board.options.seed !== undefined ? { seed: board.options.seed } : {}),
  });
  (board as BoardWithFirmware).firmware = store;
  const bl = store.bootloader;
  let booting = false;
  const publish = () => {
    board.firmwareVersion = bl.runningVersion ?? 'none';
    board.firmwareTestMode = bl.bootState.testing;
  };
  publish();
  const history = new UpdateHistory(board);
  history.afterBoot(store.firstBoot.event, bl.runningVersion, bl.bootState.testing);

  board.onReset(async () => {
    // A reset lands in the bootloader: it finishes or starts a swap before the application runs,
    // and the board answers no firmware command until then.
    booting = true;
    try {
      const r = await bl.boot();
      history.afterBoot(r.event, r.running, r.testing);
    } finally {
      booting = false;
      publish();
    }
  });
  board.onStop(() => store.flash.close());

  const n = board.native;
  const guarded =
    <T>(fn: (payload: Uint8Array) => T | Promise<T>) =>
    async (payload: Uint8Array) => {
      if (booting) throw new NativeError(ERR.BUSY, 'the bootloader is starting the application (swap in progress)');
      try {
        return await fn(requestBody(payload));
      } catch (e) {
        if (e instanceof BootRefusal) throw new NativeError(ERR.REFUSED, refusalMessage(e.reason, e.message));
        throw e;
      }
    };

  n.register(
    FW_CMD.STATUS,
    guarded(() => encodeJson(fwStatusOf(bl))),
  );
  n.register(
    FW_CMD.BEGIN,
    guarded(async (meta) => encodeJson(await bl.beginUpdate(meta))),
  );
  n.register(
    FW_CMD.HASHES,
    guarded((payload) => {
      const r = decodeHashesRequest(payload);
      if (r.offset + r.length > bl.slotSize) throw new NativeError(ERR.OUT_OF_RANGE, `range ${r.offset}+${r.length} is outside the ${bl.slotSize}-byte slot`);
      const out: Uint8Array[] = [];
      for (let o = r.offset; o < r.offset + r.length; o += r.granule) out.push(bl.hashSecondary(o, Math.min(r.granule, r.offset + r.length - o)));
      return concatBytes(...out);
    }),
  );
  n.register(
    FW_CMD.FINISH,
    guarded(() => {
      const r = bl.finishUpload();
      return encodeJson({ valid: r.valid, reason: r.reason, problems: r.problems, hash: r.hash.computed });
    }),
  );
  n.register(
    FW_CMD.TEST,
    guarded(async () => {
      await bl.requestTest();
    }),
  );
  n.register(
    FW_CMD.CONFIRM,
    guarded(async () => {
      const r = await bl.confirm();
      if (r.changed) history.confirmed(bl.runningVersion);
      publish();
      return encodeJson(r);
    }),
  );
  n.register(
    FW_CMD.REVERT,
    guarded(async () => {
      const r = await bl.revert();
      history.revertAsked();
      return encodeJson(r);
    }),
  );
  n.register(
    FW_CMD.RELEASE,
    guarded((payload) => {
      history.announce(FW_RELEASE.decode(payload));
    }),
  );
  n.register(
    FW_CMD.RESET,
    guarded(() => {
      // Answer first, as a real board does before it pulls its own reset line.
      board.clock.after(20, () => void board.reset('application'));
    }),
  );

  n.registerRegion({
    id: FW_UPLOAD_REGION,
    name: 'fw-secondary',
    size: () => bl.slotSize,
    read: (offset, length) => bl.readSecondary(offset, length),
    hash: (offset, length) => bl.hashSecondary(offset, length),
    erase: async (offset, length) => {
      if (booting) throw new NativeError(ERR.BUSY, 'the bootloader is starting the application');
      try {
        await bl.eraseSecondaryRange(offset, length);
      } catch (e) {
        if (e instanceof BootRefusal) throw new NativeError(ERR.REFUSED, refusalMessage(e.reason, e.message));
        throw e;
      }
    },
    write: async (offset, data) => {
      if (booting) throw new NativeError(ERR.BUSY, 'the bootloader is starting the application');
      try {
        await bl.writeSecondary(offset, data);
      } catch (e) {
        if (e instanceof BootRefusal) throw new NativeError(ERR.REFUSED, refusalMessage(e.reason, e.message));
        throw e;
      }
    },
  });
}
