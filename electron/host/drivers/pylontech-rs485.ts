import {
  checkPylonRtn,
  decodePylonAlarmInfo,
  decodePylonAnalog,
  decodePylonManufacturerInfo,
  decodePylonSerial,
  encodePylonRequest,
  pylonDeviceInfo,
  pylonToTelemetry,
  PYLON_CID1_BATTERY,
  PYLON_CID2,
  type PylonAlarmInfo,
  type PylonFrame,
} from '../../../shared/bms/pylontech-rs485.js';
import { isPackscopeError } from '../../../shared/errors.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { BmsChannel, driverOptions, POLL_RETRIES, PolledBus, PolledDriver, probeWith, type PollingProtocol } from './bms-polling.js';
import { PylonLineExtractor } from './pylontech-rs485-lines.js';
import type { DriverFactory } from './types.js';

/**
 * Pylontech RS485 driver (the ASCII "~…\r" protocol of US2000/US3000/UP2500 and compatible
 * server-rack modules, 9600 8N1, read-only). Each module answers at its own address (ADR; the
 * first module of a stack is usually 2). Identity: 0x51 manufacturer info and 0x93 serial number;
 * telemetry per round: 0x42 analog values (cells, temperatures, current, voltage, capacities) and
 * 0x44 alarm info (protections, MOSFETs, balancing). Lines are cut by @serialport/parser-readline
 * (pylontech-rs485-lines.ts); the frame codec is shared/bms/pylontech-rs485.ts.
 */
const LINE: LineSettings = { baudRate: 9600, parity: 'none' };
export const PYLON_DEFAULT_ADDRESS = 2;

/** An answer: a response frame (CID1 0x46) from the module that was asked. */
const answerFrom = (adr: number) => (f: PylonFrame) => f.adr === adr && f.cid1 === PYLON_CID1_BATTERY;

/** Request and reply sizes on the wire (ASCII doubles every INFO byte). */
const REQUEST_CHARS = 20;
const replyChars = (infoBytes: number) => 18 + 2 * infoBytes;

async function ask(ch: BmsChannel<PylonFrame>, cid2: number, adr: number, infoBytes: number, signal?: AbortSignal, retries?: number): Promise<Uint8Array> {
  const [f] = await ch.request({ request: encodePylonRequest(cid2, adr), accept: answerFrom(adr), expectBytes: replyChars(infoBytes) }, signal, retries);
  checkPylonRtn(f!);
  return f!.info;
}

class PylonRs485Protocol implements PollingProtocol<PylonFrame> {
  readonly protocol = 'pylontech-rs485' as const;
  private cells = 16;
  private temps = 6;

  constructor(readonly address: number) {}

  private analogBytes(): number {
    return 2 + 1 + 2 * this.cells + 1 + 2 * this.temps + 11 + 6;
  }

  async identify(ch: BmsChannel<PylonFrame>, signal?: AbortSignal) {
    const m = decodePylonManufacturerInfo(await ask(ch, PYLON_CID2.manufacturer, this.address, 32, signal));
    let serial = '';
    try {
      serial = decodePylonSerial(await ask(ch, PYLON_CID2.serial, this.address, 17, signal)).serial;
    } catch (e) {
      // Older firmware refuses 0x93 (RTN 04): the module is still identified by 0x51.
      if (!isPackscopeError(e) || e.code !== 'DEVICE') throw e;
    }
    const analog = decodePylonAnalog(await ask(ch, PYLON_CID2.analog, this.address, this.analogBytes(), signal), false).modules[0]!;
    this.learn(analog.cellVoltages.length, analog.temperatures.length);
    return pylonDeviceInfo(m, serial, analog);
  }

  async poll(ch: BmsChannel<PylonFrame>, _round: number, signal?: AbortSignal) {
    const analog = decodePylonAnalog(await ask(ch, PYLON_CID2.analog, this.address, this.analogBytes(), signal, POLL_RETRIES), false).modules[0]!;
    this.learn(analog.cellVoltages.length, analog.temperatures.length);
    const alarm: PylonAlarmInfo = decodePylonAlarmInfo(
      await ask(ch, PYLON_CID2.alarm, this.address, 3 + this.cells + 1 + this.temps + 8, signal, POLL_RETRIES),
    );
    return pylonToTelemetry(analog, alarm, Date.now());
  }

  private learn(cells: number, temps: number): void {
    this.cells = cells;
    this.temps = temps;
  }

  maxRateHz(): number {
    const chars = 2 * REQUEST_CHARS + replyChars(this.analogBytes()) + replyChars(3 + this.cells + 1 + this.temps + 8);
    return LINE.baudRate / 10 / chars;
  }
}

function channel(transport: Parameters<DriverFactory['create']>[0], options: Parameters<DriverFactory['create']>[1]) {
  const o = driverOptions(options, 300, LINE);
  return { o, ch: new BmsChannel(transport, new PylonLineExtractor(), o.line, o.timeoutMs, o.retries, o.clock) };
}

const factory: DriverFactory = {
  protocol: 'pylontech-rs485',
  defaultLine: LINE,
  async create(transport, options) {
    const { o, ch } = channel(transport, options);
    return new PolledDriver(ch, new PylonRs485Protocol(o.address ?? PYLON_DEFAULT_ADDRESS), options?.signal);
  },
  probe(transport, timeoutMs, clock) {
    // The protocol version request (0x4F) is harmless and answered by every firmware.
    return probeWith(
      transport,
      LINE,
      new PylonLineExtractor(),
      encodePylonRequest(PYLON_CID2.protocolVersion, PYLON_DEFAULT_ADDRESS),
      answerFrom(PYLON_DEFAULT_ADDRESS),
      timeoutMs,
      clock,
    );
  },
  addressing: {
    label: 'module address',
    defaultAddress: PYLON_DEFAULT_ADDRESS,
    range: [1, 16],
    openBus(transport, options) {
      const { ch } = channel(transport, options);
      return new PolledBus(ch, (adr) => new PylonRs485Protocol(adr));
    },
  },
};

export default factory;
export const pylonRs485DriverFactory = factory;
