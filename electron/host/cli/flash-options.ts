import { SEED_KEY_ALGORITHMS } from '../../../shared/can/seedkey.js';
import { BUILTIN_UDS_PROFILES } from '../../../shared/can/uds-profile.js';
import { PackscopeError } from '../../../shared/errors.js';
import { loadTrustedKeys, readInputFile } from '../flasher/files.js';
import { FLASH_PROTOCOLS, isFlashProtocol, type FlashJob, type FlashProtocol, type UdsGenericFlashJob } from '../flasher/flash-backends.js';
import { numberOption, parseCommandArgs, requireOption } from './context.js';
import { captureOption } from './device-options.js';

/**
 * `packscope flash` arguments → a typed flash job (electron/host/flasher/flash-backends.ts). Each
 * protocol adds its own options; they are checked in the order the command has always checked
 * them (arguments, then the image and --trust files, then the protocol's values), so a bad
 * invocation keeps its message and exit code.
 */
const COMMON = {
  port: { type: 'string' },
  protocol: { type: 'string' },
  confirm: { type: 'boolean' },
  trust: { type: 'string', multiple: true },
  'no-compress': { type: 'boolean' },
  baud: { type: 'string' },
  capture: { type: 'string' },
} as const;

const UDS_OPTIONS = {
  bitrate: { type: 'string' },
  tx: { type: 'string' },
  rx: { type: 'string' },
  'seed-key': { type: 'string' },
  profile: { type: 'string' },
  address: { type: 'string' },
} as const;

const STM32_OPTIONS = {
  address: { type: 'string' },
  parity: { type: 'string' },
  'no-verify': { type: 'boolean' },
  go: { type: 'boolean' },
  'go-address': { type: 'string' },
} as const;

export const UDS_FLASH_USAGE = `  uds:  --bitrate N        CAN bitrate (default 500000)
        --tx ID --rx ID    UDS request / response identifiers (default 0x7E0 / 0x7E8, or the profile's)
        --profile P        target profile: ${Object.keys(BUILTIN_UDS_PROFILES).join(', ')}, or a JSON file naming the
                           sessions, security access, erase/check routines, memory address and
                           identifiers of the bootloader (default: PackScope's bootloader if it
                           answers its firmware-status identifier, else generic)
        --address A        where a raw binary goes with a non-PackScope profile (default: the profile's)
        --seed-key NAME    security-access algorithm: ${Object.keys(SEED_KEY_ALGORITHMS).join(', ')} (default: the profile's)

  With PackScope's bootloader the image is a signed MCUboot image (checks, test boot, --confirm);
  with any other profile it is a raw binary or Intel HEX written with standard ISO 14229 services
  (erase routine, request download, transfer data, transfer exit, check routine, ECU reset).`;

export const STM32_FLASH_USAGE = `packscope flash --protocol stm32-rom --port PATH FIRMWARE.bin|.hex [options]

Recovery flashing through the STM32 system-memory (ROM) bootloader, AN3155: for a board whose
application is broken. Hold BOOT0 high and reset the board first.

  --address A        where a raw .bin goes (default 0x08000000; HEX files carry their addresses)
  --baud B           line rate (default 115200, the ROM's maximum)
  --parity P         none|even (default even, the ROM's 8E1; none on a pseudo-terminal)
  --no-verify        skip the read-back verification (not recommended)
  --go               start the application afterwards (vector table at the image start)
  --go-address A     start it from the vector table at A instead
  --json             print the result as one JSON document

Only the sectors the image touches are erased; 0xFF blocks are not sent; every byte is verified
by read-back.`;

/** Usage of the protocols with options of their own, in `flash --help` order. */
export const FLASH_PROTOCOL_USAGE: ReadonlyArray<[FlashProtocol, string]> = [
  ['stm32-rom', STM32_FLASH_USAGE],
  ['uds', UDS_FLASH_USAGE],
];

export const ADDRESS_NOT_FOR_PACKSCOPE = "--address applies to raw firmware; PackScope's bootloader places MCUboot images itself";

/** Whether a --profile value names PackScope's bootloader (the MCUboot path). */
function isPackscopeProfileRef(profile: string): boolean {
  return BUILTIN_UDS_PROFILES[profile]?.extensions === 'packscope';
}

export function parseCanId(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0x1fffffff) throw new PackscopeError('USAGE', `--${name} must be a CAN identifier (e.g. 0x7E0), got '${value}'`);
  return n;
}

export function parseAddress(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new PackscopeError('USAGE', `--${name} must be an address like 0x08000000, got '${value}'`);
  return n;
}

export interface ParsedFlashCommand {
  /** The job, without the caller's signal, progress and log. */
  job: FlashJob;
  /** The IMAGE argument as given. */
  file: string;
  json: boolean;
  /**
   * `--protocol uds` without --profile: the job for an ordinary bootloader, run instead of `job`
   * when the ECU turns out not to be PackScope's (probeUdsBootloader).
   */
  ifGeneric?: () => UdsGenericFlashJob;
}

function protocolOf(argv: string[]): FlashProtocol {
  const protoIndex = argv.indexOf('--protocol');
  const protocol = (protoIndex >= 0 ? argv[protoIndex + 1] : argv.find((a) => a.startsWith('--protocol='))?.slice(11)) ?? 'native';
  if (!isFlashProtocol(protocol)) throw new PackscopeError('USAGE', `--protocol must be one of ${FLASH_PROTOCOLS.join(', ')} (got '${protocol}')`);
  return protocol;
}

/** Parses `flash` arguments into a job; reads the image and --trust keys of an MCUboot job. */
export function parseFlashCommand(argv: string[]): ParsedFlashCommand {
  const protocol = protocolOf(argv);
  const extra = protocol === 'uds' || protocol === 'uds-generic' ? UDS_OPTIONS : protocol === 'stm32-rom' ? STM32_OPTIONS : {};
  const { values: parsed, positionals } = parseCommandArgs(argv, { ...COMMON, ...extra }, true);
  const values = parsed as Record<string, string | boolean | string[] | undefined>;
  const str = (name: string) => values[name] as string | undefined;
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'flash needs exactly one IMAGE file');
  const file = positionals[0]!;
  const port = requireOption(str('port'), 'port');
  const baudRate = str('baud') !== undefined ? numberOption(str('baud'), 'baud', 115200, 300, 12_000_000) : undefined;
  const json = !!values.json;
  const trustFiles = (values.trust as string[] | undefined) ?? [];
  const capture = captureOption(str('capture'));
  const base = { port, ...(baudRate !== undefined ? { baudRate } : {}), ...(capture ? { wrapTransport: capture } : {}) };

  if (protocol === 'stm32-rom') {
    if (values.confirm || trustFiles.length) {
      throw new PackscopeError('USAGE', '--confirm and --trust apply to signed images; the STM32 ROM bootloader writes raw firmware (drop them)');
    }
    const parity = values.parity;
    if (parity !== undefined && parity !== 'none' && parity !== 'even')
      throw new PackscopeError('USAGE', `--parity must be none or even, got '${String(parity)}'`);
    const goAddress = parseAddress(str('go-address'), 'go-address');
    const address = parseAddress(str('address'), 'address');
    return {
      job: {
        protocol,
        ...base,
        firmware: file,
        ...(address !== undefined ? { address } : {}),
        ...(parity !== undefined ? { parity } : {}),
        verify: !values['no-verify'],
        go: goAddress ?? (values.go ? true : false),
      },
      file,
      json,
    };
  }

  if (protocol === 'native') {
    const image = readInputFile(file, 'image');
    const trust = loadTrustedKeys(trustFiles);
    return { job: { protocol, ...base, image, confirm: !!values.confirm, trust, compress: !values['no-compress'] }, file, json };
  }
  const bitrate = numberOption(str('bitrate'), 'bitrate', 500_000, 10_000, 1_000_000);
  const txId = str('tx') !== undefined ? parseCanId(str('tx'), 'tx', 0x7e0) : undefined;
  const rxId = str('rx') !== undefined ? parseCanId(str('rx'), 'rx', 0x7e8) : undefined;
  const seedKey = str('seed-key');
  const profile = str('profile');
  const address = parseAddress(str('address'), 'address');
  const ids = { ...(txId !== undefined ? { txId } : {}), ...(rxId !== undefined ? { rxId } : {}) };
  const generic = (): UdsGenericFlashJob => {
    if (values.confirm || trustFiles.length) {
      throw new PackscopeError('USAGE', '--confirm and --trust apply to signed images on PackScope bootloaders; this profile writes raw firmware (drop them)');
    }
    return {
      protocol: 'uds-generic',
      ...base,
      bitrate,
      ...ids,
      firmware: readInputFile(file, 'firmware'),
      ...(profile !== undefined ? { profile } : {}),
      ...(address !== undefined ? { address } : {}),
      ...(seedKey !== undefined ? { seedKey } : {}),
    };
  };
  if (protocol === 'uds-generic' || (profile !== undefined && !isPackscopeProfileRef(profile))) return { job: generic(), file, json };
  if (address !== undefined && profile !== undefined) throw new PackscopeError('USAGE', ADDRESS_NOT_FOR_PACKSCOPE);
  const image = readInputFile(file, 'image');
  const trust = loadTrustedKeys(trustFiles);
  const job: FlashJob = {
    protocol: 'uds',
    ...base,
    image,
    confirm: !!values.confirm,
    trust,
    bitrate,
    txId: txId ?? 0x7e0,
    rxId: rxId ?? 0x7e8,
    ...(seedKey !== undefined ? { seedKey } : {}),
  };
  // Without --profile, which bootloader answers decides.
  return { job, file, json, ...(profile === undefined ? { ifGeneric: generic } : {}) };
}
