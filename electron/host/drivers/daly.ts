import {
  assembleDalyValues,
  CELLS_PER_FRAME,
  createDalyExtractor,
  DALY_BMS_ADDRESS,
  dalyBoardAddress,
  DALY_CMD,
  dalyDeviceInfo,
  dalyFrameCount,
  dalyToTelemetry,
  decodeDalyBalance,
  decodeDalyCellFrame,
  decodeDalyCellRange,
  decodeDalyFailures,
  decodeDalyMos,
  decodeDalySoc,
  decodeDalyStatus,
  decodeDalyTempFrame,
  decodeDalyTempRange,
  encodeDalyRequest,
  TEMPS_PER_FRAME,
  type DalyFrame,
  type DalyStatus,
} from '../../../shared/bms/daly.js';
// jscpd:ignore-start -- the polled drivers import the same polling pieces and the same line type
import type { LineSettings } from '../../../shared/types/transport.js';
import { BmsChannel, driverOptions, POLL_RETRIES, PolledBus, PolledDriver, probeWith, type PollingProtocol } from './bms-polling.js';
import type { DriverFactory } from './types.js';
// jscpd:ignore-end

/**
 * Daly UART driver (9600 8N1, read-only). A poll round asks 0x90 (voltage, current, SOC), 0x91 and
 * 0x92 (the board's own highest/lowest cell and temperature), 0x93 (MOS state), 0x95 (cells,
 * multi-frame), 0x96 (temperatures, multi-frame), 0x97 (balancing) and 0x98 (failures); 0x94 (cell
 * and sensor counts, cycles) is read first and then every tenth round, since the counts are what
 * tell real values from the stale padding bytes. Boards given a board number n share an RS485 bus
 * and are asked at 0x40 + n (--address n); they answer from 0x01.
 * Current sign: see shared/bms/daly.ts (raw above 30000 = discharge).
 */
const LINE: LineSettings = { baudRate: 9600, parity: 'none' };
const FRAME = 13;

export const answerTo = (command: number) => (f: DalyFrame) => f.address === DALY_BMS_ADDRESS && f.command === command;

/** One request, one reply frame: its data bytes. */
export async function ask(ch: BmsChannel<DalyFrame>, board: number, command: number, signal?: AbortSignal, retries?: number): Promise<Uint8Array> {
  const [f] = await ch.request(
    { request: encodeDalyRequest(command, dalyBoardAddress(board)), accept: answerTo(command), expectBytes: FRAME },
    signal,
    retries,
  );
  return f!.data;
}

async function askFrames(
  ch: BmsChannel<DalyFrame>,
  board: number,
  command: number,
  frames: number,
  signal?: AbortSignal,
  retries?: number,
): Promise<DalyFrame[]> {
  return ch.request(
    {
      request: encodeDalyRequest(command, dalyBoardAddress(board)),
      accept: answerTo(command),
      complete: (got) => new Set(got.map((g) => g.data[0])).size >= frames,
      expectBytes: FRAME * frames,
    },
    signal,
    retries,
  );
}

class DalyProtocol implements PollingProtocol<DalyFrame> {
  readonly protocol = 'daly' as const;
  private status: DalyStatus | null = null;

  constructor(readonly address = 0) {}

  async identify(ch: BmsChannel<DalyFrame>, signal?: AbortSignal) {
    this.status = decodeDalyStatus(await ask(ch, this.address, DALY_CMD.status, signal));
    const soc = decodeDalySoc(await ask(ch, this.address, DALY_CMD.soc, signal));
    const mos = decodeDalyMos(await ask(ch, this.address, DALY_CMD.mos, signal));
    return dalyDeviceInfo({ soc, mos, status: this.status });
  }

  async poll(ch: BmsChannel<DalyFrame>, round: number, signal?: AbortSignal) {
    if (!this.status || round % 10 === 0) this.status = decodeDalyStatus(await ask(ch, this.address, DALY_CMD.status, signal, POLL_RETRIES));
    const status = this.status;
    const soc = decodeDalySoc(await ask(ch, this.address, DALY_CMD.soc, signal, POLL_RETRIES));
    const mos = decodeDalyMos(await ask(ch, this.address, DALY_CMD.mos, signal, POLL_RETRIES));
    const cellRange = decodeDalyCellRange(await ask(ch, this.address, DALY_CMD.cellRange, signal, POLL_RETRIES));
    const tempRange = decodeDalyTempRange(await ask(ch, this.address, DALY_CMD.tempRange, signal, POLL_RETRIES));
    const cellFrames = await askFrames(ch, this.address, DALY_CMD.cells, dalyFrameCount(status.cellCount, CELLS_PER_FRAME), signal, POLL_RETRIES);
    const cells = assembleDalyValues(
      cellFrames.map((f) => {
        const c = decodeDalyCellFrame(f.data);
        return { frame: c.frame, values: c.millivolts.map((mv) => mv / 1000) };
      }),
      status.cellCount,
      CELLS_PER_FRAME,
      'cell voltages',
    );
    let temperatures: number[] = [];
    if (status.temperatureCount > 0) {
      const tf = await askFrames(ch, this.address, DALY_CMD.temperatures, dalyFrameCount(status.temperatureCount, TEMPS_PER_FRAME), signal, POLL_RETRIES);
      temperatures = assembleDalyValues(
        tf.map((f) => {
          const t = decodeDalyTempFrame(f.data);
          return { frame: t.frame, values: t.temperatures };
        }),
        status.temperatureCount,
        TEMPS_PER_FRAME,
        'temperatures',
      );
    }
    const balancing = decodeDalyBalance(await ask(ch, this.address, DALY_CMD.balance, signal, POLL_RETRIES), status.cellCount);
    const failures = decodeDalyFailures(await ask(ch, this.address, DALY_CMD.failures, signal, POLL_RETRIES));
    return dalyToTelemetry({ soc, mos, status, cells, temperatures, balancing, failures, cellRange, tempRange }, Date.now());
  }

  maxRateHz(): number {
    const cells = this.status?.cellCount ?? 16;
    const temps = this.status?.temperatureCount ?? 4;
    const requests = 8 + 0.1;
    const replies = 6 + dalyFrameCount(cells, CELLS_PER_FRAME) + dalyFrameCount(temps, TEMPS_PER_FRAME) + 0.1;
    return LINE.baudRate / 10 / (FRAME * (requests + replies));
  }
}

const factory: DriverFactory = {
  protocol: 'daly',
  defaultLine: LINE,
  async create(transport, options) {
    const o = driverOptions(options, 250, LINE);
    return new PolledDriver(
      new BmsChannel(transport, createDalyExtractor(), o.line, o.timeoutMs, o.retries, o.clock),
      new DalyProtocol(o.address ?? 0),
      options?.signal,
    );
  },
  probe(transport, timeoutMs, clock) {
    return probeWith(transport, LINE, createDalyExtractor(), encodeDalyRequest(DALY_CMD.soc), answerTo(DALY_CMD.soc), timeoutMs, clock);
  },
  addressing: {
    label: 'board number',
    defaultAddress: 0,
    range: [0, 15],
    openBus(transport, options) {
      const o = driverOptions(options, 250, LINE);
      return new PolledBus(new BmsChannel(transport, createDalyExtractor(), o.line, o.timeoutMs, o.retries, o.clock), (n) => new DalyProtocol(n));
    },
  },
};

export default factory;
export const dalyDriverFactory = factory;
