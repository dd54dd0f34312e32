// Whether the CLI bundle in dist/cli may run instead of the TypeScript sources: only when every
// source file it was built from has the size and modification time the build recorded
// (packaging/build-cli.mjs writes them to dist/cli/inputs.json, last). After an edit, a checkout or
// a pull, the sources run through tsx until the next `npm run build`: a stale bundle never runs.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's entry file when it matches the sources under root, else null. */
export function freshBundle(root = ROOT) {
  const dir = path.join(root, 'dist/cli');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
  } catch {
    return null;
  }
  const inputs = Object.entries(manifest?.inputs ?? {});
  if (typeof manifest?.entry !== 'string' || inputs.length === 0) return null;
  for (const [file, recorded] of inputs) {
    if (!Array.isArray(recorded)) return null;
    const [size, mtimeMs] = recorded;
    let st;
    try {
      st = statSync(path.join(root, file));
    } catch {
      return null;
    }
    if (st.size !== size || st.mtimeMs !== mtimeMs) return null;
  }
  const entry = path.join(dir, manifest.entry);
  return existsSync(entry) ? entry : null;
}
