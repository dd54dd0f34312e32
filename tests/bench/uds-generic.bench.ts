/**
 * UDS flashing of an ordinary ISO 14229 bootloader (tests/support/iso14229-bootloader.ts: standard
 * services only, its own ISO-TP) on the simulated bus at 500 kbit/s, through the simulated SLCAN
 * adapter on a real pty and the `uds-generic` flash back end with the generic profile. Two
 * bootloader behaviours: a permissive one (maxNumberOfBlockLength 4095, no block size, no WAIT)
 * and a picky one (1 KiB blocks, block size 8, a flow-control WAIT every 4th block, response
 * pending every 40th). The figure: data bytes/s during the transfer ÷ the ISO-TP ceiling at the
 * bitrate (7 bytes per 111-bit frame = 31.5 kB/s at 500 kbit/s), measured in the same run.
 * Figures go to tests/artifacts/bench/uds-generic.json.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { isoTpCeiling } from '../../shared/can/bittime.js';
import { runSim } from '../../firmware/sim/run.js';
import type { SlcanPersonality } from '../../firmware/sim/can/index.js';
import { runFlashJob } from '../../electron/host/flasher/flash-backends.js';
import { Iso14229TestBootloader, type TestBootloaderOptions } from '../support/iso14229-bootloader.js';

const BITRATE = 500_000;
type Row = Record<string, string | number>;
const rows: Row[] = [];
const configs: Array<{ name: string; bytes: number; o: TestBootloaderOptions }> = [
  { name: 'permissive (4095-byte blocks, BS 0)', bytes: 256 * 1024, o: { maxNumberOfBlockLength: 4095, blockSize: 0, waitEvery: 0, pendingEvery: 0 } },
  { name: 'picky (1 KiB blocks, BS 8, WAIT, 0x78)', bytes: 64 * 1024, o: { maxNumberOfBlockLength: 0x402, blockSize: 8, waitEvery: 4, pendingEvery: 40 } },
];

for (const c of configs) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-uds-generic-bench-'));
  const sim = await runSim({ personality: 'slcan', pty: true, seed: 5, stateDir: dir, can: { bitrate: BITRATE, uds: false, pylontech: false } });
  const ecu = new Iso14229TestBootloader((sim.personality as SlcanPersonality).bus, { ...c.o, size: 512 * 1024 });
  ecu.start();
  try {
    const image = new Uint8Array(c.bytes).map((_, i) => (i * 2654435761) >>> 24);
    const cpu0 = process.cpuUsage();
    const r = await runFlashJob({ protocol: 'uds-generic', port: sim.path!, firmware: image, address: 0x0800_8000, bitrate: BITRATE });
    const cpu = process.cpuUsage(cpu0);
    const exact = ecu.read(0x0800_8000, image.length).every((b, i) => b === image[i]);
    rows.push({
      bootloader: c.name,
      image: `${image.length} B`,
      'byte-exact': exact ? 'yes' : 'NO',
      blocks: r.report.blocks,
      'counter wraps': r.report.sequenceWraps,
      'transfer s': +r.report.uploadSeconds.toFixed(2),
      'payload B/s': Math.round(r.report.payloadRate),
      'ISO-TP ceiling B/s': Math.round(isoTpCeiling(BITRATE)),
      'ratio to ceiling': +r.lineRatio.toFixed(3),
      'whole job s': +r.report.seconds.toFixed(1),
      'CPU s': +((cpu.user + cpu.system) / 1e6).toFixed(1),
      'load avg': os.loadavg()[0]!.toFixed(1),
    });
    if (!exact) process.exitCode = 1;
  } finally {
    ecu.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cols = Object.keys(rows[0]!);
console.log(`### UDS flash of an ISO 14229 bootloader at ${BITRATE / 1000} kbit/s (generic profile)\n`);
console.log([`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((k) => r[k]).join(' | ')} |`)].join('\n'));
const artifacts = path.resolve(import.meta.dirname, '../artifacts/bench');
mkdirSync(artifacts, { recursive: true });
const file = path.join(artifacts, 'uds-generic.json');
writeFileSync(file + '.tmp', JSON.stringify({ bitrate: BITRATE, rows }, null, 2));
renameSync(file + '.tmp', file);
