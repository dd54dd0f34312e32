/**
 * The whole `packscope flash --protocol uds` command, as a user runs it: a 250 KB signed image
 * onto the simulated board's UDS bootloader behind the simulated SLCAN adapter, over a real pty,
 * at 500 kbit/s, with --confirm. The CLI runs in its own process (bin/packscope.mjs, start-up
 * included); the board runs in this one. All times are wall-clock (performance.now around the
 * command; the command's own per-phase times from its --json report; the CLI's start-up from a
 * `packscope --version` just before).
 *
 * The figure: image bytes ÷ the whole command's wall time, as a ratio to the ISO-TP ceiling at the
 * bitrate (7 payload bytes per 111-bit frame = 31.5 kB/s at 500 kbit/s; shared/can/bittime.ts),
 * target ≥ 0.8, on the dual-bank ECU (the CAN ECU's default: the reset switches the boot bank).
 * For reference, the same command on an ECU whose bootloader swaps the images through a scratch
 * sector at the reset (MCUboot on SPI NOR): its flash time inside the reset is printed next to it.
 *
 * Run: npm run bench -- uds-flash   (UDS_FLASH_RUNS dual-bank runs, default 2; UDS_FLASH_SWAP_RUNS
 * swap runs, default 1). Writes tests/artifacts/bench/uds-flash.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isoTpCeiling } from '../../shared/can/bittime.js';
import { parsePrivateKeyPem, signImage } from '../../shared/image/index.js';
import { runSim } from '../../firmware/sim/run.js';
import { SIGNING_KEY_FILE } from '../../firmware/sim/boot/firmware-store.js';
import { boardFirmware } from '../../firmware/sim/can/flash-target.js';
import type { BootMode } from '../../firmware/sim/boot/bootloader.js';
import type { FlashPhases } from '../../electron/host/flasher/flasher.js';
import { freshBundle } from '../../bin/cli-bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BITRATE = 500_000;
const IMAGE_BYTES = 250_000;
const RUNS = Number(process.env.UDS_FLASH_RUNS ?? 2);
const SWAP_RUNS = Number(process.env.UDS_FLASH_SWAP_RUNS ?? 1);
const ceiling = isoTpCeiling(BITRATE);

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/packscope.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

type Row = Record<string, string | number>;
const rows: Row[] = [];

/** `packscope --version`: the CLI's own start-up, to tell it from the probe and the adapter's open/close. */
async function cliStartup(): Promise<number> {
  const t0 = performance.now();
  const r = await runCli(['--version']);
  if (r.code !== 0) throw new Error(`--version exited ${r.code}`);
  return (performance.now() - t0) / 1000;
}

/** `runs` whole flashes onto one simulated ECU whose bootloader starts images by `mode`. */
async function benchEcu(mode: BootMode, runs: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-uds-flash-bench-'));
  const sim = await runSim({ personality: 'slcan', pty: true, seed: 5, stateDir: dir, bootMode: mode });
  try {
    const key = parsePrivateKeyPem(readFileSync(path.join(dir, SIGNING_KEY_FILE), 'utf8'));
    const flash = (await boardFirmware(sim.board)).target.flash;
    // The board's flash busy time across its reset: a swap runs inside board.reset.
    let swapMs = 0;
    const reset = sim.board.reset.bind(sim.board);
    sim.board.reset = async (m) => {
      const before = flash.stats.busyMs;
      try {
        await reset(m);
      } finally {
        swapMs += flash.stats.busyMs - before;
      }
    };
    for (let run = 1; run <= runs; run++) {
      const version = { major: 9, minor: run, revision: 0, build: 0 };
      const make = (n: number) =>
        signImage({
          payload: new Uint8Array(n).map((_, i) => ((i + run) * 2654435761) >>> 24),
          version,
          key,
          securityCounter: 2,
          boardId: sim.board.identity.boardId,
        });
      let image = make(IMAGE_BYTES - 1024);
      image = make(IMAGE_BYTES - 1024 + (IMAGE_BYTES - image.length)); // exactly 250 000 bytes, header and TLVs included
      const file = path.join(dir, `image-${run}.img`);
      writeFileSync(file, image);
      const startup = await cliStartup();
      swapMs = 0;
      const t0 = performance.now();
      const r = await runCli(['flash', '--protocol', 'uds', '--port', sim.path!, file, '--confirm', '--json']);
      const wall = (performance.now() - t0) / 1000;
      if (r.code !== 0) throw new Error(`flash exited ${r.code}:\n${r.err.slice(-2000)}`);
      const swap = swapMs / 1000;
      const report = JSON.parse(r.out.trim().split('\n').pop()!) as { outcome: string; seconds: number; phases: FlashPhases; bytesTotal: number };
      const p = report.phases;
      const inFlasher = Object.values(p).reduce((a, b) => a + b, 0);
      rows.push({
        ECU: mode,
        run,
        outcome: report.outcome,
        'CLI start-up (--version) s': +startup.toFixed(2),
        'probe, adapter open/close s': +Math.max(0, wall - inFlasher - startup).toFixed(2),
        'status reads s': +p.status.toFixed(2),
        'checks+erase s': +p.begin.toFixed(2),
        'upload s': +p.upload.toFixed(2),
        'upload ÷ ceiling': +(image.length / p.upload / ceiling).toFixed(3),
        'verification s': +p.verify.toFixed(2),
        'activate s': +p.activate.toFixed(2),
        'reset until the ECU answers s': +p.reset.toFixed(2),
        'confirm s': +p.confirm.toFixed(2),
        'whole command s': +wall.toFixed(2),
        'whole ÷ ISO-TP ceiling': +(image.length / wall / ceiling).toFixed(3),
        "ECU's flash time in the reset s": +swap.toFixed(2),
        'load avg': os.loadavg()[0]!.toFixed(1),
      });
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchEcu('dual-bank', RUNS);
if (SWAP_RUNS > 0) await benchEcu('swap', SWAP_RUNS);

const cols = Object.keys(rows[0]!);
console.log(
  `### packscope flash --protocol uds --confirm, ${IMAGE_BYTES} B at ${BITRATE / 1000} kbit/s over SLCAN on a pty (wall time; CLI: ${freshBundle() ? 'built bundle' : 'sources through tsx'}; ISO-TP ceiling ${Math.round(ceiling)} B/s, target whole ÷ ceiling ≥ 0.8 on the dual-bank ECU; the swap ECU for reference)\n`,
);
console.log([`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((k) => r[k]).join(' | ')} |`)].join('\n'));
const artifacts = path.join(root, 'tests/artifacts/bench');
mkdirSync(artifacts, { recursive: true });
const out = path.join(artifacts, 'uds-flash.json');
writeFileSync(out + '.tmp', JSON.stringify({ bitrate: BITRATE, ceiling, rows }, null, 2));
renameSync(out + '.tmp', out);
process.exit(0);
