import type { CanFrame } from '../../../shared/can/frame.js';
import { CR, SLCAN_BITRATES, SLCAN_STATUS_FLAGS, decodeCommand, encodeReply, type SlcanCommand, type SlcanReply } from '../../../shared/can/slcan.js';
import type { DeviceLink } from '../line.js';
import type { BusPort, CanBus } from './bus.js';

/**
 * A CANable-class SLCAN adapter: Lawicel ASCII on its USB serial side, a CAN controller on the
 * simulated bus. What a host sees, as with the real thing:
 *  - `S0`..`S8` only while closed, `O`/`L` need a bitrate, `C` closes; BELL for anything refused;
 *  - `t`/`T`/`r`/`R` answered `z`/`Z` once the frame is in the 128-frame transmit FIFO; when the
 *    FIFO is full the adapter stops reading its USB endpoint, so the host's writes back up instead
 *    of frames being lost (USB flow control), and the bus sets the pace;
 *  - received frames go to the host as `t...` lines, with a ms timestamp (mod 60000) after `Z1`;
 *    if the host does not read fast enough the receive buffer overflows: frames are dropped and
 *    `F` reports data overrun;
 *  - at a bitrate other than the bus's, nothing is received and transmissions fail with bus errors;
 *  - `F` reports and clears the status flags; `V`, `N` give version and serial;
 *  - `M`/`m` (SJA1000 acceptance filter) are accepted and ignored, as CANable firmware does.
 */
export interface SlcanAdapterOptions {
  /** Serial number the `N` command reports (4 characters). */
  serial?: string;
  txFifoDepth?: number;
  /** Bytes queued towards the host beyond which received frames are dropped (receive overrun). */
  rxBufferBytes?: number;
}

const flag = (name: (typeof SLCAN_STATUS_FLAGS)[number]) => 1 << SLCAN_STATUS_FLAGS.indexOf(name);

export class SlcanAdapter {
  private link: DeviceLink | null = null;
  private port: BusPort | null = null;
  private code: number | null = null;
  private mode: 'closed' | 'normal' | 'listen' = 'closed';
  private timestamps = false;
  private flags = 0;
  private input: number[] = [];
  private inputHead = 0;
  private line = '';
  private readonly txDepth: number;
  private readonly rxBytes: number;
  private readonly serial: string;
  private unsubs: Array<() => void> = [];
  readonly counters = { rx: 0, tx: 0, rxDropped: 0, txErrors: 0 };

  constructor(
    private bus: CanBus,
    options: SlcanAdapterOptions = {},
  ) {
    this.txDepth = options.txFifoDepth ?? 128;
    this.rxBytes = options.rxBufferBytes ?? 8192;
    this.serial = (options.serial ?? 'PS01')
      .replace(/[^0-9A-Za-z]/g, '0')
      .padEnd(4, '0')
      .slice(0, 4);
  }

  get bitrate(): number | null {
    return this.mode === 'closed' || this.code === null ? null : SLCAN_BITRATES[this.code]!;
  }

  attach(link: DeviceLink): void {
    this.link = link;
    this.port = this.bus.attach({
      name: 'slcan-adapter',
      bitrate: () => this.bitrate,
      receive: (frame, at) => this.fromBus(frame, at),
      busError: () => {
        this.flags |= flag('bus_error') | flag('error_passive');
      },
    });
    this.unsubs.push(link.onReceive((data) => this.fromHost(data)));
    this.unsubs.push(link.onDisconnect(() => this.reset()));
  }

  detach(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.port?.detach();
    this.port = null;
    this.link = null;
  }

  /** USB re-enumeration (host closed the port): the adapter powers up closed. */
  private reset(): void {
    this.mode = 'closed';
    this.input = [];
    this.inputHead = 0;
    this.line = '';
  }

  private reply(r: SlcanReply): void {
    this.link?.send(encodeReply(r));
  }

  private fromHost(data: Uint8Array): void {
    for (const b of data) this.input.push(b);
    this.drainInput();
  }

  /** Parses buffered host bytes while the transmit FIFO has room (USB NAK otherwise). */
  private drainInput(): void {
    while (this.inputHead < this.input.length) {
      if (this.port && this.port.pending >= this.txDepth) {
        this.flags |= flag('tx_fifo_full');
        return;
      }
      const b = this.input[this.inputHead++]!;
      if (b === CR) {
        const line = this.line;
        this.line = '';
        if (line.length) this.execute(line);
      } else if (b !== 0x0a && this.line.length < 64) this.line += String.fromCharCode(b);
    }
    this.input = [];
    this.inputHead = 0;
  }

  private execute(line: string): void {
    let cmd: SlcanCommand;
    try {
      cmd = decodeCommand(line);
    } catch {
      this.reply({ kind: 'error' });
      return;
    }
    switch (cmd.kind) {
      case 'bitrate':
        if (this.mode !== 'closed') return this.reply({ kind: 'error' });
        this.code = cmd.code;
        return this.reply({ kind: 'ok' });
      case 'btr':
        return this.reply({ kind: 'error' }); // CANable firmware has no BTR register access
      case 'open':
      case 'listen':
        if (this.mode !== 'closed' || this.code === null) return this.reply({ kind: 'error' });
        this.mode = cmd.kind === 'open' ? 'normal' : 'listen';
        this.flags = 0;
        return this.reply({ kind: 'ok' });
      case 'close':
        this.mode = 'closed';
        return this.reply({ kind: 'ok' });
      case 'timestamps':
        if (this.mode !== 'closed') return this.reply({ kind: 'error' });
        this.timestamps = cmd.on;
        return this.reply({ kind: 'ok' });
      case 'acceptanceCode':
      case 'acceptanceMask':
        return this.reply({ kind: 'ok' });
      case 'status': {
        const f = this.flags;
        this.flags = 0;
        return this.reply({ kind: 'status', flags: f });
      }
      case 'version':
        return this.reply({ kind: 'version', hardware: 0x10, software: 0x13 });
      case 'serial':
        return this.reply({ kind: 'serial', serial: this.serial });
      case 'transmit':
        if (this.mode !== 'normal' || !this.port) return this.reply({ kind: 'error' });
        this.transmit(cmd.frame);
        return this.reply({ kind: 'txOk', extended: cmd.frame.extended });
    }
  }

  private transmit(frame: CanFrame): void {
    this.counters.tx++;
    this.port!.transmit(frame).then(
      () => this.drainInput(),
      () => {
        this.counters.txErrors++;
        this.drainInput();
      },
    );
  }

  private fromBus(frame: CanFrame, at: number): void {
    if (this.mode === 'closed' || !this.link) return;
    if (this.link.backlog > this.rxBytes) {
      this.counters.rxDropped++;
      this.flags |= flag('data_overrun') | flag('rx_fifo_full');
      return;
    }
    this.counters.rx++;
    const r: SlcanReply = this.timestamps ? { kind: 'frame', frame, timestamp: Math.floor(at) % 60000 } : { kind: 'frame', frame };
    this.reply(r);
  }
}
