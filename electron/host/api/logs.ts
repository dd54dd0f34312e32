import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { csvHeader, csvRow } from '../../../shared/blackbox/export.js';
import { parsePublicKeyPem } from '../../../shared/blackbox/certificate.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import type { Params, Res } from '../../../shared/api/contract.js';
import { codeFromNonce, MAX_TICKET_FILE_BYTES, nonceFromCode, parseTicketFile, ticketNonce } from '../../../shared/evidence/ticket.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { exportLog, openPslog, pullLog, type PslogReader } from '../blackbox/index.js';
import { desktopRecordingOf } from '../recorder/index.js';
import type { DeviceSession } from './device.js';
import { overviewSeries } from './series.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import { SeriesIndexCache } from '../blackbox/series-index.js';

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

/** The claim ticket a download is sealed over: its nonce and, from a ticket file, what the file names. */
interface PullTicket {
  nonce: Uint8Array;
  code: string;
  claimId: string | null;
  serial: string | null;
  expiresAt: string | null;
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The ticket of a download: a typed code (read back through its check character) or a ticket file
 * (its nonce, serial and claim id; the signature is the supplier's to check). Problems come back in
 * the words of the Logs screen, before the pack is asked for anything.
 */
export async function pullTicketOf(req: { ticketCode?: string | undefined; ticketPath?: string | undefined }): Promise<PullTicket | null> {
  if (req.ticketCode !== undefined && req.ticketPath !== undefined) throw new PackscopeError('USAGE', 'Give the claim code or the ticket file, not both.');
  if (req.ticketCode !== undefined) {
    let nonce: Uint8Array;
    try {
      nonce = nonceFromCode(req.ticketCode);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      throw new PackscopeError('USAGE', `${sentence(e.message)}. Check it against what your supplier gave you.`);
    }
    return { nonce, code: codeFromNonce(nonce), claimId: null, serial: null, expiresAt: null };
  }
  if (req.ticketPath !== undefined) {
    const name = path.basename(req.ticketPath);
    let bytes: Buffer;
    try {
      bytes = await readFile(req.ticketPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PackscopeError(
        code === 'ENOENT' ? 'NOT_FOUND' : code === 'EACCES' || code === 'EPERM' ? 'PERMISSION' : 'IO',
        `Cannot read the ticket file ${req.ticketPath}: ${(e as Error).message}`,
      );
    }
    if (bytes.length > MAX_TICKET_FILE_BYTES)
      throw new PackscopeError(
        'DECODE',
        `${name} is not a claim ticket from your supplier (a ticket file is a few hundred bytes, this one is ${bytes.length}).`,
      );
    try {
      const file = parseTicketFile(new Uint8Array(bytes));
      const nonce = ticketNonce(file);
      return { nonce, code: codeFromNonce(nonce), claimId: file.ticket.claimId, serial: file.ticket.serial, expiresAt: file.ticket.expiresAt };
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      throw new PackscopeError('DECODE', `${name} is not a claim ticket from your supplier: ${e.message.replace(/^not (a valid )?(a )?claim ticket:\s*/, '')}`);
    }
  }
  return null;
}

/** The plain refusal of a ticket for another pack. */
function otherPack(ticketSerial: string, connected: string): PackscopeError {
  return new PackscopeError(
    'REFUSED',
    `This ticket is for pack ${ticketSerial}, the connected pack is ${connected}. Nothing was read from the pack: connect the pack the ticket names, or ask your supplier for a ticket for pack ${connected}.`,
  );
}

/**
 * Downloads cut short in `dir` (cancelled, link lost, app closed): the board's black box, not a
 * desktop recording's leftovers. Each resumes with log.pull { out: path, resume: true }.
 */
export async function listPartialPulls(dir: string): Promise<Res<'log.partials'>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Res<'log.partials'> = [];
  for (const name of names.filter((n) => n.endsWith('.pslog.partial')).sort()) {
    const partial = path.join(dir, name);
    try {
      const st = await stat(partial);
      const item = await withReader(partial, async (r) =>
        desktopRecordingOf(r.meta)
          ? null
          : { path: partial.replace(/\.partial$/, ''), bytes: st.size, mtimeMs: st.mtimeMs, serial: r.identity?.serial ?? null, segments: r.segmentCount },
      );
      if (item) out.push(item);
    } catch {
      // Not even a preamble: nothing to resume from.
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/** The pull's own texts name command-line options; on the Logs screen the Resume button does that job. */
const PULL_WORDS: [RegExp, string][] = [
  [/ \(run again with --resume\)/g, ' (Resume continues from there)'],
  [/pull afresh without --resume/g, 'download it afresh'],
  [/resume with that nonce, or/g, 'resume with the ticket it began with, or'],
];

function inLogsWords(e: unknown): unknown {
  if (!(e instanceof PackscopeError)) return e;
  const serial = /^the claim ticket is for serial (.+), but this board's certificate names (.+); nothing was read$/.exec(e.message);
  if (serial) return otherPack(serial[1]!, serial[2]!);
  const message = PULL_WORDS.reduce((t, [re, words]) => t.replace(re, words), e.message);
  return message === e.message ? e : new PackscopeError(e.code, message, e.details);
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
  /** Logs indexed for range reads (log.series, log.events), shared by every screen. */
  readonly index = new SeriesIndexCache();

  constructor(
    private device: DeviceSession,
    private dataDir: string,
  ) {}

  async pull(
    req: Pick<Params<'log.pull'>, 'out' | 'resume' | 'ticketCode' | 'ticketPath'>,
    signal: AbortSignal,
    onProgress: (p: TransferProgress) => void,
    onFile?: (file: string) => void,
  ): Promise<Res<'log.pull'>> {
    const { out, resume } = req;
    // The ticket first: a mistyped code or a file that is no ticket is reported before the pack is asked.
    const ticket = await pullTicketOf(req);
    const session = this.device.require();
    const native = session.native;
    if (!native)
      throw new PackscopeError(
        'REFUSED',
        `${session.info?.model ?? 'this board'} has no black box to pull (it does not speak the native protocol); record its live data instead`,
      );
    // A ticket names one pack: another one is refused by name, before anything is read. The pull
    // checks the serial again against the board's certificate.
    if (ticket?.serial && session.info?.serial && session.info.serial !== ticket.serial) throw otherPack(ticket.serial, session.info.serial);
    const serial = session.info?.serial ?? 'board';
    const file = out ?? path.join(this.dataDir, `${serial}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '')}.pslog`);
    onFile?.(file);
    // The download has the link to itself: the telemetry stream pauses and comes back afterwards.
    return this.device.exclusive('paused for a black-box download', async () => {
      const r = await pullLog(native.link, {
        out: file,
        resume,
        signal,
        identity: session.info,
        source: { port: session.path },
        onProgress: (p) => onProgress({ done: p.done, total: p.total, rate: p.rate, etaSeconds: p.etaSeconds, phase: `${p.segments} segments` }),
        ...(ticket ? { nonce: ticket.nonce } : {}),
        ...(ticket?.serial ? { expectSerial: ticket.serial } : {}),
      }).catch((e: unknown) => {
        if (session.isDisconnected && !(e instanceof PackscopeError && e.code === 'CANCELLED'))
          throw new PackscopeError(
            'DISCONNECTED',
            'The connection to the board was lost during the download. Everything checked so far is kept: connect the board again, then resume the download here.',
          );
        throw inLogsWords(e);
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
        ticket: ticket ? { code: ticket.code, claimId: ticket.claimId, serial: ticket.serial, expiresAt: ticket.expiresAt } : null,
      };
    });
  }

  async open(file: string, rootKeyPath?: string): Promise<Res<'log.open'>> {
    const root = await rootSpkiFrom(rootKeyPath);
    return withReader(file, async (reader) => {
      // The range index first: the chart reads through it (log.series awaits the same index), so
      // it is drawn while the segments are still being verified.
      const index = await this.index.get(file);
      // A desktop recording has no device key: there is no signature to check (trying each one
      // against an empty key costs four fifths of the time), only hashes, chain and gaps.
      const desktop = desktopRecordingOf(reader.meta) !== null;
      // The segment listing comes from the verification pass itself: one read of the file.
      const listed: Array<{ counter: number; records: number; startMs: number } | { damage: string }> = [];
      const report = await reader.verify(root, {
        ...(desktop ? { verifier: () => false } : {}),
        // The chart is already on screen: its range reads go before the rest of the verification.
        pace: () => this.index.yieldToReads(),
        onSegment: (it) => {
          if (listed.length >= 20_000) return;
          if ('segment' in it) listed.push({ counter: it.segment.header.counter, records: it.segment.recordCount, startMs: it.segment.header.rtcMs });
          else listed.push({ damage: `damaged bytes at offset ${it.damage.offset} (${it.damage.length} bytes): ${it.damage.error.message}` });
        },
      });
      // A desktop recording has no device key by design: its segments are unsigned, which is
      // stated once, not reported as a failure per segment. Damage, gaps and chain breaks still are.
      const relevant = desktop ? report.issues.filter((i) => i.kind !== 'signature' && i.kind !== 'certificate' && i.kind !== 'checkpoint') : report.issues;
      const bySegment = new Map<number, string>();
      for (const i of relevant) if (i.segment !== null && !bySegment.has(i.segment)) bySegment.set(i.segment, i.message);
      const segments: Res<'log.open'>['segments'] = listed.map((s) => {
        if ('damage' in s) return { counter: -1, records: 0, startMs: 0, ok: false, issue: s.damage };
        const issue = bySegment.get(s.counter);
        return { ...s, ok: !issue, ...(issue ? { issue } : {}) };
      });
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
        series: await overviewSeries(index),
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
