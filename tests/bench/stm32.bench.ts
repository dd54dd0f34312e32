/**
 * STM32 ROM recovery flashing: PackScope's AN3155 flasher against Debian's stm32flash on the same
 * simulated bootloader (STM32F40x, datasheet erase/program times), the same pty, the same baud,
 * both verifying every byte. Two ROMs: one whose Get lists Get Checksum (0xA1; PackScope verifies
 * with the chip's CRC) and one without it (PackScope reads everything back, as stm32flash -v
 * always does). The simulator runs in its own process and starts fresh (flash erased, ROM waiting
 * for autobaud) for every run. Times are wall-clock (performance.now around each whole run).
 *
 * Images (256 KiB at 0x08000000 unless noted):
 *  - recovery image: what a board recovery writes on this layout: a 32 KiB bootloader region
 *    (24 KiB of code), 32 KiB of erased parameter sectors, and a 192 KiB primary slot holding a
 *    128 KiB application padded with 0xFF to the slot (as `imgtool sign --pad` leaves it) with
 *    the swap trailer magic in its last 16 bytes; code bytes are random (incompressible).
 *  - random: every byte random, no blank block: the worst case for PackScope, where only round
 *    trips can be saved. 64 KiB by default (to keep the run short); STM32_BENCH_FULL=1 makes it 256 KiB.
 *
 * Targets: PackScope ≤ 0.8 × stm32flash's time on the ROM with Get Checksum, ≤ 1.0 × on the one
 * without. Prints a markdown table and writes tests/artifacts/bench/stm32.json.
 *
 * Usage: npm run bench -- stm32        (BAUD=230400 to change the line rate)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flashStm32 } from '../../electron/host/stm32/rom-flasher.js';
import { SerialTransport } from '../../electron/host/transport/serial.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BAUD = Number(process.env.BAUD ?? 115200);
const LINE_RATE = BAUD / 11; // the simulated ROM line is 8E1: 11 bits per character
const BASE = 0x0800_0000;

if (spawnSync('sh', ['-c', 'command -v stm32flash']).status !== 0) {
  console.error('stm32flash is not installed (Debian: apt-get install stm32flash); this benchmark compares against it.');
  process.exit(1);
}

function recoveryImage(): Uint8Array {
  const img = new Uint8Array(256 * 1024).fill(0xff);
  randomFillSync(img, 0, 24 * 1024); // bootloader code
  const slot = 64 * 1024;
  randomFillSync(img, slot, 128 * 1024); // signed application
  img.set([0x3d, 0xb8, 0xf3, 0x96], slot); // MCUboot header magic
  // Swap trailer magic at the end of the slot.
  img.set([0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80], img.length - 16);
  return img;
}

function randomImage(): Uint8Array {
  const img = new Uint8Array(process.env.STM32_BENCH_FULL ? 256 * 1024 : 64 * 1024);
  randomFillSync(img);
  for (let i = 0; i < img.length; i++) if (img[i] === 0xff) img[i] = 0xfe; // no accidental blank words
  return img;
}

interface SimHandle {
  path: string;
  child: ChildProcess;
  finish(): Promise<{ stats: { commands: number; nacks: number; overruns: number } | null; sha256: string }>;
}

/** The simulated parts: 'f405-crc' offers Get Checksum, 'f405' does not (firmware/sim/stm32rom/device.ts). */
type RomName = 'f405-crc' | 'f405';

async function startSim(checkBytes: number, rom: RomName): Promise<SimHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'tests/bench/stm32-sim.ts'), String(BAUD), String(checkBytes)], {
    cwd: root,
    env: { ...process.env, PACKSCOPE_SIM_STM32: rom },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const take = () => (lines.length ? resolve(lines.shift()!) : waiters.push(take));
      child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
      take();
    });
  const simPath = await nextLine();
  return {
    path: simPath,
    child,
    async finish() {
      const p = nextLine();
      child.kill('SIGTERM');
      return JSON.parse(await p);
    },
  };
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

interface Row {
  rom: string;
  image: string;
  bytes: number;
  tool: 'stm32flash' | 'packscope';
  seconds: number;
  payloadRate: number;
  lineRatio: number;
  romCommands: number | null;
  detail: string;
}

async function timeStm32flash(rom: RomName, name: string, img: Uint8Array, file: string): Promise<Row> {
  const sim = await startSim(img.length, rom);
  const t0 = performance.now();
  const r = await run('stm32flash', ['-m', '8n1', '-b', String(BAUD), '-w', file, '-v', sim.path]);
  const seconds = (performance.now() - t0) / 1000;
  const end = await sim.finish();
  if (r.code !== 0) throw new Error(`stm32flash failed (${r.code}):\n${r.out.slice(-2000)}`);
  if (end.sha256 !== createHash('sha256').update(img).digest('hex')) throw new Error('stm32flash: flash does not hold the image');
  return row(rom, name, img, 'stm32flash', seconds, end.stats?.commands ?? null, 'erase of the sectors covered, 256-byte write + read-back per block');
}

async function timePackscope(rom: RomName, name: string, img: Uint8Array): Promise<Row> {
  const sim = await startSim(img.length, rom);
  const t = new SerialTransport(sim.path, { baudRate: BAUD, parity: 'none' });
  const t0 = performance.now();
  await t.open();
  const r = await flashStm32(t, { baudRate: BAUD, segments: [{ address: BASE, data: img }] });
  await t.close();
  const seconds = (performance.now() - t0) / 1000;
  const end = await sim.finish();
  if (!r.verified || end.sha256 !== createHash('sha256').update(img).digest('hex')) throw new Error('packscope: flash does not hold the image');
  return row(
    rom,
    name,
    img,
    'packscope',
    seconds,
    end.stats?.commands ?? null,
    `${r.erased.length} sectors erased${r.eraseSkipped.length ? ` (${r.eraseSkipped.length} already blank, not erased)` : ''}, ${r.blocksWritten} blocks written, ${r.blocksSkipped} blank skipped, ${r.roundTrips} round trips; ` +
      `erase ${(r.phasesMs.erase / 1000).toFixed(1)} s, write ${(r.phasesMs.write / 1000).toFixed(1)} s, verify ${(r.phasesMs.verify / 1000).toFixed(1)} s by ${r.verifiedBy}`,
  );
}

function row(rom: string, image: string, img: Uint8Array, tool: Row['tool'], seconds: number, romCommands: number | null, detail: string): Row {
  const payloadRate = img.length / seconds;
  return { rom, image, bytes: img.length, tool, seconds, payloadRate, lineRatio: payloadRate / LINE_RATE, romCommands, detail };
}

const dir = mkdtempSync(path.join(tmpdir(), 'packscope-stm32-bench-'));
const rows: Row[] = [];
const comparisons: Array<{ rom: string; image: string; bytes: number; ratio: number; target: number; targetMet: boolean }> = [];
const ROM_LABEL: Record<RomName, string> = { 'f405-crc': 'with Get Checksum', f405: 'without Get Checksum' };
const TARGET: Record<RomName, number> = { 'f405-crc': 0.8, f405: 1.0 };
try {
  const random = randomImage();
  const runs: Array<[RomName, string, Uint8Array]> = [
    ['f405-crc', 'random', random],
    ['f405', 'random', random],
    ['f405-crc', 'recovery image', recoveryImage()],
  ];
  for (const [rom, name, img] of runs) {
    const file = path.join(dir, `${name.replace(/\s+/g, '-')}.bin`);
    writeFileSync(file, img);
    const theirs = await timeStm32flash(rom, name, img, file);
    const ours = await timePackscope(rom, name, img);
    rows.push(theirs, ours);
    const ratio = ours.seconds / theirs.seconds;
    comparisons.push({ rom: ROM_LABEL[rom], image: name, bytes: img.length, ratio, target: TARGET[rom], targetMet: ratio <= TARGET[rom] });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`STM32 ROM flash (AN3155), simulated STM32F40x on a pty at ${BAUD} baud (8E1 pacing, line rate ${LINE_RATE.toFixed(0)} B/s), verify on\n`);
console.log('| ROM | image | bytes | tool | time (s) | payload (B/s) | ÷ line rate | ROM commands | notes |');
console.log('| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${ROM_LABEL[r.rom as RomName]} | ${r.image} | ${r.bytes} | ${r.tool} | ${r.seconds.toFixed(1)} | ${r.payloadRate.toFixed(0)} | ${r.lineRatio.toFixed(3)} | ${r.romCommands ?? '-'} | ${r.detail} |`,
  );
}
console.log('\n| ROM | image | PackScope time ÷ stm32flash time | target | met |');
console.log('| --- | --- | ---: | ---: | --- |');
for (const c of comparisons)
  console.log(`| ${c.rom} | ${c.image} (${c.bytes / 1024} KiB) | ${c.ratio.toFixed(3)} | ≤ ${c.target} | ${c.targetMet ? 'yes' : 'NO'} |`);

const outDir = path.join(root, 'tests/artifacts/bench');
mkdirSync(outDir, { recursive: true });
const tmp = path.join(outDir, `.stm32.json.${process.pid}`);
writeFileSync(tmp, JSON.stringify({ bench: 'stm32', baud: BAUD, lineRate: LINE_RATE, when: new Date().toISOString(), rows, comparisons }, null, 2) + '\n');
renameSync(tmp, path.join(outDir, 'stm32.json'));
