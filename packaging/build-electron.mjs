// Bundles the Electron shell: main (ESM, node_modules left external: electron, serialport's
// native binding, ws, zod are resolved at run time from the app's node_modules/asar) and the
// sandboxed preload (one CommonJS file: a sandboxed preload can require only 'electron').
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, sourcemap: false, logLevel: 'warning', absWorkingDir: root, legalComments: 'none' };

await build({
  ...common,
  entryPoints: { main: 'electron/main/main.ts' },
  outdir: 'dist/electron/main',
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...common,
  entryPoints: ['electron/preload/preload.ts'],
  outfile: 'dist/electron/preload/preload.cjs',
  format: 'cjs',
  platform: 'browser',
  target: 'chrome130',
  external: ['electron'],
  minify: true,
});
console.log('electron: dist/electron/main/main.js, dist/electron/preload/preload.cjs');
