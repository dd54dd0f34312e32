#!/usr/bin/env node
// `npm start`: launches the PackScope desktop app (Electron). Builds the app when it has not been
// built, fetches the Electron binary when it is missing and the network allows, and otherwise says
// exactly what to do, including the browser alternative (`npx packscope serve`), which needs no
// Electron at all.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// PACKSCOPE_ELECTRON_DIR points at another electron package (tests of this script).
const electronDir = process.env.PACKSCOPE_ELECTRON_DIR ?? path.join(root, 'node_modules', 'electron');
const say = (line) => process.stderr.write(`packscope: ${line}\n`);

function electronBinary() {
  const pathTxt = path.join(electronDir, 'path.txt');
  if (!existsSync(pathTxt)) return null;
  const bin = path.join(electronDir, 'dist', readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

function explainMissing(detail) {
  say(`the Electron binary is not installed${detail ? ` (${detail})` : ''}.`);
  say('To install it where the network allows:');
  say('    npx install-electron          (downloads the binary matching node_modules/electron)');
  say('  behind a proxy or mirror, set ELECTRON_MIRROR or HTTPS_PROXY first (see README, "Desktop app").');
  say('Where Electron cannot be installed, run the same app in a browser instead:');
  say('    npx packscope serve --open');
}

if (!existsSync(electronDir)) {
  explainMissing("the 'electron' package is absent; run 'npm install'");
  process.exit(1);
}

// 1. The built app.
const built = ['dist/electron/main/main.js', 'dist/electron/preload/preload.cjs', 'dist/renderer/index.html'].every((f) => existsSync(path.join(root, f)));
if (!built) {
  say('building the app first (npm run build)…');
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say('the build failed; see the messages above.');
    process.exit(r.status ?? 1);
  }
}

// 2. The Electron binary: fetched lazily (npm 11 holds install scripts back, and Electron 45
//    downloads on first use anyway).
let bin = electronBinary();
if (!bin) {
  say('fetching the Electron binary (npx install-electron)…');
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: root, stdio: 'inherit', timeout: 10 * 60_000 });
  bin = electronBinary();
  if (!bin) {
    explainMissing(r.error ? r.error.message : r.status ? `the download failed with exit code ${r.status}` : 'the download did not produce it');
    process.exit(1);
  }
}

if (process.platform === 'linux' && process.getuid?.() === 0) {
  say('Electron will not run as root with its sandbox on, and PackScope does not turn the sandbox off.');
  say('Run `npm start` as your normal user (serial access: see README, "Serial port permissions"), or use `npx packscope serve`.');
  process.exit(1);
}

// 3. Run it; files named on the command line (.psdiag, .pslog) open on their screens.
const child = spawn(bin, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_RUN_AS_NODE: '' } });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
child.on('error', (e) => {
  say(`cannot start Electron: ${e.message}`);
  process.exit(1);
});
