/**
 * Layering lint: enforces the dependency direction of ARCHITECTURE.md section 1.
 *
 *   renderer → shared ← electron/host → firmware → shared
 *   electron/main → electron/host, shared, 'electron'
 *   electron/preload → shared, 'electron'
 *
 * shared/ stays platform-free (no Node built-ins, no Electron, no serialport; the DOM is kept out
 * by tsconfig.shared.json, which has no DOM lib). Only electron/main and electron/preload may import
 * 'electron'. Nothing outside renderer/ imports renderer/, and nothing imports electron/main.
 * Within electron/host, services never import the CLI: electron/host/cli/ imports the rest of the
 * host, never the other way round (the app and the CLI call the same services).
 *
 * Usage: tsx scripts/lint-layers.ts [ROOT]   (exit 1 and one line per violation when broken)
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export type Layer = 'shared' | 'renderer' | 'firmware' | 'electron/host' | 'electron/main' | 'electron/preload' | 'tests' | 'scripts' | 'other';

export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

const LAYER_DIRS: Array<[string, Layer]> = [
  ['shared/', 'shared'],
  ['renderer/', 'renderer'],
  ['firmware/', 'firmware'],
  ['electron/host/', 'electron/host'],
  ['electron/main/', 'electron/main'],
  ['electron/preload/', 'electron/preload'],
  ['tests/', 'tests'],
  ['scripts/', 'scripts'],
];

/** Packages that are pure JavaScript and run unchanged in Node and in a browser. */
const PLATFORM_FREE_PACKAGES = new Set(['zod', 'fflate', '@noble/curves', '@noble/hashes']);
/** What the renderer may import besides shared/ and itself. */
const RENDERER_PACKAGES = new Set([...PLATFORM_FREE_PACKAGES, 'react', 'react-dom', 'uplot']);

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export function layerOf(relPath: string): Layer {
  const p = relPath.split(path.sep).join('/');
  for (const [prefix, layer] of LAYER_DIRS) if (p.startsWith(prefix)) return layer;
  return 'other';
}

/** The CLI inside the host: electron/host/cli/ (the folder, or a file in it). */
function isHostCli(relPath: string): boolean {
  const p = relPath.split(path.sep).join('/');
  return p === 'electron/host/cli' || p.startsWith('electron/host/cli/');
}

function packageName(spec: string): string {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/');
  return spec.split('/')[0]!;
}

/** Checks one file's imports. `relPath` is relative to the repository root, with '/' separators. */
export function checkFile(relPath: string, text: string): Violation[] {
  const from = layerOf(relPath);
  if (from === 'tests' || from === 'scripts' || from === 'other') return [];
  const info = ts.preProcessFile(text, true, true);
  const specs = info.importedFiles.map((f) => f.fileName);
  const out: Violation[] = [];
  const bad = (specifier: string, rule: string) => out.push({ file: relPath, specifier, rule });

  for (const spec of specs) {
    if (spec.startsWith('.') || spec.startsWith('/')) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(relPath), spec));
      const to = layerOf(target);
      if (to === 'renderer' && from !== 'renderer') bad(spec, 'only renderer/ may import renderer/');
      else if (to === 'electron/main' && from !== 'electron/main') bad(spec, 'nothing imports electron/main');
      else if (to === 'electron/preload' && from !== 'electron/preload') bad(spec, 'nothing imports electron/preload');
      else if (from === 'shared' && to !== 'shared') bad(spec, 'shared/ imports only shared/');
      else if (from === 'renderer' && to !== 'renderer' && to !== 'shared') bad(spec, 'renderer/ imports only renderer/ and shared/');
      else if (from === 'firmware' && to !== 'firmware' && to !== 'shared') bad(spec, 'firmware/ imports only firmware/ and shared/');
      else if (from === 'electron/host' && !['electron/host', 'firmware', 'shared'].includes(to))
        bad(spec, 'electron/host imports only electron/host, firmware/ and shared/');
      else if (from === 'electron/host' && isHostCli(target) && !isHostCli(relPath))
        bad(spec, 'host services never import the CLI: only electron/host/cli/ imports electron/host/cli/');
      else if (from === 'electron/preload' && to !== 'shared' && to !== 'electron/preload')
        bad(spec, 'electron/preload imports only shared/ (it runs sandboxed)');
      else if (from === 'electron/main' && !['electron/main', 'electron/host', 'shared'].includes(to))
        bad(spec, 'electron/main imports only electron/host and shared/');
      continue;
    }
    const pkg = packageName(spec);
    if (pkg === 'electron') {
      if (from !== 'electron/main' && from !== 'electron/preload') bad(spec, "only electron/main and electron/preload may import 'electron'");
      continue;
    }
    if (from === 'shared') {
      if (BUILTINS.has(spec) || BUILTINS.has(pkg)) bad(spec, 'shared/ must not use Node built-ins');
      else if (!PLATFORM_FREE_PACKAGES.has(pkg)) bad(spec, `shared/ may use only platform-free packages (${[...PLATFORM_FREE_PACKAGES].join(', ')})`);
    } else if (from === 'renderer') {
      if (BUILTINS.has(spec) || BUILTINS.has(pkg)) bad(spec, 'renderer/ must not use Node built-ins');
      else if (!RENDERER_PACKAGES.has(pkg) && !spec.startsWith('uplot/')) bad(spec, `renderer/ may use only ${[...RENDERER_PACKAGES].join(', ')}`);
    } else if (from === 'electron/preload') {
      bad(spec, "electron/preload may import only 'electron' and shared/");
    }
  }
  return out;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = path.join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) yield* walk(full);
    else if (/\.(m|c)?tsx?$/.test(name) && !name.endsWith('.d.ts')) yield full;
  }
}

export function checkTree(root: string): Violation[] {
  const out: Violation[] = [];
  for (const top of ['shared', 'renderer', 'firmware', 'electron']) {
    const dir = path.join(root, top);
    try {
      statSync(dir);
    } catch {
      continue;
    }
    for (const file of walk(dir)) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      out.push(...checkFile(rel, readFileSync(file, 'utf8')));
    }
  }
  return out;
}

/** `npm run lint` on a tree: prints each violation and returns the exit code (1 on any violation). */
export function lintTree(root: string, print: { out(line: string): void; err(line: string): void } = { out: console.log, err: console.error }): number {
  const violations = checkTree(root);
  for (const v of violations) print.err(`${v.file}: import '${v.specifier}': ${v.rule}`);
  if (violations.length > 0) {
    print.err(`layering: ${violations.length} violation(s)`);
    return 1;
  }
  print.out('layering: ok');
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = lintTree(path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
}
