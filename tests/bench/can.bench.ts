/**
 * CAN: UDS flashing through an SLCAN adapter on the simulated bus at 500 kbit/s, over a real pty.
 * A 256 KiB signed image goes through the full flasher (programming session, seed/key, erase,
 * request download honouring maxNumberOfBlockLength, transfer data, exit, dependency check,
 * test boot). The figure that matters: payload bytes/s during the transfer ÷ the ISO-TP ceiling
 * at the bus bitrate (7 payload bytes per 111-bit frame = 31.5 kB/s at 500 kbit/s). Target ≥ 0.8.
 * Also: codec throughput of the SLCAN line decoder and the ISO-TP reassembly.
 * Figures go to tests/artifacts/bench/can.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { isoTpCeiling, nominalFrameBits } from '../../shared/can/bittime.js';
import { dataFrame } from '../../shared/can/frame.js';
import { SlcanLineSplitter, decodeReply, encodeReply } from '../../shared/can/slcan.js';
import { parsePrivateKeyPem, signImage } from '../../shared/image/index.js';
import { runSim } from '../../firmware/sim/run.js';
import { SIGNING_KEY_FILE } from '../../firmware/sim/boot/firmware-store.js';
import type { SlcanPersonality } from '../../firmware/sim/can/index.js';
import { closeCanChannel, openCanChannel } from '../../electron/host/can/open.js';
import { UdsClient } from '../../electron/host/can/uds-client.js';
import { UdsFirmwareTarget } from '../../electron/host/can/uds-target.js';
import { flashImage } from '../../electron/host/flasher/flasher.js';

const BITRATE = 500_000;
const IMAGE_BYTES = 256 * 1024;
type Row = Record<string, string | number>;
const out: { codec: Row[]; flash: Row[] } = { codec: [], flash: [] };

// 1. SLCAN decode throughput (adapter → host lines, 8-byte frames).
{
  const line = encodeReply({ kind: 'frame', frame: dataFrame(0x7e8, [0x21, 1, 2, 3, 4, 5, 6, 7]) });
  const n = 200_000;
  const stream = new Uint8Array(line.length * n);
  for (let i = 0; i < n; i++) stream.set(line, i * line.length);
  let frames = 0;
  const s = new SlcanLineSplitter(
    decodeReply,
    () => frames++,
    () => undefined,
    () => undefined,
  );
  const t0 = performance.now();
  for (let i = 0; i < stream.length; i += 4096) s.push(stream.subarray(i, i + 4096));
  const sec = (performance.now() - t0) / 1000;
  out.codec.push({
    codec: 'SLCAN line decode',
    frames,
    'frames/s': Math.round(frames / sec),
    'ratio to 1 Mbit/s bus (8 kfr/s)': +(frames / sec / (1e6 / nominalFrameBits({ extended: false, remote: false, dlc: 8 }))).toFixed(1),
  });
}

// 2. UDS flash of a 256 KiB image over the pty, three times (each confirmed, so the next one is
// accepted); the machine may be shared, so every run is listed and the best and median reported.
const RUNS = 3;
const dir = mkdtempSync(path.join(tmpdir(), 'ps-can-bench-'));
const sim = await runSim({ personality: 'slcan', pty: true, seed: 5, stateDir: dir });
try {
  const key = parsePrivateKeyPem(readFileSync(path.join(dir, SIGNING_KEY_FILE), 'utf8'));
  const boardId = sim.board.identity.boardId;
  const channel = await openCanChannel(sim.path!, { bitrate: BITRATE });
  const target = new UdsFirmwareTarget(new UdsClient(channel));
  const bus = (sim.personality as SlcanPersonality).bus;
  const ceiling = isoTpCeiling(BITRATE);
  for (let run = 1; run <= RUNS; run++) {
    const version = { major: 9, minor: run, revision: 0, build: 0 };
    const make = (n: number) =>
      signImage({ payload: new Uint8Array(n).map((_, i) => ((i + run) * 2654435761) >>> 24), version, key, securityCounter: 2, boardId });
    let image = make(IMAGE_BYTES - 1024);
    image = make(IMAGE_BYTES - 1024 + (IMAGE_BYTES - image.length)); // exactly 256 KiB, header and TLVs included
    const busBefore = { ...bus.stats };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let uploadStart = 0;
    let uploadEnd = 0;
    const report = await flashImage(target, image, {
      confirm: true,
      onProgress: (p) => {
        if (p.phase !== 'upload') return;
        if (p.done === 0) uploadStart = performance.now();
        if (p.done === p.total) uploadEnd = performance.now();
      },
    });
    const total = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const uploadSec = (uploadEnd - uploadStart) / 1000;
    const rate = image.length / uploadSec;
    const busFrames = bus.stats.frames - busBefore.frames;
    const busBits = bus.stats.bits - busBefore.bits;
    out.flash.push({
      run,
      image: `${image.length} B`,
      outcome: report.outcome,
      'transfer s': +uploadSec.toFixed(2),
      'payload B/s': Math.round(rate),
      'ISO-TP ceiling B/s': Math.round(ceiling),
      'ratio to ceiling': +(rate / ceiling).toFixed(3),
      'block payload B': target.blockPayload,
      'bus frames': busFrames,
      'avg bits/frame (stuffing incl.)': +(busBits / busFrames).toFixed(1),
      'whole flash s (erase+transfer+verify+swap+confirm)': +total.toFixed(1),
      'CPU s (host+sim process)': +((cpu.user + cpu.system) / 1e6).toFixed(1),
      'load avg': os.loadavg()[0]!.toFixed(1),
    });
  }
  await closeCanChannel(channel);
} finally {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
}

function table(rows: Row[]): string {
  const cols = Object.keys(rows[0]!);
  return [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`)].join('\n');
}
console.log('### SLCAN codec\n\n' + table(out.codec) + '\n');
console.log(`### UDS flash over SLCAN at ${BITRATE / 1000} kbit/s (target: ratio ≥ 0.8)\n\n` + table(out.flash));
const artifacts = path.resolve(import.meta.dirname, '../artifacts/bench');
mkdirSync(artifacts, { recursive: true });
const file = path.join(artifacts, 'can.json');
const ratios = out.flash.map((r) => r['ratio to ceiling'] as number).sort((a, b) => a - b);
const summary = { best: ratios[ratios.length - 1]!, median: ratios[Math.floor(ratios.length / 2)]!, target: 0.8 };
console.log(`\nratio to the ISO-TP ceiling: best ${summary.best}, median ${summary.median} (target ≥ ${summary.target})`);
writeFileSync(file + '.tmp', JSON.stringify({ bitrate: BITRATE, ...out, summary }, null, 2));
renameSync(file + '.tmp', file);
if (summary.best < summary.target) process.exitCode = 1;
