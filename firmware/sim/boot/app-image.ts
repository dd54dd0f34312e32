import { Random } from '../../../shared/util/random.js';
import { utf8Encode } from '../../../shared/util/bytes.js';

/**
 * A synthetic application binary that compresses like real Cortex-M firmware (about 40–60 % with
 * deflate): a vector table, Thumb-2-like code built from a small instruction vocabulary with
 * varying operands, constant pools, string tables and zero-filled data. Deterministic per seed,
 * so simulator images, tests and benchmarks are repeatable.
 */
export function syntheticApplication(size: number, seed = 1, label = 'PackScope BMS application'): Uint8Array {
  const rng = new Random(seed);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  // Vector table: initial SP and 47 handler addresses in flash.
  for (let i = 0; i < 48 && p + 4 <= size; i++, p += 4) v.setUint32(p, i === 0 ? 0x20020000 : 0x08000201 + rng.int(0x8000) * 2, true);
  const opcodes = [0xb580, 0x4668, 0x6800, 0x2800, 0xd001, 0x4770, 0xf000, 0xe7fe, 0x4b02, 0x681b, 0x3301, 0x601a, 0xbd80, 0x2000, 0x2101, 0x4291];
  const strings = [
    'cell overvoltage',
    'cell undervoltage',
    'charge overcurrent',
    'discharge overcurrent',
    'temperature high',
    'temperature low',
    'balancing',
    'precharge',
    'contactor closed',
    'fault latched',
    label,
    'boot ok',
  ].map((s) => utf8Encode(s + '\0'));
  while (p < size) {
    const kind = rng.next();
    if (kind < 0.62) {
      // A function: prologue, a run of instructions, epilogue.
      const n = 8 + rng.int(120);
      for (let i = 0; i < n && p + 2 <= size; i++, p += 2) {
        const op = opcodes[rng.int(opcodes.length)]!;
        v.setUint16(p, rng.next() < 0.7 ? op : (op & 0xff00) | rng.int(256), true);
      }
    } else if (kind < 0.75) {
      // Literal pool: addresses of peripherals and RAM.
      const n = 2 + rng.int(8);
      for (let i = 0; i < n && p + 4 <= size; i++, p += 4)
        v.setUint32(p, [0x40000000, 0x40021000, 0x20000000, 0x08000000][rng.int(4)]! + rng.int(1024) * 4, true);
    } else if (kind < 0.85) {
      const s = strings[rng.int(strings.length)]!;
      for (let i = 0; i < s.length && p < size; i++) out[p++] = s[i]!;
    } else if (kind < 0.93) {
      p += Math.min(size - p, 16 + rng.int(200)); // zero-initialised tables
    } else {
      // Calibration tables: smooth curves.
      const n = 16 + rng.int(64);
      let x = rng.int(4000);
      for (let i = 0; i < n && p + 2 <= size; i++, p += 2) {
        x = Math.max(0, Math.min(65535, x + rng.int(40) - 15));
        v.setUint16(p, x, true);
      }
    }
  }
  return out;
}
