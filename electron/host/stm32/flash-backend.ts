import { PackscopeError } from '../../../shared/errors.js';
import type { CliContext } from '../cli/context.js';
import { parseAddress, runStm32Flash, STM32_FLASH_USAGE } from './cli.js';

/**
 * `packscope flash --protocol stm32-rom`: the flash command's backend for the STM32 ROM
 * bootloader. It runs its own flow (raw firmware, no MCUboot checks: the ROM is the recovery path
 * for a board whose application, bootloader included, is broken). Shaped as the flasher's
 * FlashBackend (electron/host/flasher/protocols.ts) with `run`.
 */
interface Invocation {
  port: string;
  file: string;
  confirm: boolean;
  trust: string[];
  json: boolean;
  baud?: number;
  values: Record<string, string | boolean | string[] | undefined>;
}

const backend = {
  usage: STM32_FLASH_USAGE,
  options: {
    address: { type: 'string' },
    parity: { type: 'string' },
    'no-verify': { type: 'boolean' },
    go: { type: 'boolean' },
    'go-address': { type: 'string' },
  } as const,
  async run(inv: Invocation, ctx: CliContext): Promise<number> {
    if (inv.confirm || inv.trust.length) {
      throw new PackscopeError('USAGE', '--confirm and --trust apply to signed images; the STM32 ROM bootloader writes raw firmware (drop them)');
    }
    const parity = inv.values.parity;
    if (parity !== undefined && parity !== 'none' && parity !== 'even') throw new PackscopeError('USAGE', `--parity must be none or even, got '${String(parity)}'`);
    const goAddress = parseAddress(inv.values['go-address'] as string | undefined, 'go-address');
    return runStm32Flash(
      {
        port: inv.port,
        file: inv.file,
        address: parseAddress(inv.values.address as string | undefined, 'address'),
        ...(inv.baud !== undefined ? { baudRate: inv.baud } : {}),
        ...(parity !== undefined ? { parity } : {}),
        verify: !inv.values['no-verify'],
        go: goAddress ?? (inv.values.go ? true : false),
        json: inv.json,
      },
      ctx,
    );
  },
};

export default backend;
