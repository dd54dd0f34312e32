import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { csvHeader, csvRow } from '../../../shared/blackbox/export.js';
import { parsePublicKeyPem } from '../../../shared/blackbox/certificate.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { Res } from '../../../shared/api/contract.js';
import type { LogRecord, TransferProgress } from '../../../shared/types/domain.js';
import { exportLog, openPslog, pullLog, type PslogReader } from '../blackbox/index.js';
import { desktopRecordingOf } from '../recorder/index.js';
import type { DeviceSession } from './device.js';
import { recordsToSeries } from './series.js';
import { readFile } from 'node:fs/promises';

/** Most records the Logs screen loads into memory for charts (a year at 1 Hz is 31 M: reduced). */
const MAX_LOAD = 5_000_000;

async function rootSpkiFrom(pemPath: string | undefined): Promise<Uint8Array | null> {
  if (!pemPath) return null;
  let text: string;
  try {
    text = await readFile(pemPath, 'utf8');
  } catch (e) {
    throw new PackscopeError('NOT_FOUND', `cannot read the root key ${pemPath}: ${(e as Error).message}`);
  }
  try {
    return parsePublicKeyPem(text).spki;
  } catch (e) {
    throw new PackscopeError('USAGE', `${pemPath} is not a P-256 public key PEM: ${(e as Error).message}`);
  }
}

async function withReader<T>(file: string, fn: (r: PslogReader) => Promise<T>): Promise<T> {
  const reader = await openPslog(file);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/**
 * The Logs screen's jobs: pull the board's black box into a .pslog (progress, cancel, resume),
 * open a .pslog (verification per segment, chart series, events), export CSV of the whole log or
 * of a time range. Evidence is shown as it is: damage and bad signatures are reported, never fixed.
 */
export class LogJobs {
  constructor(
    private device: DeviceSession,
    private dataDir: string,
  ) {}

  async pull(out: string | undefined, resume: boolean, signal: AbortSignal, onProgress: (p: TransferProgress) => void): Promise<Res<'log.pull'>> {
    const session = this.device.require();
    const native = session.native;
    if (!native) throw new PackscopeError('REFUSED', `${session.info?.model ?? 'this board'} has no black box to pull (it does not speak the native protocol); record its live data instead`);
    const serial = session.info?.serial ?? 'board';
    const file = out ?? path.join(this.dataDir, `${serial}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '')}.pslog`);
    const rate = session.telemetryRateHz;
    if (rate > 0) await session.stopTelemetry().catch(() => undefined);
    try {
      const r = await pullLog(native.link, {
        out: file,
        resume,
        signal,
        identity: session.info,
        source: { port: session.path },
        onProgress: (p) => onProgress({ done: p.done, total: p.total, rate: p.rate, etaSeconds: p.etaSeconds, phase: `${p.segments} segments` }),
      });
      return {
        path: r.path,
        segments: r.segments,
        records: r.records,
        resumedSegments: r.resumedSegments,
        bytesRead: r.bytesRead,
        seconds: r.seconds,
        payloadRate: r.payloadRate,
        signaturesOk: r.signaturesOk,
        issues: r.issues.slice(0, 50).map((i) => i.message),
      };
    } finally {
      if (rate > 0 && !session.isDisconnected) await session.startTelemetry(rate).catch(() => undefined);
    }
  }

  async open(file: string, rootKeyPath?: string): Promise<Res<'log.open'>> {
    const root = await rootSpkiFrom(rootKeyPath);
    return withReader(file, async (reader) => {
      const report = await reader.verify(root);
      // A desktop recording has no device key by design: its segments are unsigned, which is
      // stated once, not reported as a failure per segment. Damage, gaps and chain breaks still are.
      const desktop = desktopRecordingOf(reader.meta) !== null;
      const relevant = desktop ? report.issues.filter((i) => i.kind !== 'signature' && i.kind !== 'certificate' && i.kind !== 'checkpoint') : report.issues;
      const bySegment = new Map<number, string>();
      for (const i of relevant) if (i.segment !== null && !bySegment.has(i.segment)) bySegment.set(i.segment, i.message);
      const segments: Res<'log.open'>['segments'] = [];
      for await (const it of reader.segments()) {
        if ('segment' in it) {
          const s = it.segment;
          const issue = bySegment.get(s.header.counter);
          segments.push({ counter: s.header.counter, records: s.recordCount, startMs: s.header.rtcMs, ok: !issue, ...(issue ? { issue } : {}) });
        } else {
          segments.push({ counter: -1, records: 0, startMs: 0, ok: false, issue: `damaged bytes at offset ${it.damage.offset} (${it.damage.length} bytes): ${it.damage.error.message}` });
        }
        if (segments.length >= 20_000) break;
      }
      const records: LogRecord[] = [];
      for await (const r of reader.records({ includeCheckpoint: true })) {
        records.push(r);
        if (records.length >= MAX_LOAD) break;
      }
      return {
        path: file,
        complete: reader.complete,
        device: reader.identity,
        source: desktop ? ('desktop' as const) : ('device' as const),
        verification: {
          ok: desktop ? relevant.length === 0 : report.ok,
          certificate: report.certificate,
          checkpoint: report.checkpoint,
          missingSegments: report.missingSegments,
          issueCount: desktop ? relevant.length : report.issueCount,
          issues: relevant.slice(0, 50).map((i) => i.message),
          rootChecked: root !== null,
        },
        segments,
        series: recordsToSeries(records),
      };
    });
  }

  async export(file: string, out: string, range: { from: number; to: number } | undefined, signal: AbortSignal): Promise<Res<'log.export'>> {
    return withReader(file, async (reader) => {
      if (!range) {
        const r = await exportLog(reader, out, 'csv', { signal });
        return { path: r.path, records: r.records, bytes: r.bytes };
      }
      // A time range: the same columns as the whole-log export, only the records inside it.
      let labels: string[] = [];
      for await (const it of reader.segments()) {
        if ('segment' in it) {
          labels = it.segment.header.schema.tempLabels;
          break;
        }
      }
      const rows: string[] = [];
      let cells = 0;
      for await (const r of reader.records({ includeCheckpoint: true })) {
        if (r.t < range.from) continue;
        if (r.t > range.to) break;
        if (signal.aborted) throw new PackscopeError('CANCELLED', 'export cancelled');
        cells = r.cellVoltages.length;
        rows.push(csvRow(r));
      }
      const text = csvHeader(cells, labels.length ? labels : []) + rows.join('');
      const tmp = `${out}.tmp-${process.pid}`;
      try {
        await writeFile(tmp, text);
        await rename(tmp, out);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw new PackscopeError('IO', `cannot write ${out}: ${(e as Error).message}`);
      }
      return { path: out, records: rows.length, bytes: Buffer.byteLength(text) };
    });
  }
}
