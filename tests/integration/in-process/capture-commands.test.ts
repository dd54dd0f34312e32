import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import can from '../../../electron/host/cli/commands/can.js';
import flash from '../../../electron/host/cli/commands/flash.js';
import type { CliContext } from '../../../electron/host/cli/context.js';
import { loadCapture } from '../../../electron/host/transport/replay.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../../shared/image/index.js';

/**
 * --capture on the commands that open their own port for firmware and CAN: the flash and the CAN
 * monitor run against the in-process simulator, and the capture they leave holds the session's
 * requests and answers (what `packscope replay` plays back).
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-capture-cmds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context() {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false };
  return { ctx, out, err };
}

describe('--capture on flash and can', () => {
  it('flash: the upload to a native board is captured, and the file appears only when the port closed', async () => {
    const state = mkdtempSync(path.join(dir, 'board-'));
    const sim = await runSim({ stateDir: state, seed: 3 });
    const boardId = sim.board.identity.boardId;
    await sim.stop();
    const key = parsePrivateKeyPem(readFileSync(path.join(state, SIGNING_KEY_FILE), 'utf8'));
    const image = path.join(dir, 'fw.img');
    writeFileSync(image, signImage({ payload: syntheticApplication(8 * 1024, 2), version: parseVersion('1.2.0'), key, securityCounter: 2, boardId }));
    const capture = path.join(dir, 'flash.jsonl');
    const { ctx, err } = context();
    const port = `sim:?state=${encodeURIComponent(state)}&seed=3&unpaced=1`;
    expect(await flash.run(['--port', port, image, '--confirm', '--capture', capture], ctx), err.join('\n')).toBe(0);
    expect(existsSync(capture)).toBe(true);
    expect(existsSync(`${capture}.partial`)).toBe(false);
    const c = loadCapture(capture);
    expect(c.header.port).toBe(port);
    expect(c.exchanges.length).toBeGreaterThan(10);
  });

  it('can monitor: the adapter session is captured', async () => {
    const capture = path.join(dir, 'can.jsonl');
    const { ctx, err } = context();
    expect(await can.run(['monitor', '--port', 'sim:?personality=slcan&unpaced=1', '--duration', '0.5', '--capture', capture], ctx), err.join('\n')).toBe(0);
    const c = loadCapture(capture);
    expect(c.header.line.baudRate).toBe(115200);
    // The adapter's open sequence (bitrate, open) is in the capture with its answers.
    expect(c.exchanges.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a capture name that is not .jsonl, before the port is opened', async () => {
    const { ctx } = context();
    await expect(can.run(['monitor', '--port', 'sim:?personality=slcan', '--capture', path.join(dir, 'x.txt')], ctx)).rejects.toThrow(
      /needs a \.jsonl file name/,
    );
  });
});
