import { PackscopeError } from '../../../../shared/errors.js';
import type { FwSlot, FwStatus } from '../../../../shared/image/index.js';
import { openNativeTarget } from '../../flasher/native-backend.js';
import { numberOption, parseCommandArgs, requireOption, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope fw status  --port PATH [--json]   slots, versions, which runs, confirmed or test, security counter
  packscope fw confirm --port PATH [--json]   keep the running test image (and raise the security counter)
  packscope fw revert  --port PATH [--json]   go back to the other slot's image (resets the board)
Options: --baud N.`;

function slotLine(name: string, s: FwSlot): string {
  if (!s.present) return `  ${name.padEnd(9)} empty`;
  const sig = s.signature === 'valid' ? `signed by ${s.signedBy}` : `signature ${s.signature}`;
  return `  ${name.padEnd(9)} ${s.version}  ${s.totalSize} bytes  counter ${s.securityCounter ?? 0}  board ${s.boardId ?? '-'}  ${sig}  ${s.valid ? 'valid' : `NOT BOOTABLE: ${s.problem}`}`;
}

export function printStatus(ctx: CliContext, s: FwStatus): void {
  ctx.out(
    `board ${s.boardId}: running ${s.runningVersion ?? 'nothing'}${s.running ? (s.testing ? ' in TEST mode (reverts at the next reset unless confirmed)' : ' (confirmed)') : ''}`,
  );
  ctx.out(slotLine('primary', s.primary));
  ctx.out(slotLine('secondary', s.secondary));
  ctx.out(
    `  security counter ${s.securityCounter}; pending ${s.pending}; last boot: ${s.lastEvent}${s.lastReason ? ` (${s.lastReason.replace(/_/g, ' ')})` : ''}`,
  );
  const boot =
    s.mode === 'dual-bank'
      ? `; dual bank, running from bank ${(s.activeBank ?? 'a').toUpperCase()} (a new image starts by switching banks)`
      : s.mode === 'swap'
        ? '; swap (a new image is copied in at the reset)'
        : '';
  ctx.out(`  slots of ${s.slotSize} bytes, ${s.sectorSize}-byte sectors; ${s.trustedKeys.length} trusted key(s)${boot}`);
}

export default {
  summary: 'Firmware slots of a board: status, confirm, revert',
  usage,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub !== 'status' && sub !== 'confirm' && sub !== 'revert')
      throw new PackscopeError('USAGE', `fw: unknown subcommand '${sub ?? ''}' (status, confirm, revert)`);
    const { values, positionals } = parseCommandArgs(rest, { port: { type: 'string' }, baud: { type: 'string' } }, true);
    if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
    const port = requireOption(values.port, 'port');
    const baud = values.baud !== undefined ? numberOption(values.baud, 'baud', 115200, 300, 12_000_000) : undefined;
    const opened = await openNativeTarget(port, { ...(baud ? { baud } : {}), signal: ctx.signal });
    try {
      const t = opened.target;
      if (sub === 'status') {
        const s = await t.status(ctx.signal);
        if (values.json) ctx.out(JSON.stringify(s));
        else printStatus(ctx, s);
        return EXIT.OK;
      }
      if (sub === 'confirm') {
        const r = await t.confirm(ctx.signal);
        const s = await t.status(ctx.signal);
        if (values.json) ctx.out(JSON.stringify({ changed: r.changed, status: s }));
        else ctx.out(r.changed ? `confirmed ${s.runningVersion}; security counter now ${s.securityCounter}` : `${s.runningVersion} was already confirmed`);
        return EXIT.OK;
      }
      const before = await t.status(ctx.signal);
      const r = await t.revert(ctx.signal);
      ctx.err(`reverting (${r.mode === 'revert-test' ? 'dropping the unconfirmed test image' : 'swapping back to the secondary image'}): resetting the board`);
      await t.reset(ctx.signal);
      const s = await t.status(ctx.signal);
      if (values.json) ctx.out(JSON.stringify({ mode: r.mode, from: before.runningVersion, status: s }));
      else ctx.out(`reverted: ${before.runningVersion} → ${s.runningVersion}${s.testing ? ' (test mode)' : ''}`);
      return EXIT.OK;
    } finally {
      await opened.close().catch(() => undefined);
    }
  },
} satisfies CommandModule;
