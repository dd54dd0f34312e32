import { isoTpCeiling } from '../../../shared/can/bittime.js';
import { SEED_KEY_ALGORITHMS } from '../../../shared/can/seedkey.js';
import { numberOption } from '../cli/context.js';
import type { FlashBackend, FlashInvocation, OpenedTarget } from '../flasher/protocols.js';
import { openUdsFlashTarget, parseCanId } from './uds-flash.js';

/**
 * `flash --protocol uds`: UDS over ISO-TP on an SLCAN adapter. The report's line ratio is the
 * payload rate ÷ the ISO-TP ceiling at the bus bitrate (7 payload bytes per 111-bit frame).
 */
export default {
  usage: `  uds:  --bitrate N        CAN bitrate (default 500000)
        --tx ID --rx ID    UDS request / response identifiers (default 0x7E0 / 0x7E8)
        --seed-key NAME    security-access algorithm: ${Object.keys(SEED_KEY_ALGORITHMS).join(', ')} (default packscope-hmac)`,
  options: { bitrate: { type: 'string' }, tx: { type: 'string' }, rx: { type: 'string' }, 'seed-key': { type: 'string' } },
  async openTarget(inv: FlashInvocation, ctx): Promise<OpenedTarget> {
    const bitrate = numberOption(inv.values.bitrate as string | undefined, 'bitrate', 500_000, 10_000, 1_000_000);
    // The PackScope UDS bootloader takes raw data (dataFormatIdentifier 00): no compression.
    inv.compress = false;
    const opened = await openUdsFlashTarget({
      port: inv.port,
      bitrate,
      txId: parseCanId(inv.values.tx as string | undefined, 'tx', 0x7e0),
      rxId: parseCanId(inv.values.rx as string | undefined, 'rx', 0x7e8),
      ...(typeof inv.values['seed-key'] === 'string' ? { seedKey: inv.values['seed-key'] } : {}),
      signal: ctx.signal,
    });
    return { ...opened, lineBytesPerSecond: isoTpCeiling(bitrate) };
  },
} satisfies FlashBackend;
