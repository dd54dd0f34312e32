/**
 * Commodity BMS protocols (JBD, Daly, JK):
 *  1. decode throughput of the streaming extractors + field decoders (MB/s on one core);
 *  2. telemetry over a real pty against the simulated boards, polled as fast as the driver allows:
 *     frames/s, and the bytes moved (both directions) ÷ line rate (baud/10), the physical limit of
 *     a half-duplex request/response protocol.
 * Figures also go to tests/artifacts/bench/bms.json.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as daly from '../../shared/bms/daly.js';
import * as jbd from '../../shared/bms/jbd.js';
import * as jk from '../../shared/bms/jk.js';
import { concatBytes } from '../../shared/util/bytes.js';
import { driverFactory } from '../../electron/host/drivers/registry.js';
import { SerialTransport } from '../../electron/host/transport/serial.js';
import { startRig } from '../integration/bms/harness.js';

type Row = Record<string, string | number>;
const results: { decode: Row[]; polling: Row[] } = { decode: [], polling: [] };

function repeat(frame: Uint8Array, targetBytes: number): Uint8Array {
  const n = Math.ceil(targetBytes / frame.length);
  const out = new Uint8Array(n * frame.length);
  for (let i = 0; i < n; i++) out.set(frame, i * frame.length);
  return out;
}

function timeDecode(name: string, stream: Uint8Array, run: (chunk: Uint8Array) => number): void {
  const chunk = 4096;
  let frames = 0;
  const t0 = performance.now();
  for (let i = 0; i < stream.length; i += chunk) frames += run(stream.subarray(i, i + chunk));
  const s = (performance.now() - t0) / 1000;
  results.decode.push({
    protocol: name,
    MB: +(stream.length / 1e6).toFixed(1),
    frames,
    'MB/s': +(stream.length / 1e6 / s).toFixed(1),
    'frames/s': Math.round(frames / s),
  });
}

// 1. Decode: 16-cell replies, 16 MB per protocol.
const cells16 = Array.from({ length: 16 }, (_, i) => 3.3 + i / 1000);
{
  const basic = jbd.encodeJbdResponse({
    register: 3,
    status: 0,
    data: jbd.encodeJbdBasicInfo({
      packVoltage: 52.8,
      current: -12.3,
      remainingAh: 60,
      nominalAh: 100,
      cycles: 12,
      productionDate: { year: 2025, month: 1, day: 2 },
      balanceMask: 0,
      protection: 0,
      softwareVersion: 0x14,
      soc: 60,
      fet: 3,
      cellCount: 16,
      temperatures: [21, 22, 23, 24],
      extra: new Uint8Array(0),
    }),
  });
  const cells = jbd.encodeJbdResponse({ register: 4, status: 0, data: jbd.encodeJbdCells(cells16) });
  const ex = jbd.createJbdExtractor();
  timeDecode('jbd', repeat(concatBytes(basic, cells), 16e6), (c) => {
    let n = 0;
    for (const f of ex.push(c)) {
      if (f.b1 === 3) jbd.decodeJbdBasicInfo(f.data);
      else jbd.decodeJbdCells(f.data);
      n++;
    }
    return n;
  });
}
{
  const buf = new Uint8Array(8);
  daly.writeDalySoc(buf, { packVoltage: 52.8, current: -12.3, soc: 60 });
  const f = daly.encodeDalyFrame({ address: 1, command: 0x90, data: buf });
  const ex = daly.createDalyExtractor();
  timeDecode('daly', repeat(f, 16e6), (c) => {
    let n = 0;
    for (const fr of ex.push(c)) {
      daly.decodeDalySoc(fr.data);
      n++;
    }
    return n;
  });
}
{
  const fields = [
    jk.jkCells(cells16),
    jk.jkU16(0x80, 25),
    jk.jkU16(0x81, 24),
    jk.jkU16(0x82, 23),
    jk.jkU16(0x83, 5280),
    jk.jkU16(0x84, jk.encodeJkCurrent(-12.3)),
    jk.jkU8(0x85, 60),
    jk.jkU8(0x86, 2),
    jk.jkU16(0x87, 3),
    jk.jkAscii(0xb7, '11.XW_S11.26___'),
    jk.jkAscii(0xba, 'Input UserdaJK-B2A24S15P'),
    jk.jkU8(0xc0, 1),
  ];
  const f = jk.encodeJkFrame({ bmsId: 0, command: 6, source: 0, type: 1, payload: jk.encodeJkFields(fields), recordNumber: 0 });
  const ex = jk.createJkExtractor();
  timeDecode('jk', repeat(f, 16e6), (c) => {
    let n = 0;
    for (const fr of ex.push(c)) {
      jk.interpretJkFields(jk.decodeJkFields(fr.payload));
      n++;
    }
    return n;
  });
}

// 2. Polling over a pty, 5 s per protocol, requested rate far above what the line allows.
for (const protocol of ['jbd', 'daly', 'jk'] as const) {
  const rig = await startRig(protocol);
  const factory = await driverFactory(protocol);
  const t = new SerialTransport(rig.pty.path, factory.defaultLine);
  await t.open();
  const driver = await factory.create(t, {});
  await driver.identify();
  let frames = 0;
  driver.onTelemetry(() => frames++);
  const before = driver.stats();
  await driver.startTelemetry(100);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 5000));
  await driver.stopTelemetry();
  const s = (performance.now() - t0) / 1000;
  const after = driver.stats();
  const lineBytesPerSec = factory.defaultLine.baudRate / 10;
  const moved = after.bytesIn - before.bytesIn + (after.bytesOut - before.bytesOut);
  results.polling.push({
    protocol,
    baud: factory.defaultLine.baudRate,
    'frames/s': +(frames / s).toFixed(2),
    'bytes/frame': Math.round(moved / Math.max(frames, 1)),
    'wire B/s': Math.round(moved / s),
    '÷ line rate': +(moved / s / lineBytesPerSec).toFixed(3),
    timeouts: after.timeouts - before.timeouts,
    crcErrors: after.crcErrors - before.crcErrors,
  });
  await driver.dispose();
  await t.close();
  await rig.stop();
}

function table(rows: Row[]): void {
  const keys = Object.keys(rows[0]!);
  console.log(`| ${keys.join(' | ')} |`);
  console.log(`| ${keys.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(' | ')} |`);
}

console.log('Decode (streaming extractor + field decoders, 4 KiB chunks, one core)\n');
table(results.decode);
console.log(
  '\nTelemetry polling over a pty against the simulated boards (16 cells), 5 s each; a request/response protocol waits for each answer, so the line is idle during turnarounds\n',
);
table(results.polling);
const out = path.resolve('tests/artifacts/bench');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'bms.json.tmp'), JSON.stringify(results, null, 2));
renameSync(path.join(out, 'bms.json.tmp'), path.join(out, 'bms.json'));
process.exit(0);
