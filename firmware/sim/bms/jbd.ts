import {
  createJbdExtractor,
  encodeJbdBasicInfo,
  encodeJbdCells,
  encodeJbdHardwareVersion,
  encodeJbdResponse,
  isJbdAlarmBit,
  JBD_PROTECTION_BITS,
  JBD_READ,
  JBD_REG_BASIC,
  JBD_REG_CELLS,
  JBD_REG_HWVERSION,
  jbdFrameAsRequest,
  type JbdBasicInfo,
} from '../../../shared/bms/jbd.js';
import type { SimBoard } from '../board.js';
import type { PackState } from '../pack/types.js';
import type { Personality } from '../personality.js';
import { JbdEeprom } from './jbd-eeprom.js';
import { bmsPersonality, hasAlarm, hasStatus, JBD_LINE, versionByte, type BmsPersonalityOptions } from './common.js';

/** Status byte a JBD board answers with when it refuses a register (reads outside factory mode, writes). */
export const JBD_STATUS_REFUSED = 0x80;

/**
 * The board as a JBD / Xiaoxiang BMS presents it on its UART (9600 8N1): registers 0x03, 0x04 and
 * 0x05 answer from the pack model; any other register and every write is refused with status 0x80
 * and no data, as a board outside factory mode does. Frames with a bad checksum are ignored
 * (real boards stay silent), so the host times out and retries.
 */
export function jbdHardwareVersion(board: SimBoard): string {
  return `JBD-SP${String(board.pack.config.cells).padStart(2, '0')}S-SIM-${board.identity.hardwareRevision}`;
}

export function jbdBasicInfoFrom(board: SimBoard, s: PackState): JbdBasicInfo {
  let protection = 0;
  JBD_PROTECTION_BITS.forEach((name, i) => {
    if (isJbdAlarmBit(name) && hasAlarm(s, name)) protection |= 1 << i;
  });
  const made = new Date(board.pack.config.startTimeMs);
  return {
    packVoltage: s.packVoltage,
    current: s.current,
    remainingAh: s.remainingAh,
    nominalAh: board.pack.config.capacityAh,
    cycles: s.cycleCount,
    productionDate: { year: Math.max(2000, made.getUTCFullYear() - 1), month: made.getUTCMonth() + 1, day: made.getUTCDate() },
    balanceMask: s.balancingMask >>> 0,
    protection,
    softwareVersion: versionByte(board.firmwareVersion),
    soc: s.soc,
    fet: (hasStatus(s, 'charge_fet_on') ? 1 : 0) | (hasStatus(s, 'discharge_fet_on') ? 2 : 0),
    cellCount: s.cellVoltages.length,
    temperatures: s.temperatures,
    extra: new Uint8Array(0),
  };
}

export function createJbdPersonality(board: SimBoard, options: BmsPersonalityOptions = {}): Personality {
  const eeprom = new JbdEeprom(board);
  return bmsPersonality('jbd', JBD_LINE, { clock: () => board.clock.now(), ...options }, createJbdExtractor(), (link, frame) => {
    let req;
    try {
      req = jbdFrameAsRequest(frame);
    } catch {
      return; // another board's response on a shared bus: not for us
    }
    const answer = eeprom.handle(req.kind, req.register, req.data);
    if (answer) {
      link.send(encodeJbdResponse({ register: req.register, ...answer }));
      return;
    }
    if (req.kind !== 'read' || frame.b1 !== JBD_READ) {
      link.send(encodeJbdResponse({ register: req.register, status: JBD_STATUS_REFUSED, data: new Uint8Array(0) }));
      return;
    }
    const s = board.pack.state();
    let payload: Uint8Array | null = null;
    if (req.register === JBD_REG_BASIC) payload = encodeJbdBasicInfo(jbdBasicInfoFrom(board, s));
    else if (req.register === JBD_REG_CELLS) payload = encodeJbdCells(s.cellVoltages);
    else if (req.register === JBD_REG_HWVERSION) payload = encodeJbdHardwareVersion(jbdHardwareVersion(board));
    link.send(encodeJbdResponse({ register: req.register, status: payload ? 0 : JBD_STATUS_REFUSED, data: payload ?? new Uint8Array(0) }));
  });
}
