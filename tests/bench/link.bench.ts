/**
 * Link benchmark: bulk-transfer throughput of the native protocol through a real pseudo-terminal
 * (serialport on the host side, the simulated board behind a paced line), as a ratio of the line
 * rate: payload bytes/s ÷ (baud / 10). Also the unpaced rate (what the framing and engine cost).
 * Run: npm run bench -- link
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { runSim } from '../../firmware/sim/run.js';
import { Session } from '../../electron/host/session.js';
import { bytesEqual } from '../../shared/util/bytes.js';

interface Row {
  case: string;
  baud: number | null;
  bytes: number;
  seconds: number;
  payloadBytesPerSecond: number;
  lineBytesPerSecond: number | null;
  ratioToLine: number | null;
  retransmissions: number;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function measure(name: string, baud: number, bytes: number, op: 'read' | 'write', unpaced = false): Promise<Row> {
  const sim = await runSim({ pty: true, baud, unpaced, seed: 1, scratchBytes: bytes, subsystems: false });
  const session = await Session.open(sim.path!, { protocol: 'native', baud });
  try {
    const n = session.native!;
    let seconds: number;
    let retransmissions: number;
    if (op === 'read') {
      const r = await n.bulkRead({ region: 'scratch', length: bytes, window: 8, chunkSize: 4096 });
      seconds = r.seconds;
      retransmissions = r.retransmissions;
      if (!bytesEqual(sha256(r.data!), await n.regionHash('scratch', 0, bytes))) throw new Error('read data differ from the board');
    } else {
      const data = new Uint8Array(bytes).map((_, i) => (i * 2654435761) >>> 24);
      const r = await n.bulkWrite({ region: 'scratch', data, window: 8, chunkSize: 4096 });
      seconds = r.seconds;
      retransmissions = r.retransmissions;
      if (!bytesEqual(sha256(data), await n.regionHash('scratch', 0, bytes))) throw new Error('board holds other bytes than written');
    }
    const rate = bytes / seconds;
    const line = unpaced ? null : baud / 10;
    return {
      case: name,
      baud: unpaced ? null : baud,
      bytes,
      seconds: Math.round(seconds * 1000) / 1000,
      payloadBytesPerSecond: Math.round(rate),
      lineBytesPerSecond: line,
      ratioToLine: line ? Math.round((rate / line) * 1000) / 1000 : null,
      retransmissions,
    };
  } finally {
    await session.close();
    await sim.stop();
  }
}

const rows: Row[] = [];
rows.push(await measure('bulk read, 115200 baud', 115200, 256 * 1024, 'read'));
rows.push(await measure('bulk read, 921600 baud', 921600, 1024 * 1024, 'read'));
rows.push(await measure('bulk write, 921600 baud', 921600, 512 * 1024, 'write'));
rows.push(await measure('bulk read, unpaced pty', 921600, 4 * 1024 * 1024, 'read', true));

console.log('| case | bytes | seconds | payload B/s | line B/s | ratio to line | retransmissions |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.case} | ${r.bytes} | ${r.seconds} | ${r.payloadBytesPerSecond} (${(r.payloadBytesPerSecond / 1e6).toFixed(2)} MB/s) | ${r.lineBytesPerSecond ?? '-'} | ${r.ratioToLine ?? '-'} | ${r.retransmissions} |`,
  );
}
// Line pacing runs on timers: on a loaded machine late timers cost throughput, so say how loaded it was.
const load = (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100);
console.log(
  `\nLoad average during the run: ${load.join(', ')} (on ${(await import('node:os')).cpus().length} CPUs). Overhead per 4 KiB chunk: 37 bytes (0.9 %).`,
);
const out = path.join(root, 'tests/artifacts/bench');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'link.json.tmp'), JSON.stringify({ bench: 'link', date: new Date().toISOString(), loadAverage: load, rows }, null, 2) + '\n');
const { renameSync } = await import('node:fs');
renameSync(path.join(out, 'link.json.tmp'), path.join(out, 'link.json'));
process.exit(0);
