import {
  checkJbdStatus,
  createJbdExtractor,
  decodeJbdBasicInfo,
  decodeJbdCells,
  decodeJbdHardwareVersion,
  encodeJbdRead,
  JBD_READ,
  JBD_REG_BASIC,
  JBD_REG_CELLS,
  JBD_REG_HWVERSION,
  JBD_WRITE,
  jbdDeviceInfo,
  jbdFrameAsResponse,
  jbdToTelemetry,
  type JbdBasicInfo,
  type JbdFrame,
} from '../../../shared/bms/jbd.js';
import { isPackscopeError } from '../../../shared/errors.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { BmsChannel, driverOptions, POLL_RETRIES, PolledDriver, probeWith, type PollingProtocol } from './bms-polling.js';
import type { DriverFactory } from './types.js';

/**
 * JBD / Xiaoxiang UART driver (9600 8N1, read-only): identity from registers 0x05 and 0x03,
 * telemetry from 0x03 (pack values, temperatures, protection) + 0x04 (cell voltages) per round.
 */
const LINE: LineSettings = { baudRate: 9600, parity: 'none' };

const isAnswerTo = (register: number) => (f: JbdFrame) => f.b1 === register && f.b1 !== JBD_READ && f.b1 !== JBD_WRITE;

async function read(ch: BmsChannel<JbdFrame>, register: number, expectBytes: number, signal?: AbortSignal, retries?: number): Promise<Uint8Array> {
  const [frame] = await ch.request({ request: encodeJbdRead(register), accept: isAnswerTo(register), expectBytes }, signal, retries);
  const res = jbdFrameAsResponse(frame!);
  checkJbdStatus(res);
  return res.data;
}

class JbdProtocol implements PollingProtocol<JbdFrame> {
  readonly protocol = 'jbd' as const;
  private last: JbdBasicInfo | null = null;

  async identify(ch: BmsChannel<JbdFrame>, signal?: AbortSignal) {
    let hw = '';
    try {
      hw = decodeJbdHardwareVersion(await read(ch, JBD_REG_HWVERSION, 64, signal));
    } catch (e) {
      // Some boards refuse 0x05 (status 0x80); the board is still identified by 0x03.
      if (!isPackscopeError(e) || e.code !== 'DEVICE') throw e;
    }
    this.last = decodeJbdBasicInfo(await read(ch, JBD_REG_BASIC, 64, signal));
    return jbdDeviceInfo(this.last, hw);
  }

  async poll(ch: BmsChannel<JbdFrame>, _round: number, signal?: AbortSignal) {
    const basic = decodeJbdBasicInfo(await read(ch, JBD_REG_BASIC, 64, signal, POLL_RETRIES));
    const cells = decodeJbdCells(await read(ch, JBD_REG_CELLS, 7 + 2 * Math.max(basic.cellCount, 1), signal, POLL_RETRIES));
    this.last = basic;
    return jbdToTelemetry(basic, cells, Date.now());
  }

  maxRateHz(): number {
    const cells = this.last?.cellCount ?? 16;
    const ntc = this.last?.temperatures.length ?? 4;
    const bytes = 7 + (7 + 23 + 2 * ntc) + 7 + (7 + 2 * cells);
    return LINE.baudRate / 10 / bytes;
  }
}

const factory: DriverFactory = {
  protocol: 'jbd',
  defaultLine: LINE,
  async create(transport, options) {
    const o = driverOptions(options, 250, LINE);
    return new PolledDriver(new BmsChannel(transport, createJbdExtractor(), o.line, o.timeoutMs, o.retries, o.clock), new JbdProtocol(), options?.signal);
  },
  probe(transport, timeoutMs, clock) {
    return probeWith(transport, LINE, createJbdExtractor(), encodeJbdRead(JBD_REG_BASIC), (f) => isAnswerTo(JBD_REG_BASIC)(f) && f.b2 === 0, timeoutMs, clock);
  },
};

export default factory;
export const jbdDriverFactory = factory;
