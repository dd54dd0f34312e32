import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFile, checkTree } from '../../scripts/lint-layers.js';

const repoRoot = path.resolve(__dirname, '../..');

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
  ])('accepts %s', (file, text) => {
    expect(checkFile(file, text)).toEqual([]);
  });

  it('fails the build (exit 1) on a deliberate violation in a tree', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'packscope-lint-'));
    try {
      mkdirSync(path.join(dir, 'shared'), { recursive: true });
      writeFileSync(path.join(dir, 'shared', 'bad.ts'), "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
      let status = 0;
      let stderr = '';
      try {
        execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/lint-layers.ts'), dir], { stdio: 'pipe' });
      } catch (e) {
        const err = e as { status: number; stderr: Buffer };
        status = err.status;
        stderr = err.stderr.toString();
      }
      expect(status).toBe(1);
      expect(stderr).toContain('shared/bad.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
