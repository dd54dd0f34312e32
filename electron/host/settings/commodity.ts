/**
 * Settings back ends of the commodity BMS protocols, chosen by the session's driver: JBD's EEPROM
 * registers through factory mode; JK's read-all fields and one-field writes; Daly's thresholds
 * read, SOC and MOSFET switches written. Null when the protocol carries no settings PackScope reads.
 */
import type { JbdFrame } from '../../../shared/bms/jbd.js';
import { PolledDriver } from '../drivers/bms-polling.js';
import type { Session } from '../session.js';
import type { SettingsAccess } from './access.js';
import { JbdSettingsAccess } from './jbd-access.js';
import type { JkFrame } from '../../../shared/bms/jk.js';
import { JkSettingsAccess } from './jk-access.js';
import type { DalyFrame } from '../../../shared/bms/daly.js';
import { DalySettingsAccess } from './daly-access.js';

export function commoditySettingsAccess(session: Session): SettingsAccess | null {
  const d = session.driver;
  if (session.protocol === 'jbd' && d instanceof PolledDriver && session.info)
    return new JbdSettingsAccess((d as PolledDriver<JbdFrame>).channel, session.info);
  if (session.protocol === 'jk' && d instanceof PolledDriver && session.info) return new JkSettingsAccess((d as PolledDriver<JkFrame>).channel, session.info);
  if (session.protocol === 'daly' && d instanceof PolledDriver && session.info)
    return new DalySettingsAccess((d as PolledDriver<DalyFrame>).channel, session.info, d.address ?? 0);
  return null;
}
