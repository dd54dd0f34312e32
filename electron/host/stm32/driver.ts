import { PackscopeError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/util/bytes.js';
import { realClock } from '../../../shared/util/clock.js';
import { emptyLinkStats, unsignedDevice, type Capability, type DeviceInfo, type LinkStats, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import type { Driver, DriverFactory, DriverOptions } from '../drivers/types.js';
import { Stm32RomClient } from './client.js';
import { partById } from './devices.js';
import { formatVersion, NACK, ACK, SYNC } from './protocol.js';

/**
 * The STM32 ROM bootloader as a driver: identity only (the chip, its bootloader version and its
 * 96-bit unique ID), so `packscope info --protocol stm32-rom` tells what is on the bench before a
 * recovery flash. Flashing itself goes through `packscope flash --protocol stm32-rom`.
 */
const LINE: LineSettings = { baudRate: 115200, parity: 'even' };

/** STM32F2/F4 unique ID address; other families keep it elsewhere (unknown → no serial). */
const UID_ADDRESS: Record<number, number> = {
  0x413: 0x1fff_7a10,
  0x423: 0x1fff_7a10,
  0x433: 0x1fff_7a10,
  0x431: 0x1fff_7a10,
  0x421: 0x1fff_7a10,
  0x410: 0x1fff_f7e8,
  0x412: 0x1fff_f7e8,
  0x414: 0x1fff_f7e8,
};

class Stm32RomDriver implements Driver {
  readonly protocol = 'stm32-rom' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['identity', 'firmware']);
  private client: Stm32RomClient;
  private link: LinkStats = emptyLinkStats();
  private offs: Array<() => void> = [];

  constructor(
    readonly transport: ByteTransport,
    private options: DriverOptions,
  ) {
    this.client = new Stm32RomClient(transport, {
      baudRate: LINE.baudRate,
      ackTimeoutMs: options.timeoutMs,
      signal: options.signal,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.offs.push(transport.onData((d) => (this.link.bytesIn += d.length)));
  }

  async identify(): Promise<DeviceInfo> {
    await this.client.sync();
    await this.client.get();
    const pid = await this.client.getId();
    const part = partById(pid);
    let serial = 'unknown';
    const uidAt = UID_ADDRESS[pid];
    if (uidAt !== undefined) {
      try {
        serial = toHex(await this.client.readMemory(uidAt, 12));
      } catch (e) {
        // Readout protection hides the ID as well; the chip is still identified.
        if (!(e instanceof PackscopeError && e.code === 'DEVICE')) throw e;
      }
    }
    return unsignedDevice('stm32-rom', {
      model: part ? part.name : `STM32 (product ID 0x${pid.toString(16)})`,
      serial,
      boardId: `stm32-0x${pid.toString(16)}`,
      firmwareVersion: 'none running (ROM bootloader)',
      bootloaderVersion: `ROM v${formatVersion(this.client.bootloaderVersion)}`,
    });
  }

  async startTelemetry(): Promise<void> {
    throw new PackscopeError(
      'DEVICE',
      'the board is in its STM32 ROM bootloader: no telemetry until an application is flashed (packscope flash --protocol stm32-rom)',
    );
  }

  async stopTelemetry(): Promise<void> {}

  onTelemetry(_listener: (frame: TelemetryFrame) => void): () => void {
    return () => undefined;
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    let fired = false;
    const off = this.transport.onClose((r) => {
      if (fired || r.kind === 'closed') return;
      fired = true;
      listener(r.message);
    });
    this.offs.push(off);
    return off;
  }

  stats(): LinkStats {
    return { ...this.link, framesOut: this.client.roundTrips };
  }

  async dispose(): Promise<void> {
    this.client.dispose();
    for (const off of this.offs) off();
  }
}

const stm32RomDriverFactory: DriverFactory = {
  protocol: 'stm32-rom',
  defaultLine: LINE,
  async create(transport, options = {}) {
    return new Stm32RomDriver(transport, options);
  },
  /** Sends only the autobaud byte: a ROM answers ACK (fresh) or, after a second one, NACK. */
  async probe(transport, timeoutMs, clock = realClock) {
    let answered = false;
    const off = transport.onData((d) => {
      if (d.includes(ACK) || d.includes(NACK)) answered = true;
    });
    try {
      const deadline = clock.now() + timeoutMs;
      for (let i = 0; i < 2 && !answered && clock.now() < deadline; i++) {
        await transport.write(Uint8Array.of(SYNC));
        const until = Math.min(deadline, clock.now() + timeoutMs / 2);
        while (!answered && clock.now() < until) await clock.sleep(5);
      }
      return answered;
    } finally {
      off();
    }
  },
};

export default stm32RomDriverFactory;
