import {
  assembleDalyValues,
  CELLS_PER_FRAME,
  createDalyExtractor,
  DALY_BMS_ADDRESS,
  DALY_CMD,
  DALY_HOST_ADDRESS,
  dalyToTelemetry,
  decodeDalyBalance,
  decodeDalyCellFrame,
  decodeDalyFailures,
  decodeDalyMos,
  decodeDalySoc,
  decodeDalyStatus,
  decodeDalyTempFrame,
  TEMPS_PER_FRAME,
  type DalyFailures,
  type DalyFrame,
  type DalyMos,
  type DalySoc,
  type DalyStatus,
} from '../../../shared/bms/daly.js';
import {
  createJbdExtractor,
  decodeJbdBasicInfo,
  decodeJbdCells,
  JBD_READ,
  JBD_REG_BASIC,
  JBD_REG_CELLS,
  JBD_WRITE,
  jbdToTelemetry,
  type JbdFrame,
} from '../../../shared/bms/jbd.js';
import {
  decodePylonAlarmInfo,
  decodePylonAnalog,
  decodePylonManagementInfo,
  decodePylonManufacturerInfo,
  decodePylonSerial,
  decodePylonSystemParameters,
  pylonToTelemetry,
  PYLON_ALL_MODULES,
  PYLON_CID1_BATTERY,
  PYLON_CID2,
  type PylonAlarmInfo,
  type PylonFrame,
} from '../../../shared/bms/pylontech-rs485.js';
import type { FrameExtractor } from '../../../shared/bms/extractor.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import type { ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport } from '../../../shared/types/transport.js';
import { Emitter } from '../../../shared/util/emitter.js';
import { PylonLineExtractor } from './pylontech-rs485-lines.js';

/**
 * Listen-only decoding of a bus another master polls (an inverter asking its batteries): bytes
 * are read, never written. Requests and answers are paired by address, and each pack's telemetry
 * is assembled from what the master happened to ask. Nothing here can transmit: the listener gets
 * the transport's data stream, not the transport.
 */
export interface HeardTelemetry {
  /** Which pack: Pylontech module address, Daly board number, 1 for JBD (one board per line). */
  pack: number;
  frame: TelemetryFrame;
}

export interface HeardMessage {
  pack: number;
  /** What was answered: 'alarm', 'system-parameters', 'manufacturer', 'serial', 'management', … */
  what: string;
  values: unknown;
}

export interface ListenStats {
  bytesIn: number;
  framesIn: number;
  requests: number;
  answers: number;
  /** Answers heard without the request that asked for them (listening started mid-exchange). */
  unpaired: number;
  crcErrors: number;
  decodeErrors: number;
  garbageBytes: number;
}

/** Protocols that can be followed from the side of the bus. */
export const LISTEN_PROTOCOLS: readonly ProtocolId[] = ['pylontech-rs485', 'daly', 'jbd'];

interface Sniffer {
  extractor: FrameExtractor<unknown>;
  /** One intact frame; returns what it completed. */
  frame(f: unknown): void;
}

export class BusListener {
  readonly stats: ListenStats = { bytesIn: 0, framesIn: 0, requests: 0, answers: 0, unpaired: 0, crcErrors: 0, decodeErrors: 0, garbageBytes: 0 };
  private telemetryEvents = new Emitter<HeardTelemetry>();
  private messageEvents = new Emitter<HeardMessage>();
  private sniffer: Sniffer;
  private off: () => void;

  constructor(
    readonly protocol: ProtocolId,
    onData: (listener: (chunk: Uint8Array) => void) => () => void,
    private now: () => number = Date.now,
  ) {
    if (protocol === 'pylontech-rs485') this.sniffer = this.pylontech();
    else if (protocol === 'daly') this.sniffer = this.daly();
    else if (protocol === 'jbd') this.sniffer = this.jbd();
    else
      throw new PackscopeError(
        'USAGE',
        `listen-only decoding supports ${LISTEN_PROTOCOLS.join(', ')} (CAN: packscope can monitor --listen-only), not ${protocol}`,
      );
    this.off = onData((chunk) => this.push(chunk));
  }

  /** Listens on a transport's receive side only. */
  static on(protocol: ProtocolId, transport: Pick<ByteTransport, 'onData'>, now?: () => number): BusListener {
    return new BusListener(protocol, (l) => transport.onData(l), now);
  }

  onTelemetry(l: (h: HeardTelemetry) => void): () => void {
    return this.telemetryEvents.on(l);
  }

  onMessage(l: (m: HeardMessage) => void): () => void {
    return this.messageEvents.on(l);
  }

  dispose(): void {
    this.off();
  }

  private push(chunk: Uint8Array): void {
    this.stats.bytesIn += chunk.length;
    for (const f of this.sniffer.extractor.push(chunk)) {
      this.stats.framesIn++;
      try {
        this.sniffer.frame(f);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.stats.decodeErrors++;
      }
    }
    const x = this.sniffer.extractor.stats;
    this.stats.crcErrors = x.crcErrors;
    this.stats.garbageBytes = x.garbageBytes;
  }

  private pylontech(): Sniffer {
    const asked = new Map<number, PylonFrame>();
    const alarms = new Map<number, PylonAlarmInfo>();
    const isAnswer = (cid2: number) => cid2 < 0x40 || cid2 === 0x90 || cid2 === 0x91;
    const message = (pack: number, what: string, values: unknown) => this.messageEvents.emit({ pack, what, values });
    return {
      extractor: new PylonLineExtractor() as FrameExtractor<unknown>,
      frame: (raw) => {
        const f = raw as PylonFrame;
        if (f.cid1 !== PYLON_CID1_BATTERY) return;
        if (!isAnswer(f.cid2)) {
          this.stats.requests++;
          asked.set(f.adr, f);
          return;
        }
        this.stats.answers++;
        const req = asked.get(f.adr);
        asked.delete(f.adr);
        if (f.cid2 !== 0) return message(f.adr, 'error', { rtn: f.cid2, request: req?.cid2 ?? null });
        // An analog answer can be read without its request; the others cannot be told apart.
        const cid2 = req?.cid2 ?? (f.info.length > 20 ? PYLON_CID2.analog : null);
        if (!req) this.stats.unpaired++;
        const t = this.now();
        switch (cid2) {
          case PYLON_CID2.analog: {
            const all = req ? req.info[0] === PYLON_ALL_MODULES : undefined;
            const a = decodePylonAnalog(f.info, all);
            // An all-modules answer lists the stack in address order from the module asked.
            const base = a.modules.length > 1 ? f.adr : req ? f.adr : a.command;
            a.modules.forEach((m, i) => this.telemetryEvents.emit({ pack: base + i, frame: pylonToTelemetry(m, alarms.get(base + i) ?? null, t) }));
            return;
          }
          case PYLON_CID2.alarm: {
            const a = decodePylonAlarmInfo(f.info);
            alarms.set(f.adr, a);
            return message(f.adr, 'alarm', a);
          }
          case PYLON_CID2.systemParameters:
            return message(f.adr, 'system-parameters', decodePylonSystemParameters(f.info));
          case PYLON_CID2.manufacturer:
            return message(f.adr, 'manufacturer', decodePylonManufacturerInfo(f.info));
          case PYLON_CID2.serial:
            return message(f.adr, 'serial', decodePylonSerial(f.info));
          case PYLON_CID2.management:
            return message(f.adr, 'management', decodePylonManagementInfo(f.info));
          case PYLON_CID2.protocolVersion:
            return message(f.adr, 'protocol-version', { version: `${f.ver >> 4}.${f.ver & 0xf}` });
          default:
            return;
        }
      },
    };
  }

  private daly(): Sniffer {
    interface Board {
      soc?: DalySoc;
      mos?: DalyMos;
      status?: DalyStatus;
      cells: Array<{ frame: number; values: number[] }>;
      temps: Array<{ frame: number; values: number[] }>;
      cellList?: number[];
      tempList?: number[];
      balancing: number[];
      failures: DalyFailures;
    }
    const boards = new Map<number, Board>();
    let last: { board: number; command: number } | null = null;
    const boardOf = (n: number) => {
      let b = boards.get(n);
      if (!b) boards.set(n, (b = { cells: [], temps: [], balancing: [], failures: { active: [], alarms: 0, faultCode: 0 } }));
      return b;
    };
    return {
      extractor: createDalyExtractor() as FrameExtractor<unknown>,
      frame: (raw) => {
        const f = raw as DalyFrame;
        if (f.address >= DALY_HOST_ADDRESS && f.address < DALY_HOST_ADDRESS + 16) {
          this.stats.requests++;
          last = { board: f.address - DALY_HOST_ADDRESS, command: f.command };
          const b = boardOf(last.board);
          if (f.command === DALY_CMD.cells) b.cells = [];
          if (f.command === DALY_CMD.temperatures) b.temps = [];
          return;
        }
        if (f.address !== DALY_BMS_ADDRESS) return;
        this.stats.answers++;
        if (!last || last.command !== f.command) {
          this.stats.unpaired++;
          return;
        }
        const b = boardOf(last.board);
        switch (f.command) {
          case DALY_CMD.soc:
            b.soc = decodeDalySoc(f.data);
            break;
          case DALY_CMD.mos:
            b.mos = decodeDalyMos(f.data);
            break;
          case DALY_CMD.status:
            b.status = decodeDalyStatus(f.data);
            break;
          case DALY_CMD.cells: {
            const c = decodeDalyCellFrame(f.data);
            b.cells.push({ frame: c.frame, values: c.millivolts.map((mv) => mv / 1000) });
            if (b.status) {
              try {
                b.cellList = assembleDalyValues(b.cells, b.status.cellCount, CELLS_PER_FRAME, 'cell voltages');
              } catch {
                // more frames to come
              }
            }
            break;
          }
          case DALY_CMD.temperatures: {
            const t = decodeDalyTempFrame(f.data);
            b.temps.push({ frame: t.frame, values: t.temperatures });
            if (b.status) {
              try {
                b.tempList = assembleDalyValues(b.temps, b.status.temperatureCount, TEMPS_PER_FRAME, 'temperatures');
              } catch {
                // more frames to come
              }
            }
            break;
          }
          case DALY_CMD.balance:
            b.balancing = decodeDalyBalance(f.data, b.status?.cellCount ?? 48);
            break;
          case DALY_CMD.failures:
            b.failures = decodeDalyFailures(f.data);
            break;
          default:
            return;
        }
        // A frame each time the master has re-read the pack's SOC, once the rest has been heard.
        if (f.command === DALY_CMD.soc && b.soc && b.mos && b.status && b.cellList) {
          const frame = dalyToTelemetry(
            {
              soc: b.soc,
              mos: b.mos,
              status: b.status,
              cells: b.cellList,
              temperatures: b.tempList ?? [],
              balancing: b.balancing,
              failures: b.failures,
            },
            this.now(),
          );
          this.telemetryEvents.emit({ pack: last.board, frame });
        }
      },
    };
  }

  private jbd(): Sniffer {
    let asked: number | null = null;
    let cells: number[] | null = null;
    return {
      extractor: createJbdExtractor() as FrameExtractor<unknown>,
      frame: (raw) => {
        const f = raw as JbdFrame;
        if (f.b1 === JBD_READ || f.b1 === JBD_WRITE) {
          this.stats.requests++;
          asked = f.b2;
          return;
        }
        this.stats.answers++;
        if (asked !== f.b1) this.stats.unpaired++;
        asked = null;
        if (f.b2 !== 0) return;
        if (f.b1 === JBD_REG_CELLS) cells = decodeJbdCells(f.data);
        if (f.b1 === JBD_REG_BASIC) {
          const basic = decodeJbdBasicInfo(f.data);
          if (cells && cells.length === basic.cellCount) this.telemetryEvents.emit({ pack: 1, frame: jbdToTelemetry(basic, cells, this.now()) });
        }
      },
    };
  }
}
