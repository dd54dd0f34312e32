import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { dir: string; version: string } | undefined;

/**
 * PackScope's own folder and version, found by walking up from this module to the package.json
 * named "packscope". The same code runs from the TypeScript sources (electron/host/util), from
 * the CLI bundle (dist/cli and its chunks) and from the Electron main bundle (dist/electron/main
 * and its chunks, inside the app's asar when packaged), so no fixed number of '..' fits them all.
 */
function find(): { dir: string; version: string } {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'packscope' && typeof pkg.version === 'string') return (cached = { dir, version: pkg.version });
    } catch {
      // No package.json here, or not one that parses: keep walking up.
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`PackScope's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The folder holding PackScope's package.json (the checkout, or the installed package). */
export function packageRoot(): string {
  return find().dir;
}

/** The version in PackScope's package.json. */
export function packageVersion(): string {
  return find().version;
}
