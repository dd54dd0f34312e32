import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFile, checkTree, lintTree } from '../../scripts/lint-layers.js';

const repoRoot = path.resolve(__dirname, '../..');

/** What `npm run lint` (scripts/lint-layers.ts) does on a tree: its exit code and what it prints to stderr. */
function lint(root: string): { status: number; stderr: string } {
  const err: string[] = [];
  const status = lintTree(root, { out: () => undefined, err: (l) => err.push(l) });
  return { status, stderr: err.join('\n') };
}

describe('layering lint', () => {
  it('passes on the repository as it is', () => {
    expect(checkTree(repoRoot)).toEqual([]);
  });

  it.each([
    ['shared/x.ts', "import { readFileSync } from 'node:fs';", 'Node built-ins'],
    ['shared/x.ts', "import fs from 'fs';", 'Node built-ins'],
    ['shared/x.ts', "import { SerialPort } from 'serialport';", 'platform-free'],
    ['shared/x.ts', "import { app } from 'electron';", "'electron'"],
    ['shared/x.ts', "import { run } from '../electron/host/cli/main.js';", 'shared/ imports only shared/'],
    ['electron/host/x.ts', "import { app } from 'electron';", "'electron'"],
    ['firmware/sim/x.ts', "const e = require('electron');", "'electron'"],
    ['renderer/x.tsx', "import { host } from '../electron/host/index.js';", 'renderer/ imports only'],
    ['renderer/x.tsx', "import path from 'node:path';", 'Node built-ins'],
    ['electron/host/x.ts', "import { App } from '../../renderer/App.js';", 'only renderer/'],
    ['firmware/x.ts', "import { x } from '../electron/host/y.js';", 'firmware/ imports only'],
    ['electron/host/x.ts', "const m = await import('../main/main.js');", 'electron/main'],
    ['electron/host/flasher/x.ts', "import type { CliContext } from '../cli/context.js';", 'host services never import the CLI'],
    ['electron/host/can/x.ts', "import { numberOption } from '../cli/context.js';", 'host services never import the CLI'],
    ['electron/host/x.ts', "const m = await import('./cli/main.js');", 'host services never import the CLI'],
    ['electron/host/api/x.ts', "const { EXIT } = require('../cli/exit-codes.js');", 'host services never import the CLI'],
  ])('rejects %s: %s', (file, text, rule) => {
    const v = checkFile(file, text);
    expect(v.length).toBe(1);
    expect(v[0]!.rule).toContain(rule);
  });

  it.each([
    ['shared/x.ts', "import { z } from 'zod'; import { a } from './a.js';"],
    ['electron/main/x.ts', "import { app } from 'electron'; import { h } from '../host/h.js';"],
    ['electron/host/x.ts', "import { Board } from '../../firmware/sim/board.js'; import fs from 'node:fs';"],
    ['renderer/x.tsx', "import React from 'react'; import { api } from '../shared/api/contract.js';"],
    ['electron/host/cli/commands/x.ts', "import { EXIT } from '../exit-codes.js'; import { runFlashJob } from '../../flasher/flash-backends.js';"],
  ])('accepts %s', (file, text) => {
    expect(checkFile(file, text)).toEqual([]);
  });

  it('fails the build (exit 1) on a deliberate violation in a tree', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'packscope-lint-'));
    try {
      mkdirSync(path.join(dir, 'shared'), { recursive: true });
      writeFileSync(path.join(dir, 'shared', 'bad.ts'), "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
      const { status, stderr } = lint(dir);
      expect(status).toBe(1);
      expect(stderr).toContain('shared/bad.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the build (exit 1) when a host service imports the CLI', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'packscope-lint-'));
    try {
      mkdirSync(path.join(dir, 'electron', 'host', 'cli'), { recursive: true });
      mkdirSync(path.join(dir, 'electron', 'host', 'flasher'), { recursive: true });
      writeFileSync(path.join(dir, 'electron', 'host', 'cli', 'context.ts'), 'export interface CliContext { signal: AbortSignal }\n');
      // The CLI may use a service; the service may not use the CLI.
      writeFileSync(path.join(dir, 'electron', 'host', 'cli', 'flash.ts'), "import { flash } from '../flasher/backend.js';\nexport const run = flash;\n");
      writeFileSync(
        path.join(dir, 'electron', 'host', 'flasher', 'backend.ts'),
        "import type { CliContext } from '../cli/context.js';\nexport const flash = (ctx: CliContext) => ctx.signal;\n",
      );
      const { status, stderr } = lint(dir);
      expect(status).toBe(1);
      expect(stderr).toContain("electron/host/flasher/backend.ts: import '../cli/context.js': host services never import the CLI");
      expect(stderr).not.toContain('electron/host/cli/flash.ts');
      expect(stderr).toContain('layering: 1 violation(s)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
