import path from 'node:path';
import { PackscopeError } from '../../../../shared/errors.js';
import type { TransferProgress } from '../../../../shared/types/domain.js';
import { loadTrustedKeys, readInputFile } from '../../flasher/files.js';
import { flashImage, type FlashReport } from '../../flasher/flasher.js';
import { FLASH_PROTOCOLS, type FlashBackend, type FlashInvocation, type FlashProtocol } from '../../flasher/protocols.js';
import { numberOption, parseCommandArgs, requireOption, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const COMMON = {
  port: { type: 'string' },
  protocol: { type: 'string' },
  confirm: { type: 'boolean' },
  trust: { type: 'string', multiple: true },
  'no-compress': { type: 'boolean' },
  baud: { type: 'string' },
} as const;

const usage = `Usage: packscope flash --port PATH IMAGE [--protocol native|stm32-rom|uds] [--confirm]
                      [--trust PUB.pem ...] [--no-compress] [--baud N] [--json]

Puts a signed MCUboot image on a board without ever leaving it unbootable. Before anything is
erased, the image is checked against the connected board: its board id, a signature by a key the
board trusts (and by one of the --trust keys, if given), its security counter (no rollback), its
size. A refusal says which check failed (exit 7). Then: resume (only sectors the board does not
already hold are sent), windowed upload, read-back hash verified by the board, test boot, and with
--confirm the image is made permanent; without it, the board reverts at its next reset unless
'packscope fw confirm' is run. Ctrl-C is always safe: the running image is never touched.

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

export async function runFlash(argv: string[], ctx: CliContext): Promise<number> {
  const protoIndex = argv.indexOf('--protocol');
  const protocol = (protoIndex >= 0 ? argv[protoIndex + 1] : argv.find((a) => a.startsWith('--protocol='))?.slice(11)) ?? 'native';
  const loader = FLASH_PROTOCOLS[protocol as FlashProtocol];
  if (!loader) throw new PackscopeError('USAGE', `--protocol must be one of ${Object.keys(FLASH_PROTOCOLS).join(', ')} (got '${protocol}')`);
  const backend: FlashBackend = (await loader()).default;
  const { values, positionals } = parseCommandArgs(argv, { ...COMMON, ...(backend.options ?? {}) }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'flash needs exactly one IMAGE file');
  const inv: FlashInvocation = {
    port: requireOption(values.port as string | undefined, 'port'),
    file: positionals[0]!,
    confirm: !!values.confirm,
    trust: (values.trust as string[] | undefined) ?? [],
    json: !!values.json,
    compress: !values['no-compress'],
    ...(values.baud !== undefined ? { baud: numberOption(values.baud as string, 'baud', 115200, 300, 12_000_000) } : {}),
    values: values as FlashInvocation['values'],
  };
  if (backend.run) return backend.run(inv, ctx);
  if (!backend.openTarget) throw new PackscopeError('INTERNAL', `protocol ${protocol} has no flash implementation`);
  const file = readInputFile(inv.file, 'image');
  const trust = loadTrustedKeys(inv.trust);
  const opened = await backend.openTarget(inv, ctx);
  try {
    const report = await flashImage(opened.target, file, {
      trust,
      confirm: inv.confirm,
      compress: inv.compress,
      signal: ctx.signal,
      onProgress: progressPrinter(ctx, inv.json),
      log: (line) => ctx.err(inv.json ? JSON.stringify({ log: line }) : line),
    });
    const ratio = opened.lineBytesPerSecond && Number.isFinite(opened.lineBytesPerSecond) ? report.payloadRate / opened.lineBytesPerSecond : null;
    if (inv.json) {
      ctx.out(JSON.stringify({ file: inv.file, port: inv.port, protocol, ...report, lineRatio: ratio }));
    } else {
      const s = report.status;
      ctx.out(`${path.basename(inv.file)} → ${inv.port}: ${describeOutcome(report)}`);
      ctx.out(`  image        ${report.image.version} for ${report.image.boardId}, ${report.image.size} bytes, security counter ${report.image.securityCounter ?? 0}`);
      if (report.bytesSent > 0 || report.bytesSkipped > 0) {
        ctx.out(`  transfer     ${report.bytesSent} bytes sent, ${report.bytesSkipped} already on the board, ${report.uploadSeconds.toFixed(1)} s, ${(report.payloadRate / 1024).toFixed(1)} KiB/s${ratio !== null ? ` (${ratio.toFixed(2)} × line rate)` : ''}${report.compressed ? ', compressed' : ''}`);
      }
      ctx.out(`  now running  ${s.runningVersion ?? 'nothing'}${s.testing ? ' (test mode, not confirmed)' : ' (confirmed)'}; security counter ${s.securityCounter}`);
      ctx.out(`  sha256       ${report.image.hash}`);
    }
    return EXIT.OK;
  } finally {
    await opened.close().catch(() => undefined);
  }
}

export default {
  summary: 'Flash a signed firmware image (native, UDS over CAN, or STM32 ROM recovery)',
  usage,
  async helpText() {
    const parts = [usage];
    for (const [name, load] of Object.entries(FLASH_PROTOCOLS)) {
      if (name === 'native' || !load) continue;
      parts.push(`\n--protocol ${name}:\n${(await load()).default.usage}`);
    }
    return parts.join('\n');
  },
  run: runFlash,
} satisfies CommandModule;
