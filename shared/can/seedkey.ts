import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError } from '../errors.js';
import { utf8Encode } from '../util/bytes.js';
import type { SeedKeyAlgorithm } from './uds.js';

/**
 * Seed-to-key algorithms for UDS security access, by name (`flash --seed-key NAME`). Each ECU
 * family has its own; a new one is one entry here. The PackScope bootloader uses
 * `packscope-hmac`: the first 4 bytes of HMAC-SHA256(secret, level ‖ seed), which, unlike the XOR
 * schemes common in the field, does not give the key away to anyone who has seen one exchange.
 */
export const DEFAULT_SEED_KEY_SECRET = 'packscope-uds-bootloader-v1';

export function packscopeHmacSeedKey(secret: string = DEFAULT_SEED_KEY_SECRET): SeedKeyAlgorithm {
  const k = utf8Encode(secret);
  return (seed, level) => {
    const msg = new Uint8Array(seed.length + 1);
    msg[0] = level & 0xff;
    msg.set(seed, 1);
    return hmac(sha256, k, msg).slice(0, 4);
  };
}

/** A bare XOR with a 32-bit constant, as many older bootloaders use (kept for bench rigs that expect it). */
export function xorSeedKey(constant = 0x5a3c96e1): SeedKeyAlgorithm {
  return (seed) => seed.map((b, i) => b ^ ((constant >>> (8 * (3 - (i % 4)))) & 0xff));
}

export const SEED_KEY_ALGORITHMS: Record<string, () => SeedKeyAlgorithm> = {
  'packscope-hmac': () => packscopeHmacSeedKey(),
  xor: () => xorSeedKey(),
};

export function seedKeyAlgorithm(name: string): SeedKeyAlgorithm {
  const make = SEED_KEY_ALGORITHMS[name];
  if (!make) throw new PackscopeError('USAGE', `unknown seed-to-key algorithm '${name}' (known: ${Object.keys(SEED_KEY_ALGORITHMS).join(', ')})`);
  return make();
}
