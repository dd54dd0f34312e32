import { PackscopeError } from '../../../shared/errors.js';
import type { ProtocolId } from '../../../shared/types/domain.js';
import type { DriverFactory } from './types.js';

/** Protocol → driver factory, loaded lazily. */
export const DRIVERS: Partial<Record<ProtocolId, () => Promise<DriverFactory>>> = {
  jbd: async () => (await import('./jbd.js')).default,
  daly: async () => (await import('./daly.js')).default,
  jk: async () => (await import('./jk.js')).default,
  native: async () => (await import('./native.js')).nativeDriverFactory,
  'pylontech-can': async () => (await import('../can/pylontech-driver.js')).default,
  'pylontech-rs485': async () => (await import('./pylontech-rs485.js')).default,
  'stm32-rom': async () => (await import('../stm32/driver.js')).default,
};

/** Order of `--protocol auto`: the native protocol first, then the commodity boards' safe reads. */
export const DETECTION_ORDER: ProtocolId[] = ['native', 'jbd', 'daly', 'jk', 'pylontech-rs485'];

export async function driverFactory(protocol: ProtocolId): Promise<DriverFactory> {
  const load = DRIVERS[protocol];
  if (!load) throw new PackscopeError('USAGE', `protocol '${protocol}' is not supported here (known: ${Object.keys(DRIVERS).join(', ')})`);
  return load();
}
