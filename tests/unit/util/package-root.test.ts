import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot, packageVersion } from '../../../electron/host/util/package-root.js';

describe("PackScope's own folder", () => {
  it("is the folder of the package.json named packscope, and its version is that file's", () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    expect(packageRoot()).toBe(root);
    expect(packageVersion()).toBe((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
