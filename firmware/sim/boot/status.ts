import { BOOT_EVENT_NAMES, type FwStatus } from '../../../shared/image/fw-status.js';
import { toHex } from '../../../shared/util/bytes.js';
import type { Bootloader } from './bootloader.js';

/** Region id of the secondary slot in the bulk-transfer registry (PROTOCOL.md, Firmware). */
export const FW_UPLOAD_REGION = 0x20;

/** The bootloader's state as the board reports it (FW_STATUS). */
export function fwStatusOf(bl: Bootloader): FwStatus {
  const s = bl.status();
  return {
    boardId: bl.boardId,
    running: s.running,
    runningVersion: s.runningVersion,
    primary: s.primary,
    secondary: s.secondary,
    testing: s.testing,
    pending: s.pending,
    securityCounter: s.securityCounter,
    lastEvent: BOOT_EVENT_NAMES[s.lastEvent] ?? `event-${s.lastEvent}`,
    lastReason: s.lastReason,
    swapInProgress: s.swapInProgress,
    slotSize: bl.slotSize,
    sectorSize: bl.layout.sectorSize,
    trustedKeys: bl.trustedKeys.map((k) => toHex(k.key.spki)),
    uploadRegion: FW_UPLOAD_REGION,
    mode: s.mode,
    activeBank: s.activeBank,
  };
}
