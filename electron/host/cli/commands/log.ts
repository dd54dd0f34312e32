import { fstatSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parsePublicKeyPem } from '../../../../shared/blackbox/certificate.js';
import { PackscopeError } from '../../../../shared/errors.js';
import { exportLog } from '../../blackbox/export.js';
import { openPslog, type AttestedExtent, type PslogVerifyReport } from '../../blackbox/pslog.js';
import { NONCE_MAX, NONCE_MIN } from '../../blackbox/pull.js';
import { logLifetime, logLifetimeOf } from '../../health/log-health.js';
import { lifetimeLines } from '../../../../shared/health/text.js';
import { pullFromDevice } from '../device-pull.js';
import { fromHex, toHex } from '../../../../shared/util/bytes.js';
import { nonceFromCode, parseTicketFile, ticketNonce } from '../../../../shared/evidence/ticket.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext, CommandModule } from '../context.js';
import { parseCommandArgs, requireOption, subcommands } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE } from '../device-options.js';
import { desktopRecordingOf } from '../../recorder/pslog-sink.js';
import type { PslogReader } from '../../blackbox/pslog.js';

const USAGE = `Usage:
  packscope log pull --port PATH --out FILE.pslog [--ticket FILE.psticket|CODE | --nonce HEX] [--resume] [--root ROOT.pem] [--no-compress] [--json]
  packscope log verify FILE.pslog --root ROOT.pem [--json]
  packscope log export FILE.pslog --csv OUT.csv | --jsonl OUT.jsonl [--root ROOT.pem] [--force] [--json]
  packscope log info FILE.pslog [--json]

pull     downloads the board's black box (signed segments + a checkpoint of the open segment
         sealed with a fresh nonce), verifying signatures and the hash chain as segments arrive.
         The checkpoint attests the board's extent (oldest and newest segment it holds); segments
         the board closes during the pull are fetched so the file holds all of them.
         --ticket seals the checkpoint over the nonce of the supplier's claim ticket: the
         .psticket file (the board's certificate must name the ticket's serial, else nothing is
         read and the exit code is 7) or the code read out over the phone (XXXX-XXXX-XXXX-XXXX-C).
         --nonce HEX seals it over a given nonce (8–64 bytes) instead of a random one.
         Chunks travel deflated, each against the records before it, where the board supports
         it (a noisy line carries about twice the log); --no-compress sends them as they are.
         Progress (bytes, rate, ETA) goes to stderr. An interrupted pull keeps FILE.pslog.partial;
         --resume re-verifies it, asks the board whether it still holds the same bytes, and
         continues after them (with the same nonce).
verify   checks the device certificate against ROOT.pem (the manufacturing root), every segment's
         hash and signature, the chain, gaps (named by segment counter) and the checkpoint.
         Exit 0 only when everything verifies; 6 when anything does not.
export   one row per record; CSV has a header row with units and event columns. The log is
         verified first, as verify does (the certificate only when --root is given): a log that
         does not verify (bad signature or hash, broken chain, damage, no usable device
         certificate, failed checkpoint, partial download) is not exported; the first problem
         is named on stderr and the exit code is 6. --force exports it anyway, still warning.
         An unsigned desktop recording (monitor --record) is exported with a warning. OUT is
         written under a temporary name and renamed when complete.
info     identity, certificate, segments, records, time span (no verification).

${DEVICE_USAGE}`;

function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtTime(t: number | null): string {
  return t === null ? '–' : new Date(t).toISOString();
}

/** The board's signed extent in one line: counters, its clock, how far back its history goes. */
function attestedText(
  a: { oldest: number | null; newest: number | null; boardTimeMs: number; bootCount: number; historyFrom: number | null; missingCount: number } | null,
): string {
  if (!a) return 'no attested extent (checkpoint of the first format, or none)';
  const span = a.newest === null ? 'no closed segment' : `segments ${a.oldest ?? '–'}…${a.newest}`;
  const from =
    a.historyFrom !== null
      ? `; the board holds history from ${fmtTime(a.historyFrom)}`
      : a.newest === null
        ? ''
        : '; the attested oldest segment is not in the file';
  const missing = a.missingCount ? `; ${a.missingCount} attested segment(s) MISSING from the file` : '';
  return `${span}, board clock ${fmtTime(a.boardTimeMs)} (boot ${a.bootCount})${from}${missing}`;
}

function extentOf(a: AttestedExtent | null) {
  return (
    a && {
      oldest: a.oldestCounter,
      newest: a.newestCounter,
      boardTimeMs: a.boardTimeMs,
      bootCount: a.bootCount,
      historyFrom: a.historyFrom,
      missingCount: a.missingCount,
    }
  );
}

function progressPrinter(ctx: CliContext, json: boolean) {
  let last = 0;
  return (p: { done: number; total: number; rate: number; etaSeconds: number | null; segments?: number }, force = false) => {
    const now = performance.now();
    if (!force && now - last < 250) return;
    last = now;
    if (json) {
      ctx.err(
        JSON.stringify({
          progress: {
            done: p.done,
            total: p.total,
            rate: Math.round(p.rate),
            etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
            segments: p.segments,
          },
        }),
      );
      return;
    }
    const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total).toFixed(1) : '–';
    const eta = p.etaSeconds === null ? '–' : `${Math.ceil(p.etaSeconds)} s`;
    ctx.err(
      `${fmtBytes(p.done)} / ${fmtBytes(p.total)} (${pct} %)  ${fmtBytes(p.rate)}/s  ETA ${eta}${p.segments !== undefined ? `  ${p.segments} segments` : ''}`,
    );
  };
}

async function readRoot(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new PackscopeError('NOT_FOUND', `${path} is a directory, not a root key file`);
    throw new PackscopeError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `${path}: ${(e as Error).message}`);
  }
  return parsePublicKeyPem(text).spki;
}

/** `--nonce HEX`: 8 to 64 bytes as hex (spaces and colons allowed between bytes). */
function parseNonceHex(text: string): Uint8Array {
  const hex = text.replace(/[\s:]/g, '').toLowerCase();
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new PackscopeError('USAGE', `--nonce takes hex bytes, got '${text}'`);
  if (hex.length < 2 * NONCE_MIN || hex.length > 2 * NONCE_MAX)
    throw new PackscopeError('USAGE', `--nonce must be ${NONCE_MIN} to ${NONCE_MAX} bytes, got ${hex.length / 2}`);
  return fromHex(hex);
}

/**
 * `--ticket`: a `.psticket` file (nonce, serial and claim id from it; its signature is the
 * supplier's to check) or the short code of its nonce. A value naming an existing file is the file.
 */
async function readTicket(value: string): Promise<{ nonce: Uint8Array; serial: string | null; claimId: string | null; expiresAt: string | null }> {
  let text: string | null = null;
  try {
    text = await readFile(value, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new PackscopeError('NOT_FOUND', `${value} is a directory, not a .psticket file`);
    if (code !== 'ENOENT' && code !== 'ENAMETOOLONG')
      throw new PackscopeError(code === 'EACCES' || code === 'EPERM' ? 'PERMISSION' : 'IO', `${value}: ${(e as Error).message}`);
    if (/\.psticket$/i.test(value) || /[\\/]/.test(value)) throw new PackscopeError('NOT_FOUND', `${value}: no such ticket file`);
  }
  if (text === null) return { nonce: nonceFromCode(value), serial: null, claimId: null, expiresAt: null };
  const file = parseTicketFile(text);
  return { nonce: ticketNonce(file), serial: file.ticket.serial, claimId: file.ticket.claimId, expiresAt: file.ticket.expiresAt };
}

async function pull(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...DEVICE_OPTIONS,
    out: { type: 'string', short: 'o' },
    resume: { type: 'boolean' },
    root: { type: 'string' },
    // Compression is the default; --compress is still accepted from older scripts.
    compress: { type: 'boolean' },
    'no-compress': { type: 'boolean' },
    nonce: { type: 'string' },
    ticket: { type: 'string' },
  });
  const out = requireOption(values.out, 'out');
  const rootSpki = values.root ? await readRoot(values.root) : undefined;
  if (values.ticket !== undefined && values.nonce !== undefined) throw new PackscopeError('USAGE', 'give --ticket or --nonce, not both');
  const ticket = values.ticket !== undefined ? await readTicket(values.ticket) : null;
  if (ticket?.expiresAt && Date.parse(ticket.expiresAt) <= Date.now())
    ctx.err(`warning: claim ticket ${ticket.claimId} expired at ${ticket.expiresAt}; the supplier may not accept a package sealed over it`);
  const nonce = ticket ? ticket.nonce : values.nonce !== undefined ? parseNonceHex(values.nonce) : undefined;
  const show = progressPrinter(ctx, !!values.json);
  const { result, link } = await pullFromDevice(values, ctx, {
    out,
    resume: !!values.resume,
    onProgress: (p) => show(p),
    ...(rootSpki ? { rootSpki } : {}),
    compress: !values['no-compress'],
    ...(nonce ? { nonce } : {}),
    ...(ticket?.serial ? { expectSerial: ticket.serial } : {}),
  });
  const lifetime = await logLifetimeOf(result.path, ctx.signal);
  const span = result.firstTime !== null && result.lastTime !== null ? (result.lastTime - result.firstTime) / 3_600_000 : 0;
  if (values.json) {
    const sealedOver = ticket ? { ticket: { claimId: ticket.claimId, serial: ticket.serial, nonce: toHex(ticket.nonce) } } : {};
    ctx.out(JSON.stringify({ ...result, ...sealedOver, spanHours: span, link, lifetime }, null, 2));
  } else {
    const rows: Array<[string, string]> = [
      ['File', result.path],
      ['Device', `${result.certificate.model} ${result.certificate.serial}`],
      [
        'Segments',
        `${result.segments} (${result.firstCounter ?? '–'}…${result.lastCounter ?? '–'})${result.resumedSegments ? `, ${result.resumedSegments} kept from the partial` : ''}`,
      ],
      ['Records', String(result.records)],
      ['Time span', `${fmtTime(result.firstTime)} → ${fmtTime(result.lastTime)} (${span.toFixed(2)} h)`],
      ['Signatures', result.signaturesOk ? 'all segments and the checkpoint verify (device key)' : `${result.issues.length} problem(s)`],
      [
        'Attested',
        attestedText(
          result.attestation && { ...result.attestation, boardTimeMs: result.attestation.boardTime, missingCount: result.attestation.missingSegments },
        ),
      ],
      ...(ticket ? [['Sealed over', `claim ticket ${ticket.claimId ?? '(code)'} nonce ${toHex(ticket.nonce)}`] as [string, string]] : []),
      ['Certificate', result.certificate.chainedToRoot ? 'chains to the given root' : 'not checked against a root (use --root or log verify)'],
      [
        'Transferred',
        `${fmtBytes(result.bytesRead)} in ${result.seconds.toFixed(1)} s, average payload rate ${fmtBytes(result.payloadRate)}/s${result.retransmissions ? `, ${result.retransmissions} retransmitted chunks` : ''}${result.chunkSizes.length > 1 ? `; chunks sized to the line's error rate: ${result.chunkSizes[0]} → ${result.chunkSizes.at(-1)} bytes` : ''}`,
      ],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
    for (const i of result.issues.slice(0, 50)) ctx.out(`  ! ${i.message}`);
    for (const line of ['', ...lifetimeLines(lifetime, false)]) ctx.out(line);
  }
  return result.signaturesOk ? EXIT.OK : EXIT.VERIFY_FAILED;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { root: { type: 'string' } }, true);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new PackscopeError('USAGE', 'log verify takes one FILE.pslog');
  const reader = await openPslog(file);
  let report: PslogVerifyReport;
  try {
    // A desktop recording (monitor --record) holds no device signatures: say so plainly rather
    // than report a failed certificate and a signature failure on every segment.
    const desktop = desktopRecordingOf(reader.meta);
    if (desktop) {
      const message = `unsigned desktop recording of a ${desktop.protocol} board: nothing in it is signed by the device, so it cannot be verified as device evidence (${desktop.evidence})`;
      if (values.json) ctx.out(JSON.stringify({ file, ok: false, desktopRecording: desktop, message }, null, 2));
      else ctx.out(`${file}: NOT VERIFIED: ${message}`);
      return EXIT.VERIFY_FAILED;
    }
    const root = await readRoot(requireOption(values.root, 'root'));
    report = await reader.verify(root, { signal: ctx.signal });
  } finally {
    await reader.close();
  }
  const ok = report.ok && report.certificate.ok && report.complete;
  if (values.json) ctx.out(JSON.stringify({ file, ...report, ok, chainOk: report.ok }, null, 2));
  else {
    ctx.out(`${file}: ${ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    ctx.out(
      `  certificate  ${report.certificate.ok ? 'ok' : 'FAILED'}: ${report.certificate.message}${report.certificate.serial ? ` (${report.certificate.model} ${report.certificate.serial})` : ''}`,
    );
    ctx.out(
      `  segments     ${report.segments} (${report.firstCounter ?? '–'}…${report.lastCounter ?? '–'}), ${report.records} records, ${report.missingSegments} missing`,
    );
    ctx.out(
      `  checkpoint   ${report.checkpoint.present ? `${report.checkpoint.ok ? 'ok' : 'FAILED'}, open segment ${report.checkpoint.counter} with ${report.checkpoint.records} records` : 'none'}`,
    );
    ctx.out(`  attested     ${attestedText(extentOf(report.attestation))}`);
    for (const i of report.issues) ctx.out(`  ! ${i.message}`);
    if (report.issueCount > report.issues.length) ctx.out(`  … and ${report.issueCount - report.issues.length} more`);
  }
  return ok ? EXIT.OK : EXIT.VERIFY_FAILED;
}

/**
 * What `log export` checks before writing: the same verification as `log verify` (the certificate
 * chain only when a root is given). Returns the first problem, or null when the log verifies.
 */
async function firstVerifyProblem(reader: PslogReader, rootSpki: Uint8Array | null, signal: AbortSignal): Promise<string | null> {
  const report = await reader.verify(rootSpki, { signal });
  const ok = report.ok && report.complete && (rootSpki === null || report.certificate.ok);
  if (ok) return null;
  if (report.issues.length) return report.issues[0]!.message;
  if (!report.complete) return 'the log is a partial download (not complete)';
  if (rootSpki && !report.certificate.ok) return `device certificate: ${report.certificate.message}`;
  return 'the log does not verify';
}

async function exportCmd(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { csv: { type: 'string' }, jsonl: { type: 'string' }, root: { type: 'string' }, force: { type: 'boolean' } },
    true,
  );
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new PackscopeError('USAGE', 'log export takes one FILE.pslog');
  if (!!values.csv === !!values.jsonl) throw new PackscopeError('USAGE', 'give exactly one of --csv OUT.csv or --jsonl OUT.jsonl');
  const rootSpki = values.root !== undefined ? await readRoot(requireOption(values.root, 'root')) : null;
  const reader = await openPslog(file);
  try {
    // A desktop recording says of itself that nothing in it is signed: there is nothing to verify,
    // so it is exported as recorded, with the warning. Anything else must verify, or be forced.
    const desktop = desktopRecordingOf(reader.meta);
    let problem: string | null = null;
    if (desktop)
      ctx.err(
        `warning: ${file} is an unsigned desktop recording of a ${desktop.protocol} board: nothing in it is signed by the device, so it cannot be verified`,
      );
    else problem = await firstVerifyProblem(reader, rootSpki, ctx.signal);
    if (problem !== null) {
      if (!values.force) {
        throw new PackscopeError(
          'VERIFY_FAILED',
          `${file} does not verify: ${problem}. Nothing was exported; 'packscope log verify' gives the full report, --force exports it anyway`,
        );
      }
      ctx.err(`warning: ${file} does not verify: ${problem}. Exporting it anyway (--force)`);
    }
    const format = values.csv ? 'csv' : 'jsonl';
    const out = (values.csv ?? values.jsonl)!;
    const r = await exportLog(reader, out, format, { signal: ctx.signal });
    // Exported to this process's own standard output (--csv /dev/stdout): the summary must not
    // land in the middle of the data, so it goes to stderr.
    const say = isOwnStdout(out) ? ctx.err : ctx.out;
    if (values.json)
      say(
        JSON.stringify({
          ...r,
          verified: problem === null && !desktop,
          ...(problem !== null ? { problem } : {}),
          ...(desktop ? { desktopRecording: true } : {}),
        }),
      );
    else
      say(
        `${r.records} records → ${r.path} (${fmtBytes(r.bytes)} in ${r.seconds.toFixed(2)} s)${problem !== null ? ' — from a log that does NOT verify' : ''}`,
      );
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}

/** True when PATH is the file, pipe or terminal this process's stdout (fd 1) writes to. */
function isOwnStdout(path: string): boolean {
  try {
    const a = statSync(path);
    const b = fstatSync(1);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

async function info(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {}, true);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new PackscopeError('USAGE', 'log info takes one FILE.pslog');
  const reader = await openPslog(file);
  try {
    const n = reader.segmentCount;
    const first = reader.complete && n ? await reader.indexEntry(0) : null;
    const last = reader.complete && n ? await reader.indexEntry(n - 1) : null;
    const records = await reader.recordCount();
    const cert = reader.certificate;
    const desktop = desktopRecordingOf(reader.meta);
    const data = {
      file,
      complete: reader.complete,
      fileSize: reader.fileSize,
      segmentSize: reader.preamble.segmentSize,
      segments: n,
      firstCounter: first?.counter ?? null,
      lastCounter: last?.counter ?? null,
      records,
      firstTime: first?.rtcMs ?? null,
      lastSegmentTime: last?.rtcMs ?? null,
      checkpoint: reader.checkpoint ? { counter: reader.checkpoint.counter, records: reader.checkpoint.recordCount } : null,
      attestation: await reader.attestedExtent(),
      identity: reader.identity,
      certificate: cert ? { serial: cert.serial, model: cert.model, boardId: cert.boardId, issued: new Date(cert.issuedMs).toISOString() } : null,
      pulledAt: reader.meta.pulledAt,
      tool: reader.meta.tool,
      desktopRecording: desktop,
      lifetime: desktop ? null : await logLifetime(reader, ctx.signal),
    };
    if (values.json) ctx.out(JSON.stringify(data, null, 2));
    else {
      const rows: Array<[string, string]> = [
        ['File', `${file} (${fmtBytes(data.fileSize)}${data.complete ? '' : ', PARTIAL download'})`],
        [
          'Device',
          cert
            ? `${cert.model} ${cert.serial} (${cert.boardId})`
            : desktop
              ? `${reader.identity?.model ?? '?'} ${reader.identity?.serial ?? ''} — unsigned desktop recording (${desktop.protocol}; weaker evidence: no device signatures)`
              : 'no certificate',
        ],
        ['Firmware', reader.identity?.firmwareVersion ?? '–'],
        ['Segments', `${n} × ${data.segmentSize} B${first ? ` (${first.counter}…${last!.counter})` : ''}`],
        ['Records', String(records)],
        ['Time span', `${fmtTime(data.firstTime)} → ${fmtTime(data.lastSegmentTime)}`],
        ['Checkpoint', data.checkpoint ? `open segment ${data.checkpoint.counter}, ${data.checkpoint.records} records` : 'none'],
        ['Attested', attestedText(extentOf(data.attestation))],
        ['Pulled', `${data.pulledAt} by ${data.tool}`],
      ];
      const w = Math.max(...rows.map((r) => r[0].length));
      for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
      if (!desktop) for (const line of ['', ...lifetimeLines(data.lifetime, false)]) ctx.out(line);
    }
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}

export default {
  summary: 'Black-box log: pull (resumable, verified), verify, export CSV/JSONL, info',
  usage: USAGE,
  run: subcommands('log', USAGE, { pull, verify, export: exportCmd, info }),
} satisfies CommandModule;
