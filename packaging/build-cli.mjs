// Bundles the CLI for Node: dist/cli/packscope.mjs (ESM), with one chunk per command so that a
// command still loads only its own code. Packages stay external (serialport's native binding, ws,
// zod and the rest are resolved from node_modules at run time, as from the sources). PackScope
// finds its package.json and dist/renderer by walking up from the running file, and the simulator's
// pty relay is inline Python, so nothing else has to sit beside the bundle.
//
// dist/cli/inputs.json records the size, modification time and SHA-256 of every source file that
// went into the bundle, as they were before esbuild read them, and an id of this build.
// bin/packscope.mjs runs the bundle only while all of them still hold those bytes
// (bin/cli-bundle.mjs); an edited source makes it run the sources.
import { build } from 'esbuild';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');
const entry = 'packscope.mjs';

/** Every file the CLI could import from, as esbuild names them (relative to the root, with '/'). */
function* sources(dir) {
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) yield* sources(rel);
    else yield rel;
  }
}

// Taken before the build: a file edited while esbuild runs no longer matches, so the bundle is not trusted.
const before = new Map();
for (const top of ['electron', 'firmware', 'shared']) {
  for (const file of sources(top)) {
    const full = path.join(root, file);
    const st = statSync(full);
    before.set(file, [st.size, st.mtimeMs, createHash('sha256').update(readFileSync(full)).digest('hex')]);
  }
}

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  stdin: {
    contents: "import { main } from './electron/host/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
    resolveDir: root,
    sourcefile: 'packscope-cli-entry.ts',
    loader: 'ts',
  },
  bundle: true,
  outdir,
  entryNames: 'packscope',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const inputs = {};
for (const file of Object.keys(result.metafile.inputs)) {
  if (file === 'packscope-cli-entry.ts') continue;
  const recorded = before.get(file);
  if (!recorded) throw new Error(`build-cli: ${file} went into the bundle but is not among the sources listed before the build`);
  inputs[file] = recorded;
}
// Written last: an interrupted build leaves no manifest, and so no bundle that bin/packscope.mjs would run.
writeFileSync(path.join(outdir, 'inputs.json'), JSON.stringify({ entry, build: randomBytes(8).toString('hex'), inputs }) + '\n');
console.log(`cli: dist/cli/${entry} (${Object.keys(inputs).length} source files)`);
