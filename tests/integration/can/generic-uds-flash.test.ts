import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import type { SlcanPersonality } from '../../../firmware/sim/can/index.js';
import { probeUdsBootloader, runFlashJob } from '../../../electron/host/flasher/flash-backends.js';
import { main } from '../../../electron/host/cli/main.js';
import { Iso14229TestBootloader, type TestBootloaderOptions } from '../../support/iso14229-bootloader.js';

/**
 * UDS flashing of an ordinary bootloader: the ISO 14229 test bootloader in tests/support (its own
 * ISO-TP and UDS code, standard services only) on the simulated bus at 500 kbit/s, behind the
 * simulated SLCAN adapter on a real pseudo-terminal; PackScope's own UDS node is switched off.
 * The host side is the flash back end (`uds-generic`) and the CLI, as a user runs them.
 */
let sim: RunningSim | null = null;
let dir: string | null = null;
let ecu: Iso14229TestBootloader | null = null;

afterEach(async () => {
  ecu?.stop();
  ecu = null;
  await sim?.stop();
  sim = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

async function start(o: TestBootloaderOptions = {}) {
  dir = mkdtempSync(path.join(tmpdir(), 'ps-uds-generic-'));
  // The adapter's serial side at 1 Mbaud, as a USB adapter's virtual serial port is, so the CAN bus
  // (500 kbit/s, simulated bit-exactly) is what limits the transfer, not the pseudo-terminal.
  sim = await runSim({ personality: 'slcan', pty: true, baud: 1_000_000, seed: 3, stateDir: dir, can: { bitrate: 500_000, uds: false } });
  const bus = (sim.personality as SlcanPersonality).bus;
  expect(bus.bitrate).toBe(500_000);
  ecu = new Iso14229TestBootloader(bus, o);
  ecu.start();
  return { port: sim.path!, ecu, dir };
}

/** An application image: its version string leads it (the test bootloader reports it as F195 after reset). */
function appImage(version: string, size: number, salt: number): Uint8Array {
  const img = new Uint8Array(size).map((_, i) => ((i + salt) * 2654435761) >>> 24);
  img.set(Buffer.from(`${version}\0`, 'ascii'));
  return img;
}

describe('UDS flashing of an ordinary ISO 14229 bootloader at 500 kbit/s', () => {
  it('writes the image byte-exactly with a JSON profile: security access, CRC check, 0x78, block-counter wrap, flow-control WAIT', async () => {
    const { port, ecu, dir } = await start({
      security: { level: 0x11, xor: 0x5a3c96e1 },
      maxNumberOfBlockLength: 0x42, // 64 data bytes per TransferData: the counter wraps with a small image
      blockSize: 8,
      waitEvery: 4,
      pendingEvery: 40,
    });
    const profileFile = path.join(dir, 'tb-boot.json');
    writeFileSync(
      profileFile,
      JSON.stringify({
        name: 'tb-boot',
        preSessions: ['0x03'],
        securityAccess: { level: '0x11', algorithm: 'xor' },
        memory: { address: '0x08008000' },
        check: { routineId: '0xFF01', record: 'crc32' },
      }),
    );
    const image = appImage('2.4.1', 17_001, 9); // 266 blocks of 64: the counter wraps FF → 00
    const phases = new Set<string>();
    const r = await runFlashJob({ protocol: 'uds-generic', port, firmware: image, profile: profileFile, onProgress: (p) => phases.add(p.phase) });

    expect(ecu.read(0x0800_8000, image.length)).toEqual(image);
    expect(ecu.read(0x0800_8000 + image.length, 16)).toEqual(new Uint8Array(16).fill(0xff));
    expect(ecu.log.erases).toEqual([{ address: 0x0800_8000, size: image.length }]);
    const x = r.report;
    expect(x.profile).toBe('tb-boot');
    expect(x.before).toEqual({ softwareVersion: '1.0.0', serial: 'TB-000417' });
    expect(x.after).toEqual({ softwareVersion: '2.4.1', serial: 'TB-000417' });
    expect(x.blockPayload).toBe(0x40);
    expect(x.blocks).toBe(Math.ceil(image.length / 0x40));
    expect(x.sequenceWraps).toBe(1);
    expect(ecu.log.sequenceWraps).toBe(1);
    expect(x.checked).toBe(true);
    expect(x.responsePending).toBe(ecu.log.pendingSent);
    expect(ecu.log.pendingSent).toBeGreaterThan(2);
    expect(ecu.log.waitsSent).toBeGreaterThan(10);
    expect(ecu.log.repeatedBlocks).toBe(0);
    expect([...phases]).toEqual(expect.arrayContaining(['erase', 'write', 'verify']));
    expect(r.lineRatio).toBeGreaterThan(0);
    expect(r.lineRatio).toBeLessThan(1);
    // Standard services only: nothing PackScope-specific was asked.
    expect(new Set(ecu.log.requests)).toEqual(new Set([0x10, 0x11, 0x22, 0x27, 0x31, 0x34, 0x36, 0x37, 0x3e]));
  });

  it('`flash --protocol uds` finds no PackScope bootloader and flashes with the generic default profile', async () => {
    const { port, ecu, dir } = await start({ maxNumberOfBlockLength: 0x802 });
    expect((await probeUdsBootloader({ port })).kind).toBe('generic');
    const file = path.join(dir, 'app.bin');
    const image = appImage('3.0.0', 20_000, 4);
    writeFileSync(file, image);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['flash', '--protocol', 'uds', '--port', port, '--address', '0x08008000', file, '--json'], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: new AbortController().signal,
      isTTY: false,
    });
    expect(code, err.join('\n')).toBe(0);
    expect(ecu.read(0x0800_8000, image.length)).toEqual(image);
    const doc = JSON.parse(out.join('\n')) as { protocol: string; profile: string; after: { softwareVersion: string }; blockPayload: number };
    expect(doc).toMatchObject({ protocol: 'uds-generic', profile: 'generic', after: { softwareVersion: '3.0.0' }, blockPayload: 0x800 });
    expect(err.join('\n')).toContain("the 'generic' profile");
  });

  it('a check routine that rejects the download fails the job, and the ECU is not reset', async () => {
    const { port, ecu, dir } = await start();
    const profileFile = path.join(dir, 'p.json');
    writeFileSync(profileFile, JSON.stringify({ name: 'crc', memory: { address: 0x0800_8000 }, check: { record: 'crc32' } }));
    const image = appImage('9.9.9', 3000, 1);
    // The ECU sees different bytes than the host sent: a corrupting link the CRC must catch.
    const realRead = ecu.memory;
    const job = runFlashJob({
      protocol: 'uds-generic',
      port,
      firmware: image,
      profile: profileFile,
      log: (l) => {
        if (l.startsWith('wrote')) realRead[100] = realRead[100]! ^ 0xff;
      },
    });
    await expect(job).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    expect(ecu.softwareVersion).toBe('1.0.0');
    expect(ecu.log.requests).not.toContain(0x11);
  });
});
