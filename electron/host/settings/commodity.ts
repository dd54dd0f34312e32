/**
 * Settings back ends of the commodity BMS protocols (JBD, Daly, JK), chosen by the session's
 * driver. Null when the protocol carries no settings PackScope knows.
 */
import type { Session } from '../session.js';
import type { SettingsAccess } from './access.js';

export function commoditySettingsAccess(session: Session): SettingsAccess | null {
  void session;
  return null;
}
