import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freshBundle } from '../../../bin/cli-bundle.mjs';

/** A checkout in a temporary folder: two sources, and a bundle built from them as they are now. */
function checkout(): { root: string; entry: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ps-cli-bundle-'));
  mkdirSync(path.join(root, 'shared'), { recursive: true });
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  writeFileSync(path.join(root, 'shared/a.ts'), 'export const a = 1;\n');
  writeFileSync(path.join(root, 'shared/b.ts'), 'export const b = 2;\n');
  const entry = path.join(root, 'dist/cli/packscope.mjs');
  writeFileSync(entry, '');
  const inputs = Object.fromEntries(
    ['shared/a.ts', 'shared/b.ts'].map((f) => {
      const st = statSync(path.join(root, f));
      return [
        f,
        [
          st.size,
          st.mtimeMs,
          createHash('sha256')
            .update(readFileSync(path.join(root, f)))
            .digest('hex'),
        ],
      ];
    }),
  );
  writeFileSync(path.join(root, 'dist/cli/inputs.json'), JSON.stringify({ entry: 'packscope.mjs', build: 'b1', inputs }));
  return { root, entry };
}

const roots: string[] = [];
function made(): { root: string; entry: string } {
  const c = checkout();
  roots.push(c.root);
  return c;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('which CLI bin/packscope.mjs runs', () => {
  it('the bundle, while every source it was built from has the recorded size and modification time', () => {
    const { root, entry } = made();
    expect(freshBundle(root)).toBe(entry);
  });

  it('the sources once one of them is edited; an edit that changes its size even with its old modification time put back', () => {
    const { root } = made();
    const file = path.join(root, 'shared/b.ts');
    const { atime, mtime } = statSync(file);
    writeFileSync(file, 'export const b = 22;\n');
    expect(freshBundle(root)).toBeNull();
    utimesSync(file, atime, mtime);
    expect(freshBundle(root)).toBeNull();
  });

  it('the bundle when a source is touched with the same bytes; the sources once its bytes differ at the same size', () => {
    const { root, entry } = made();
    const file = path.join(root, 'shared/a.ts');
    const later = new Date(statSync(file).mtimeMs + 5000);
    utimesSync(file, later, later);
    expect(freshBundle(root)).toBe(entry);
    writeFileSync(file, 'export const a = 7;\n');
    expect(freshBundle(root)).toBeNull();
  });

  it('the bundle in an installed package, where every file has another time: hashed once, then stats against the cache', () => {
    const { root, entry } = made();
    const unpacked = new Date(Date.now() + 60_000);
    for (const f of ['shared/a.ts', 'shared/b.ts']) utimesSync(path.join(root, f), unpacked, unpacked);
    expect(freshBundle(root)).toBe(entry);
    const cache = JSON.parse(readFileSync(path.join(root, 'dist/cli/stat-cache.json'), 'utf8')) as { build: string; files: Record<string, number> };
    expect(cache.build).toBe('b1');
    expect(cache.files['shared/a.ts']).toBe(statSync(path.join(root, 'shared/a.ts')).mtimeMs);
    expect(freshBundle(root)).toBe(entry);
    // An edit after that (same size, a new time) is not hidden by the cache.
    writeFileSync(path.join(root, 'shared/b.ts'), 'export const b = 3;\n');
    expect(freshBundle(root)).toBeNull();
  });

  it('a cache written for another build speaks for nothing; a manifest without hashes trusts no other time', () => {
    const { root } = made();
    const file = path.join(root, 'shared/a.ts');
    const later = new Date(statSync(file).mtimeMs + 5000);
    utimesSync(file, later, later);
    writeFileSync(file, 'export const a = 9;\n');
    writeFileSync(path.join(root, 'dist/cli/stat-cache.json'), JSON.stringify({ build: 'other', files: { 'shared/a.ts': statSync(file).mtimeMs } }));
    expect(freshBundle(root)).toBeNull();
    const old = made();
    const manifest = JSON.parse(readFileSync(path.join(old.root, 'dist/cli/inputs.json'), 'utf8')) as { inputs: Record<string, unknown[]> };
    for (const v of Object.values(manifest.inputs)) v.pop();
    writeFileSync(path.join(old.root, 'dist/cli/inputs.json'), JSON.stringify(manifest));
    const touched = path.join(old.root, 'shared/b.ts');
    utimesSync(touched, later, later);
    expect(freshBundle(old.root)).toBeNull();
    expect(existsSync(path.join(old.root, 'dist/cli/stat-cache.json'))).toBe(false);
  });

  it('the sources when a source is gone, the bundle was never built, its build did not finish, or its record is unreadable', () => {
    const a = made();
    rmSync(path.join(a.root, 'shared/a.ts'));
    expect(freshBundle(a.root)).toBeNull();
    const b = made();
    rmSync(path.join(b.root, 'dist'), { recursive: true });
    expect(freshBundle(b.root)).toBeNull();
    // The manifest is written last; an entry file without it, or a manifest without the entry, is no bundle.
    const c = made();
    rmSync(path.join(c.root, 'dist/cli/inputs.json'));
    expect(freshBundle(c.root)).toBeNull();
    const d = made();
    rmSync(d.entry);
    expect(freshBundle(d.root)).toBeNull();
    const e = made();
    for (const manifest of ['{"entry":"packscope.mjs","inputs":{}}', 'null', '{"entry":"packscope.mjs","inputs":{"shared/a.ts":20}}', '{"entry":']) {
      writeFileSync(path.join(e.root, 'dist/cli/inputs.json'), manifest);
      expect(freshBundle(e.root), manifest).toBeNull();
    }
  });
});
