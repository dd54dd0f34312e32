import { PackscopeError } from '../../shared/errors.js';

/**
 * Fault injection on the simulated link, parsed from `--faults SPEC`:
 *   corrupt=0.01        flip one random bit in 1 % of bytes (both directions)
 *   drop=0.005          drop 0.5 % of bytes (both directions)
 *   latency=20          add 20 ms before each chunk leaves the device
 *   disconnect-bytes=N  drop the line after the device has sent N bytes
 *   disconnect-after=S  drop the line S seconds after the first byte from the host
 * Items are comma-separated: `corrupt=0.01,drop=0.005`.
 */
export interface FaultSpec {
  corrupt: number;
  drop: number;
  latencyMs: number;
  disconnectAfterBytes: number | null;
  disconnectAfterSeconds: number | null;
}

export const NO_FAULTS: FaultSpec = { corrupt: 0, drop: 0, latencyMs: 0, disconnectAfterBytes: null, disconnectAfterSeconds: null };

export function parseFaultSpec(spec: string | undefined): FaultSpec {
  const out: FaultSpec = { ...NO_FAULTS };
  if (!spec) return out;
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [key, raw] = item.split('=');
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < 0) {
      throw new PackscopeError('USAGE', `bad fault '${item}': expected key=number`);
    }
    switch (key) {
      case 'corrupt':
      case 'drop':
        if (value > 1) throw new PackscopeError('USAGE', `fault ${key} is a fraction between 0 and 1`);
        out[key] = value;
        break;
      case 'latency':
        out.latencyMs = value;
        break;
      case 'disconnect-bytes':
        out.disconnectAfterBytes = Math.floor(value);
        break;
      case 'disconnect-after':
        out.disconnectAfterSeconds = value;
        break;
      default:
        throw new PackscopeError('USAGE', `unknown fault '${key}' (corrupt, drop, latency, disconnect-bytes, disconnect-after)`);
    }
  }
  return out;
}
