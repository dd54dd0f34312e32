import {
  createJkExtractor,
  decodeJkFields,
  encodeJkReadAll,
  interpretJkFields,
  JK_CMD_READ_ALL,
  JK_TYPE_RESPONSE,
  jkDeviceInfo,
  jkToTelemetry,
  type JkFrame,
  type JkStatus,
} from '../../../shared/bms/jk.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { BmsChannel, driverOptions, POLL_RETRIES, PolledDriver, probeWith, type PollingProtocol } from './bms-polling.js';
import type { DriverFactory } from './types.js';

/**
 * JK BMS "4E 57" driver (RS485 / TTL, 115200 8N1, read-only): one read-all request per round
 * gives cells, temperatures, voltage, current, SOC, warnings and the identity fields.
 */
const LINE: LineSettings = { baudRate: 115200, parity: 'none' };

const isReadAllReply = (f: JkFrame) => f.type === JK_TYPE_RESPONSE && f.command === JK_CMD_READ_ALL;

async function readAll(ch: BmsChannel<JkFrame>, cells: number, signal?: AbortSignal, retries?: number): Promise<JkStatus> {
  const [f] = await ch.request({ request: encodeJkReadAll(), accept: isReadAllReply, expectBytes: replyBytes(cells) }, signal, retries);
  return interpretJkFields(decodeJkFields(f!.payload));
}

/** A read-all reply: 20 bytes of envelope, the cell block, about 230 bytes of fixed fields. */
function replyBytes(cells: number): number {
  return 20 + 2 + 3 * cells + 232;
}

class JkProtocol implements PollingProtocol<JkFrame> {
  readonly protocol = 'jk' as const;
  private cells = 24;

  async identify(ch: BmsChannel<JkFrame>, signal?: AbortSignal) {
    const s = await readAll(ch, this.cells, signal);
    this.cells = s.cellVoltages.length;
    return jkDeviceInfo(s);
  }

  async poll(ch: BmsChannel<JkFrame>, _round: number, signal?: AbortSignal) {
    const s = await readAll(ch, this.cells, signal, POLL_RETRIES);
    this.cells = s.cellVoltages.length;
    return jkToTelemetry(s, Date.now());
  }

  maxRateHz(): number {
    return LINE.baudRate / 10 / (21 + replyBytes(this.cells));
  }
}

const factory: DriverFactory = {
  protocol: 'jk',
  defaultLine: LINE,
  async create(transport, options) {
    const o = driverOptions(options, 150, LINE);
    return new PolledDriver(new BmsChannel(transport, createJkExtractor(), o.line, o.timeoutMs, o.retries, o.clock), new JkProtocol(), options?.signal);
  },
  probe(transport, timeoutMs, clock) {
    return probeWith(transport, LINE, createJkExtractor(), encodeJkReadAll(), isReadAllReply, timeoutMs, clock);
  },
};

export default factory;
export const jkDriverFactory = factory;
