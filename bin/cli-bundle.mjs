// Whether the CLI bundle in dist/cli may run instead of the TypeScript sources: only when every
// source file it was built from holds the bytes the build read (packaging/build-cli.mjs records
// size, modification time and SHA-256 of each in dist/cli/inputs.json, last). After an edit, a
// checkout or a pull, the sources run through tsx until the next build: a stale bundle never runs.
//
// Reading every source at each start would cost more than the rest of `packscope --version`, so
// the content is hashed only for files whose modification time differs from the one recorded
// (an installed package: npm gives every file the time it was unpacked). Once such files have
// been found equal, their stats are kept in dist/cli/stat-cache.json (when the folder is
// writable), so the next start is back to one stat per file.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAT_CACHE = 'stat-cache.json';

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function stat(file) {
  try {
    return statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

function sha256(file) {
  // Loaded only when a file has to be hashed: most starts never need node:crypto.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The bundle's entry file when it matches the sources under root, else null. */
export function freshBundle(root = ROOT) {
  const dir = path.join(root, 'dist/cli');
  const manifest = readJson(path.join(dir, 'inputs.json'));
  const inputs = Object.entries(manifest?.inputs ?? {});
  if (typeof manifest?.entry !== 'string' || inputs.length === 0) return null;
  const entry = path.join(dir, manifest.entry);
  if (!stat(entry)?.isFile()) return null;
  const cache = readJson(path.join(dir, STAT_CACHE));
  // The cache speaks only for the build it was written after.
  const cached = cache?.build === manifest.build && cache?.files && typeof cache.files === 'object' ? cache.files : {};
  const seen = {};
  let hashed = 0;
  for (const [file, recorded] of inputs) {
    if (!Array.isArray(recorded)) return null;
    const [size, mtimeMs, hash] = recorded;
    const st = stat(path.join(root, file));
    if (!st || st.size !== size) return null;
    seen[file] = st.mtimeMs;
    if (st.mtimeMs === mtimeMs || cached[file] === st.mtimeMs) continue;
    // Same size, another time: same bytes only if the hash says so (older manifests record none).
    if (typeof hash !== 'string' || sha256(path.join(root, file)) !== hash) return null;
    hashed++;
  }
  if (hashed > 0) {
    try {
      const tmp = path.join(dir, `${STAT_CACHE}.${process.pid}.tmp`);
      writeFileSync(tmp, JSON.stringify({ build: manifest.build, files: seen }));
      renameSync(tmp, path.join(dir, STAT_CACHE));
    } catch {
      // A read-only installation hashes again next time; the answer is the same.
    }
  }
  return entry;
}
