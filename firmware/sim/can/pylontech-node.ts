import { encodePackBroadcast } from '../../../shared/can/pylontech.js';
import type { SimBoard } from '../board.js';
import type { BusPort, CanBus } from './bus.js';

/**
 * The pack's BMS on the bus, speaking the Pylontech / SMA-style inverter protocol: every
 * `periodMs` (1 s, as Pylontech packs do) it sends 0x351, 0x355, 0x356, 0x359, 0x35C and 0x35E
 * built from the board's pack model at that instant.
 */
export interface PylontechNodeOptions {
  periodMs?: number;
  manufacturer?: string;
  moduleCount?: number;
}

export class PylontechNode {
  private port: BusPort | null = null;
  private timer: NodeJS.Timeout | null = null;
  readonly bitrate: number;
  sent = 0;

  constructor(
    private bus: CanBus,
    private board: SimBoard,
    private options: PylontechNodeOptions = {},
  ) {
    this.bitrate = bus.bitrate;
  }

  start(): void {
    this.port = this.bus.attach({ name: 'bms', bitrate: () => this.bitrate, receive: () => undefined });
    const period = this.options.periodMs ?? 1000;
    this.broadcast();
    this.timer = setInterval(() => this.broadcast(), period);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.port?.detach();
    this.port = null;
  }

  private param(name: string): number | undefined {
    return this.board.params.find((p) => p.name === name)?.value;
  }

  broadcast(): void {
    if (!this.port) return;
    const s = this.board.advance();
    const ov = this.param('cell_overvoltage');
    const uv = this.param('cell_undervoltage');
    const frames = encodePackBroadcast(s, {
      manufacturer: this.options.manufacturer ?? 'PYLON',
      moduleCount: this.options.moduleCount ?? 1,
      ...(ov !== undefined ? { warnCellHigh: ov - 0.05 } : {}),
      ...(uv !== undefined ? { warnCellLow: uv + 0.2 } : {}),
      warnTempHigh: 50,
      warnTempLow: 2,
    });
    for (const f of frames) {
      this.sent++;
      this.port.transmit(f).catch(() => undefined);
    }
  }
}
