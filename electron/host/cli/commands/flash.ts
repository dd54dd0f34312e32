import path from 'node:path';
import type { TransferProgress } from '../../../../shared/types/domain.js';
import type { FlashPhases, FlashReport } from '../../flasher/flasher.js';
import type { Stm32FlashResult, Stm32VerifyMethod } from '../../stm32/rom-flasher.js';
import {
  probeUdsBootloader,
  runFlashJob,
  type FlashProgress,
  type ImageFlashResult,
  type Stm32RomFlashResult,
  type UdsGenericFlashJob,
  type UdsGenericFlashResult,
} from '../../flasher/flash-backends.js';
import { numberOption, parseCommandArgs, type CliContext, type CommandModule } from '../context.js';
import { EXIT, EXIT_BY_ERROR } from '../exit-codes.js';
import type { LineRow } from '../../flasher/production.js';
import { loadTrustedKeys, readInputFile } from '../../flasher/files.js';
import { writeFileAtomic } from '../../util/files.js';
import type { ErrorCode } from '../../../../shared/errors.js';
import { ADDRESS_NOT_FOR_PACKSCOPE, FLASH_PROTOCOL_USAGE, parseFlashCommand } from '../flash-options.js';
import { PackscopeError } from '../../../../shared/errors.js';
import { defaultDataDir } from '../../api/files.js';

/**
 * `packscope flash`: the flash back ends' adapter. Arguments become a typed job
 * (../flash-options.ts), the back end runs it (electron/host/flasher/flash-backends.ts), and this
 * prints its progress and result.
 */

const usage = `Usage: packscope flash --port PATH IMAGE [--protocol native|stm32-rom|uds] [--confirm]
                      [--trust PUB.pem ...] [--no-compress] [--baud N] [--capture FILE.jsonl] [--json]
       packscope flash --ports P1,P2,… IMAGE|BUNDLE.psfw [--confirm] [--trust PUB.pem ...]
                      [--report REPORT.csv] [--concurrency N] [--json]

Puts a signed MCUboot image on a board without ever leaving it unbootable. Before anything is
erased, the image is checked against the connected board: its board id, a signature by a key the
board trusts (and by one of the --trust keys, if given), its security counter (no rollback), its
size. A refusal says which check failed (exit 7). Then: resume (only sectors the board does not
already hold are sent), windowed upload, read-back hash verified by the board, test boot, and with
--confirm the image is made permanent; without it, the board reverts at its next reset unless
'packscope fw confirm' is run. Ctrl-C is always safe: the running image is never touched.

--ports is the production line: the same signed image, or a release bundle (.psfw, applied with
its checks, self-test and confirm), onto the boards on every port at once (native protocol). One
report: a row per board (port, board, serial, old and new version, result, code, seconds) as a
table, --json, and with --report a CSV file. A failing board never stops the others; the exit
code is that of the first board that did not succeed (0 when all did).

Over the native protocol (one port or --ports) each board's settings are backed up to settings-backups/ in the data folder
once every check has passed, before anything is erased, and compared with the board afterwards
(a new image may reset them: 'packscope settings restore' puts them back).

--capture FILE.jsonl records every byte sent to and received from the port, with its time
('packscope replay FILE.jsonl' plays the board back).

--protocol stm32-rom and uds take their own options (see their usage below).`;

function progressPrinter(ctx: CliContext, json: boolean) {
  let last = 0;
  let printedDone = false;
  return (p: TransferProgress) => {
    const now = performance.now();
    const done = p.done >= p.total;
    if (done ? printedDone : now - last < (ctx.isTTY ? 150 : 1000)) return;
    printedDone = done;
    last = now;
    if (json) {
      ctx.err(JSON.stringify({ progress: p }));
      return;
    }
    const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '0';
    const eta = p.etaSeconds === null ? '--' : `${Math.ceil(p.etaSeconds)} s`;
    ctx.err(`${p.phase ?? 'upload'} ${pct}%  ${p.done}/${p.total} bytes  ${(p.rate / 1024).toFixed(1)} KiB/s  ETA ${eta}`);
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** STM32 ROM progress: connect and erase are single exchanges, announced by the log lines; write and verify get a line per second on a terminal, every few seconds in a log, and one at each phase's end. */
function romProgressPrinter(ctx: CliContext) {
  let lastPrint = 0;
  let lastPhase = '';
  return (p: FlashProgress) => {
    if (p.phase !== 'write' && p.phase !== 'verify') return;
    const now = performance.now();
    if (p.phase === lastPhase && p.done < p.total && now - lastPrint < (ctx.isTTY ? 1000 : 3000)) return;
    lastPrint = now;
    lastPhase = p.phase;
    const rate = p.rate > 0 ? `${kib(p.rate)}/s` : '--';
    const eta = p.etaSeconds === null ? '--' : `${Math.ceil(p.etaSeconds)} s`;
    ctx.err(`${p.phase.padEnd(6)} ${kib(p.done)} / ${kib(p.total)}  ${rate}  ETA ${eta}`);
  };
}

const VERIFIED_BY: Record<Stm32VerifyMethod, (r: Stm32FlashResult) => string> = {
  checksum: () => "by the bootloader's CRC (Get Checksum)",
  'read-back': () => 'by read-back',
  'checksum+read-back': (r) => `by the bootloader's CRC, ${r.readBackBytes} bytes by read-back after a CRC mismatch`,
};

function printRomResult(r: Stm32RomFlashResult, file: string, json: boolean, ctx: CliContext): void {
  const { result, baudRate, parity, payloadRate, lineRate } = r;
  if (json) {
    ctx.out(JSON.stringify({ protocol: r.protocol, port: r.port, file, format: r.format, baudRate, parity, ...result, payloadRate, lineRate }));
    return;
  }
  const erasedRange =
    result.erased.length === 0
      ? 'nothing'
      : result.erased.length === 1
        ? `sector ${result.erased[0]!.index}`
        : `sectors ${result.erased.map((e) => e.index).join(', ')}`;
  ctx.out(`Flashed ${result.imageBytes} bytes to ${result.part} (ID 0x${result.productId.toString(16)}, bootloader ${result.bootloaderVersion}) on ${r.port}`);
  ctx.out(
    `  erased ${erasedRange} in ${secs(result.phasesMs.erase)}${result.collateralErasedBytes ? ` (${result.collateralErasedBytes} bytes beyond the image)` : ''}` +
      (result.eraseSkipped.length ? `; sector(s) ${result.eraseSkipped.join(', ')} already blank, not erased` : ''),
  );
  ctx.out(`  wrote ${result.blocksWritten} block(s), ${result.blocksSkipped} blank block(s) not sent, in ${secs(result.phasesMs.write)}`);
  ctx.out(
    result.verified
      ? `  verified all ${result.imageBytes} bytes ${VERIFIED_BY[result.verifiedBy ?? 'read-back'](result)} in ${secs(result.phasesMs.verify)}`
      : '  NOT verified (--no-verify)',
  );
  ctx.out(
    `  total ${secs(result.durationMs)}: ${kib(payloadRate)}/s, ${(payloadRate / lineRate).toFixed(2)} × line rate (${baudRate} baud 8E1${parity === 'none' ? ', port opened 8N1' : ''})`,
  );
  if (result.retries) ctx.out(`  ${result.retries} exchange(s) retried after line errors`);
  ctx.out(
    result.started !== null
      ? `  started the application at 0x${result.started.toString(16)}`
      : '  the board stays in its bootloader: set BOOT0 low and reset it (or flash with --go)',
  );
}

function printImageResult(r: ImageFlashResult, file: string, json: boolean, ctx: CliContext): void {
  const { report, lineRatio: ratio } = r;
  if (json) {
    ctx.out(JSON.stringify({ file, port: r.port, protocol: r.protocol, ...report, lineRatio: ratio, ...(r.settings ? { settings: r.settings } : {}) }));
    return;
  }
  const s = report.status;
  ctx.out(`${path.basename(file)} → ${r.port}: ${describeOutcome(report)}`);
  ctx.out(
    `  image        ${report.image.version} for ${report.image.boardId}, ${report.image.size} bytes, security counter ${report.image.securityCounter ?? 0}`,
  );
  if (report.bytesSent > 0 || report.bytesSkipped > 0) {
    ctx.out(
      `  transfer     ${report.bytesSent} bytes sent, ${report.bytesSkipped} already on the board, ${report.uploadSeconds.toFixed(1)} s, ${(report.payloadRate / 1024).toFixed(1)} KiB/s${ratio !== null ? ` (${ratio.toFixed(2)} × line rate)` : ''}${report.compressed ? ', compressed' : ''}`,
    );
  }
  ctx.out(
    `  now running  ${s.runningVersion ?? 'nothing'}${s.testing ? ' (test mode, not confirmed)' : ' (confirmed)'}; security counter ${s.securityCounter}`,
  );
  ctx.out(`  sha256       ${report.image.hash}`);
  const ph = Object.entries(report.phases).filter(([, v]) => v >= 0.05);
  ctx.out(`  time         ${report.seconds.toFixed(1)} s: ${ph.map(([k, v]) => `${PHASE_NAMES[k as keyof FlashPhases]} ${v.toFixed(1)} s`).join(', ')}`);
  const set = r.settings;
  if (!set?.backup) return;
  ctx.out(`  settings     backed up before the flash to ${set.backup.path}`);
  if (set.changed === null)
    ctx.out(`               not compared after the flash; to restore them: packscope settings restore --port ${r.port} ${set.backup.path}`);
  else if (!set.changed.length) ctx.out('               unchanged by the flash');
  else {
    ctx.out(`               ${set.changed.length} changed by the flash: ${set.changed.map((d) => `${d.id} ${d.right} → ${d.left}`).join(', ')}`);
    ctx.out(`               to restore them: packscope settings restore --port ${r.port} ${set.backup.path}`);
  }
}

const PHASE_NAMES: Record<keyof FlashPhases, string> = {
  status: 'status reads',
  begin: 'checks and erase',
  erase: 'erase',
  upload: 'upload',
  verify: 'verification',
  activate: 'activation',
  reset: 'reset and swap',
  confirm: 'confirm',
};

const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;

function printUdsGenericResult(r: UdsGenericFlashResult, file: string, json: boolean, ctx: CliContext): void {
  const x = r.report;
  if (json) {
    ctx.out(JSON.stringify({ file, port: r.port, protocol: r.protocol, format: r.format, ...x, lineRatio: r.lineRatio }));
    return;
  }
  ctx.out(
    `${path.basename(file)} → ${x.ecu} on ${r.port} (profile ${x.profile}): written${x.checked ? ' and checked by the ECU' : ''}${x.reset ? ', ECU reset' : ''}`,
  );
  ctx.out(`  software     ${x.before.softwareVersion ?? '?'} → ${x.after ? (x.after.softwareVersion ?? '?') : '(not reset)'}`);
  ctx.out(`  data         ${x.bytesTotal} bytes in ${x.segments.length} segment(s) at ${x.segments.map((s) => hex(s.address)).join(', ')}, CRC-32 ${x.crc32}`);
  ctx.out(
    `  transfer     ${x.blocks} blocks of up to ${x.blockPayload} bytes (maxNumberOfBlockLength ${x.maxNumberOfBlockLength}), ${x.uploadSeconds.toFixed(1)} s, ${kib(x.payloadRate)}/s (${r.lineRatio.toFixed(2)} × the ISO-TP ceiling)`,
  );
  if (x.responsePending || x.retransmissions || x.sequenceWraps)
    ctx.out(`  protocol     ${x.responsePending} response-pending answer(s), ${x.sequenceWraps} counter wrap(s), ${x.retransmissions} block(s) repeated`);
}

function describeOutcome(r: FlashReport): string {
  switch (r.outcome) {
    case 'installed-confirmed':
      return 'installed and confirmed';
    case 'installed-test':
      return 'installed in test mode (reverts at the next reset unless confirmed: packscope fw confirm)';
    case 'confirmed-running':
      return 'was already running in test mode; now confirmed';
    default:
      return 'already running; nothing to do';
  }
}

function rowExit(r: LineRow): number {
  if (r.result === 'ok') return EXIT.OK;
  if (r.result === 'refused') return EXIT.REFUSED;
  if (r.result === 'reverted') return EXIT.VERIFY_FAILED;
  return EXIT_BY_ERROR[r.code as ErrorCode] ?? EXIT.FAILURE;
}

async function runLine(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ports: { type: 'string' },
      confirm: { type: 'boolean' },
      trust: { type: 'string', multiple: true },
      baud: { type: 'string' },
      report: { type: 'string' },
      concurrency: { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'flash --ports needs exactly one IMAGE or BUNDLE file');
  const ports = (values.ports ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (ports.length === 0) throw new PackscopeError('USAGE', '--ports takes a comma-separated list of ports');
  if (new Set(ports).size !== ports.length) throw new PackscopeError('USAGE', '--ports lists a port twice');
  const file = readInputFile(positionals[0]!, 'image or bundle');
  const trust = loadTrustedKeys((values.trust as string[] | undefined) ?? []);
  const baudRate = values.baud !== undefined ? numberOption(values.baud, 'baud', 115200, 300, 12_000_000) : undefined;
  const concurrency = numberOption(values.concurrency, 'concurrency', ports.length, 1, 256);
  const json = !!values.json;
  const { flashLine, lineReportCsv } = await import('../../flasher/production.js');
  const rows = await flashLine({
    ports,
    file,
    confirm: !!values.confirm,
    trust,
    concurrency,
    ...(baudRate ? { baudRate } : {}),
    settingsBackupDir: path.join(defaultDataDir(), 'settings-backups'),
    signal: ctx.signal,
    log: (port, line) => ctx.err(json ? JSON.stringify({ port, log: line }) : `${port}: ${line}`),
    onRow: (r) => ctx.err(json ? JSON.stringify({ port: r.port, result: r.result }) : `${r.port}: ${r.result}${r.code ? ` (${r.code})` : ''}`),
  });
  if (values.report) writeFileAtomic(values.report, lineReportCsv(rows));
  const okCount = rows.filter((r) => r.result === 'ok').length;
  if (json) ctx.out(JSON.stringify({ boards: rows.length, ok: okCount, rows, ...(values.report ? { report: values.report } : {}) }));
  else {
    ctx.out(`${okCount} of ${rows.length} board(s) done`);
    for (const r of rows)
      ctx.out(
        `  ${r.port.padEnd(16)} ${(r.serial ?? '?').padEnd(14)} ${(r.oldVersion ?? '?').padEnd(10)} → ${(r.newVersion ?? '?').padEnd(10)} ${r.result}${r.code ? ` (${r.code})` : ''}  ${r.seconds.toFixed(1)} s  ${r.result === 'ok' ? '' : r.message}`,
      );
    if (values.report) ctx.out(`report: ${values.report}`);
  }
  return rows.map(rowExit).find((c) => c !== EXIT.OK) ?? EXIT.OK;
}

export async function runFlash(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.some((a) => a === '--ports' || a.startsWith('--ports='))) return runLine(argv, ctx);
  const { job, file, json, ifGeneric } = parseFlashCommand(argv);
  const log = (line: string) => ctx.err(json ? JSON.stringify({ log: line }) : line);
  let generic: UdsGenericFlashJob | null = job.protocol === 'uds-generic' ? job : null;
  if (job.protocol === 'uds' && ifGeneric) {
    const probe = await probeUdsBootloader({
      port: job.port,
      bitrate: job.bitrate ?? 500_000,
      txId: job.txId ?? 0x7e0,
      rxId: job.rxId ?? 0x7e8,
      signal: ctx.signal,
      // The flash goes on through the probe's adapter (one open, not two); a capture records
      // the flash's own open instead.
      keepOpen: !job.wrapTransport,
    });
    log(
      probe.kind === 'packscope'
        ? "PackScope's UDS bootloader answers: signed-image flashing"
        : "an ISO 14229 bootloader answers: the 'generic' profile (--profile names another)",
    );
    if (probe.kind === 'generic') generic = ifGeneric();
    else if (argv.some((a) => a === '--address' || a.startsWith('--address='))) {
      await probe.opened?.close();
      throw new PackscopeError('USAGE', ADDRESS_NOT_FOR_PACKSCOPE);
    } else {
      job.status = probe.status; // the flasher checks the image against this: no second read
      if (probe.opened) job.opened = probe.opened;
    }
  }
  if (generic) {
    const r = await runFlashJob({ ...generic, signal: ctx.signal, onProgress: progressPrinter(ctx, json), log });
    printUdsGenericResult(r, file, json, ctx);
    return EXIT.OK;
  }
  if (job.protocol === 'stm32-rom') {
    const r = await runFlashJob({ ...job, signal: ctx.signal, onProgress: romProgressPrinter(ctx), log: (line) => ctx.err(line) });
    printRomResult(r, file, json, ctx);
    return EXIT.OK;
  }
  if (job.protocol === 'uds-generic') return EXIT.OK; // handled above
  // A native flash backs the board's settings up first (a new image may reset them), as bundle apply does.
  const backup = job.protocol === 'native' ? { settingsBackupDir: path.join(defaultDataDir(), 'settings-backups') } : {};
  const r = await runFlashJob({ ...job, ...backup, signal: ctx.signal, onProgress: progressPrinter(ctx, json), log });
  printImageResult(r, file, json, ctx);
  return EXIT.OK;
}

export default {
  summary: 'Flash a signed firmware image (native, UDS over CAN, or STM32 ROM recovery)',
  usage,
  async helpText() {
    return [usage, ...FLASH_PROTOCOL_USAGE.map(([name, text]) => `\n--protocol ${name}:\n${text}`)].join('\n');
  },
  run: runFlash,
} satisfies CommandModule;
