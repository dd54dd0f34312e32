import { PackscopeError } from '../../../shared/errors.js';
import { SLCAN_BITRATES } from '../../../shared/can/slcan.js';
import type { SimBoard } from '../board.js';
import type { DeviceLink } from '../line.js';
import type { Personality } from '../personality.js';
import { SlcanAdapter } from './adapter.js';
import { CanBus } from './bus.js';
import { boardFirmware } from './flash-target.js';
import { PylontechNode } from './pylontech-node.js';
import { UdsBootloaderNode } from './uds-node.js';

/**
 * `sim --personality slcan`: a CANable-class SLCAN adapter on the board's serial line, plugged into
 * a simulated CAN bus that carries the pack's Pylontech broadcasts and the board's UDS bootloader.
 *
 * The adapter is a USB CDC device, so its serial side is not limited by a baud rate: the line is
 * paced at USB full-speed bulk throughput (~1 MB/s) whatever `--baud` says, and the CAN bus is what
 * limits, as with real hardware.
 */
export interface CanSimOptions {
  /** Bus bitrate (one of the SLCAN rates), default 500 kbit/s. */
  bitrate?: number;
  /** UDS physical request / response ids, default 0x7E0 / 0x7E8. */
  udsRequestId?: number;
  udsResponseId?: number;
  /** Pylontech broadcast period, ms (default 1000). */
  broadcastPeriodMs?: number;
  /** UDS maxNumberOfBlockLength (default 16386; 4095 models a bootloader limited to ISO-TP 2004). */
  udsMaxBlockLength?: number;
  /** Disable one of the nodes. */
  pylontech?: boolean;
  uds?: boolean;
}

/** USB full-speed CDC: about 1 MB/s of payload, expressed as a 10-bit-per-byte line rate. */
export const USB_CDC_LINE_RATE = 10_000_000;

/** Parses `bitrate=500000,tx=0x7e0,rx=0x7e8,period=1000,block=4095,pylontech=0,uds=1` (PACKSCOPE_SIM_CAN). */
export function parseCanSimSpec(spec: string | undefined): CanSimOptions {
  const out: CanSimOptions = {};
  if (!spec) return out;
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v] = item.split('=');
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new PackscopeError('USAGE', `bad CAN simulator option '${item}'`);
    if (k === 'bitrate') out.bitrate = n;
    else if (k === 'tx') out.udsRequestId = n;
    else if (k === 'rx') out.udsResponseId = n;
    else if (k === 'period') out.broadcastPeriodMs = n;
    else if (k === 'block') out.udsMaxBlockLength = n;
    else if (k === 'pylontech') out.pylontech = n !== 0;
    else if (k === 'uds') out.uds = n !== 0;
    else throw new PackscopeError('USAGE', `unknown CAN simulator option '${k}'`);
  }
  return out;
}

export class SlcanPersonality implements Personality {
  readonly name = 'slcan';
  readonly bus: CanBus;
  readonly adapter: SlcanAdapter;
  readonly pylontech: PylontechNode | null;
  readonly uds: UdsBootloaderNode | null;

  constructor(board: SimBoard, options: CanSimOptions = {}) {
    const bitrate = options.bitrate ?? 500_000;
    if (!SLCAN_BITRATES.includes(bitrate as (typeof SLCAN_BITRATES)[number])) {
      throw new PackscopeError('USAGE', `CAN bitrate ${bitrate} is not an SLCAN rate (${SLCAN_BITRATES.join(', ')})`);
    }
    for (const id of [options.udsRequestId, options.udsResponseId]) {
      if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id <= 0x7ff)) throw new PackscopeError('USAGE', `UDS id ${id} is not an 11-bit CAN id`);
    }
    this.bus = new CanBus(bitrate);
    this.adapter = new SlcanAdapter(this.bus, { serial: board.identity.serial.replace(/[^0-9A-Za-z]/g, '').slice(-4) });
    this.pylontech =
      options.pylontech === false
        ? null
        : new PylontechNode(this.bus, board, { ...(options.broadcastPeriodMs ? { periodMs: options.broadcastPeriodMs } : {}) });
    this.uds =
      options.uds === false
        ? null
        : new UdsBootloaderNode(
            this.bus,
            () => boardFirmware(board),
            board.rng.fork(),
            {
              ...(options.udsRequestId !== undefined ? { requestId: options.udsRequestId } : {}),
              ...(options.udsResponseId !== undefined ? { responseId: options.udsResponseId } : {}),
              ...(options.udsMaxBlockLength !== undefined ? { maxBlockLength: options.udsMaxBlockLength } : {}),
            },
            board.identity,
          );
    // Open the firmware store now, so the first UDS request does not pay for it.
    if (this.uds) void boardFirmware(board).catch(() => undefined);
  }

  attach(link: DeviceLink): void {
    link.setSettings({ baudRate: USB_CDC_LINE_RATE, parity: 'none' });
    this.adapter.attach(link);
    this.pylontech?.start();
    this.uds?.start();
  }

  detach(): void {
    this.pylontech?.stop();
    this.uds?.stop();
    this.adapter.detach();
    this.bus.stop();
  }
}

export function createSlcanPersonality(board: SimBoard): Personality {
  const fromBoard = (board.options as { can?: CanSimOptions }).can;
  return new SlcanPersonality(board, fromBoard ?? parseCanSimSpec(process.env.PACKSCOPE_SIM_CAN));
}
