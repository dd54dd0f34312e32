/**
 * Flash benchmark: a signed firmware image flashed to the simulated board over a real
 * pseudo-terminal with the native protocol (serialport on the host, the board pacing its line and
 * its flash at datasheet timing), with and without compression, at 115200 and 921600 baud.
 * Headline: payload rate during the upload = image bytes ÷ upload seconds, as a ratio to the line
 * rate (baud / 10). Also the erase-ahead time and the end-to-end time (checks, erase, upload,
 * read-back hash, test-boot swap, confirm). Targets: ≥ 1.0 × line rate with compression on a
 * typical image, ≥ 0.9 without.
 * Run: npm run bench -- flash
 */
import { deflateSync } from 'fflate';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSim } from '../../firmware/sim/run.js';
import { syntheticApplication } from '../../firmware/sim/boot/app-image.js';
import { openNativeTarget } from '../../electron/host/flasher/native-backend.js';
import { flashImage } from '../../electron/host/flasher/flasher.js';
import { parsePrivateKeyPem, signImage } from '../../shared/image/index.js';

interface Row {
  baud: number;
  compress: boolean;
  imageBytes: number;
  deflateRatio: number;
  eraseSeconds: number;
  uploadSeconds: number;
  totalSeconds: number;
  payloadBytesPerSecond: number;
  lineBytesPerSecond: number;
  ratioToLine: number;
  target: number;
  met: boolean;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function measure(baud: number, compress: boolean, size: number): Promise<Row> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'psflashbench-'));
  const sim = await runSim({ pty: true, baud, seed: 11, stateDir: dir });
  try {
    const key = parsePrivateKeyPem(readFileSync(path.join(dir, 'firmware-signing-key.pem'), 'utf8'));
    const payload = syntheticApplication(size, 42, 'benchmark application');
    const image = signImage({ payload, version: { major: 2, minor: 0, revision: 0, build: 1 }, key, securityCounter: 2, boardId: sim.board.identity.boardId });
    const opened = await openNativeTarget(sim.path!, { baud });
    try {
      // Warm-up update, so the secondary slot holds the previous image (as on a board in service)
      // and the measured update has to erase it.
      const warm = signImage({
        payload: syntheticApplication(16 * 1024, 7),
        version: { major: 1, minor: 5, revision: 0, build: 0 },
        key,
        securityCounter: 1,
        boardId: sim.board.identity.boardId,
      });
      await flashImage(opened.target, warm, { compress: true, confirm: true });
      const r = await flashImage(opened.target, image, { compress, confirm: true });
      if (r.outcome !== 'installed-confirmed' || r.status.runningVersion !== '2.0.0+1') throw new Error(`flash did not complete: ${r.outcome}`);
      const line = baud / 10;
      const ratio = r.payloadRate / line;
      const target = compress ? 1.0 : 0.9;
      return {
        baud,
        compress,
        imageBytes: image.length,
        deflateRatio: Math.round((deflateSync(image).length / image.length) * 1000) / 1000,
        eraseSeconds: Math.round(r.eraseSeconds * 1000) / 1000,
        uploadSeconds: Math.round(r.uploadSeconds * 1000) / 1000,
        totalSeconds: Math.round(r.seconds * 1000) / 1000,
        payloadBytesPerSecond: Math.round(r.payloadRate),
        lineBytesPerSecond: line,
        ratioToLine: Math.round(ratio * 1000) / 1000,
        target,
        met: ratio >= target,
      };
    } finally {
      await opened.close();
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const [baud, size] of [
  [115200, 64 * 1024],
  [921600, 192 * 1024],
] as const) {
  for (const compress of [false, true]) rows.push(await measure(baud, compress, size));
}

console.log('| baud | compression | image bytes | deflate ratio | erase s | upload s | end-to-end s | payload B/s | line B/s | ratio to line | target | met |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${r.baud} | ${r.compress ? 'deflate' : 'off'} | ${r.imageBytes} | ${r.deflateRatio} | ${r.eraseSeconds} | ${r.uploadSeconds} | ${r.totalSeconds} | ${r.payloadBytesPerSecond} | ${r.lineBytesPerSecond} | ${r.ratioToLine} | ≥ ${r.target} | ${r.met ? 'yes' : 'NO'} |`,
  );
}
const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
console.log(
  `\nFlash timing: W25Q64-class datasheet figures (45 ms 4 KiB sector erase, 150 ms 64 KiB block erase, 0.4 ms page program). End-to-end includes the test-boot swap and confirm. Load average: ${load.join(', ')} on ${os.cpus().length} CPUs.`,
);
const out = path.join(root, 'tests/artifacts/bench');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'flash.json.tmp'), JSON.stringify({ bench: 'flash', date: new Date().toISOString(), loadAverage: load, rows }, null, 2) + '\n');
renameSync(path.join(out, 'flash.json.tmp'), path.join(out, 'flash.json'));
process.exit(0);
