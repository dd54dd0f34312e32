/**
 * Writes packages as ZIP with fflate: regular files only (Unix mode 0644), a fixed timestamp so
 * the archive bytes depend on the content alone, and names in sorted order.
 */
import { zipSync, type Zippable } from 'fflate';

/** 2000-01-01: ZIP (DOS) timestamps start in 1980; the exact value only has to be constant. */
const FIXED_MTIME = Date.UTC(2000, 0, 1);

export function writeZip(files: ReadonlyMap<string, Uint8Array>, options: { level?: 0 | 6 | 9 } = {}): Uint8Array {
  const tree: Zippable = {};
  for (const name of [...files.keys()].sort()) {
    const data = files.get(name)!;
    // Already-compressed photos are stored; everything else is deflated.
    const stored = /\.(jpe?g|png|webp|gif|heic|zip|psdiag)$/i.test(name);
    tree[name] = [data, { level: stored ? 0 : (options.level ?? 6), mtime: FIXED_MTIME, os: 3, attrs: (0o100644 << 16) >>> 0 }];
  }
  return zipSync(tree);
}
