import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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
      return [f, [st.size, st.mtimeMs]];
    }),
  );
  writeFileSync(path.join(root, 'dist/cli/inputs.json'), JSON.stringify({ entry: 'packscope.mjs', inputs }));
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

  it('the sources once one of them is touched, with the same bytes', () => {
    const { root } = made();
    const file = path.join(root, 'shared/a.ts');
    const later = new Date(statSync(file).mtimeMs + 5000);
    utimesSync(file, later, later);
    expect(freshBundle(root)).toBeNull();
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
