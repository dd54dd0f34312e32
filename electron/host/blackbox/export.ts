import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { csvHeader, csvRow, jsonlRow } from '../../../shared/blackbox/export.js';
import { PackscopeError } from '../../../shared/errors.js';
import { isSpecialPath } from '../util/files.js';
import type { PslogReader } from './pslog.js';

/**
 * Streams a log's records to CSV or JSON lines with bounded memory: rows are batched into ~256 KiB
 * writes and the stream's back-pressure is honoured. Written to OUT.tmp-PID and renamed at the end,
 * except when OUT already exists and is not a plain regular file (/dev/stdout, a FIFO, a link):
 * that is written in place, never replaced. A reader that closes such a pipe early is reported with errno EPIPE.
 */
export interface ExportResult {
  path: string;
  records: number;
  bytes: number;
  seconds: number;
}

export async function exportLog(
  reader: PslogReader,
  out: string,
  format: 'csv' | 'jsonl',
  options: { signal?: AbortSignal; onProgress?: (records: number) => void } = {},
): Promise<ExportResult> {
  const t0 = performance.now();
  const inPlace = isSpecialPath(out);
  const tmp = inPlace ? out : `${out}.tmp-${process.pid}`;
  // /dev/stdout is written through process.stdout: opening it anew fails when stdout is a socket,
  // and only the process's own stream copes with a non-blocking descriptor. It is flushed, not ended.
  const toStdout = out === '/dev/stdout';
  const stream: NodeJS.WritableStream = toStdout ? process.stdout : createWriteStream(tmp);
  const failed = new Promise<never>((_, reject) =>
    stream.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EPIPE'
          ? new PackscopeError('IO', `${out}: the reader closed the pipe`, { errno: 'EPIPE' })
          : new PackscopeError('IO', `${out}: ${e.message}`),
      ),
    ),
  );
  failed.catch(() => undefined);
  let bytes = 0;
  let records = 0;
  let buf = '';
  const write = async (s: string) => {
    bytes += s.length;
    if (!stream.write(s)) await Promise.race([new Promise<void>((r) => stream.once('drain', () => r())), failed]);
  };
  try {
    let headerDone = format !== 'csv';
    for await (const batch of reader.recordBatches()) {
      if (!headerDone) {
        buf += csvHeader(batch[0]!.cellVoltages.length, await tempLabels(reader, batch[0]!.temperatures.length));
        headerDone = true;
      }
      for (const r of batch) buf += format === 'csv' ? csvRow(r) : jsonlRow(r);
      records += batch.length;
      if (buf.length > 256 * 1024) {
        await write(buf);
        buf = '';
        options.onProgress?.(records);
        if (options.signal?.aborted) throw new PackscopeError('CANCELLED', 'export cancelled');
      }
    }
    if (!headerDone) buf += csvHeader(0, []);
    await write(buf);
    await Promise.race([new Promise<void>((resolve) => (toStdout ? stream.write('', () => resolve()) : stream.end(resolve))), failed]);
    if (!inPlace) await rename(tmp, out);
  } catch (e) {
    if (!toStdout) (stream as ReturnType<typeof createWriteStream>).destroy();
    if (!inPlace) await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return { path: out, records, bytes, seconds: (performance.now() - t0) / 1000 };
}

/** Temperature sensor names from the first segment's schema. */
async function tempLabels(reader: PslogReader, n: number): Promise<string[]> {
  for await (const it of reader.segments()) {
    if ('segment' in it) return it.segment.header.schema.tempLabels;
  }
  return Array.from({ length: n }, (_, i) => `t${i + 1}`);
}
