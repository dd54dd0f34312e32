import { ERR, CMD, PROTOCOL_VERSION, MAX_PAYLOAD } from '../../../shared/protocol/constants.js';
import {
  BOARD_EVENT,
  CAPABILITY_BITS,
  DEVICE_KEY,
  EVENTS_LIST,
  EVENTS_QUERY,
  FAULTS,
  IDENTITY,
  PARAM_ID,
  PARAM_LIST,
  PARAM_VALUE,
  REGION_FLAG,
  REGION_HASH,
  REGION_ID,
  REGION_INFO,
  REGION_LIST,
  REGION_RANGE,
  RESET,
  TELEMETRY,
  TELEMETRY_START,
  TIME,
  WRITTEN_UNKNOWN,
  type RegionInfo,
} from '../../../shared/protocol/messages.js';
import { telemetryToPayload } from '../../../shared/protocol/telemetry.js';
import type { PackState } from '../pack/types.js';
import type { Cancel } from '../../../shared/util/clock.js';
import type { SimBoard } from '../board.js';
import { NativeError, type BoardRegion, type NativeSession } from './dispatcher.js';

/**
 * The core (0x00xx) commands and the region queries of the bulk section (0x0100–0x0102, 0x0106):
 * identity, ping, telemetry at a requested rate, parameters, faults and events, time, reset.
 */
export const MAX_TELEMETRY_MILLIHZ = 100_000;

export function stateToPayload(s: PackState, soh = s.soh) {
  return telemetryToPayload({
    t: s.timeMs,
    packVoltage: s.packVoltage,
    current: s.current,
    soc: s.soc,
    soh,
    cellVoltages: s.cellVoltages,
    temperatures: s.temperatures,
    status: s.status,
    alarms: s.alarms,
  });
}

interface TelemetryState {
  cancel: Cancel;
}

function stopTelemetry(session: NativeSession): void {
  const t = session.data.get('telemetry') as TelemetryState | undefined;
  t?.cancel();
  session.data.delete('telemetry');
}

export function regionInfo(r: BoardRegion): RegionInfo {
  return {
    id: r.id,
    name: r.name,
    size: r.size(),
    flags: REGION_FLAG.READ | REGION_FLAG.HASH | (r.write ? REGION_FLAG.WRITE : 0) | (r.erase ? REGION_FLAG.ERASE : 0),
    written: r.written ? r.written() : WRITTEN_UNKNOWN,
  };
}

export function checkRange(r: BoardRegion, offset: number, length: number): void {
  const size = r.size();
  if (offset > size || length > size - offset) {
    throw new NativeError(ERR.OUT_OF_RANGE, `range ${offset}+${length} is outside region '${r.name}' (${size} bytes)`);
  }
}

export function installCoreCommands(board: SimBoard): void {
  const n = board.native;
  const caps = (names: string[]) => names.reduce((acc, c) => acc | (1 << CAPABILITY_BITS.indexOf(c as never)), 0);

  n.register(CMD.IDENTITY, () => {
    const extra: string[] = [];
    if (board.native.has(0x0200)) extra.push('blackbox');
    if (board.native.has(0x0300)) extra.push('firmware');
    return IDENTITY.encode({
      protocolVersion: PROTOCOL_VERSION,
      model: board.identity.model,
      serial: board.identity.serial,
      boardId: board.identity.boardId,
      hardwareRevision: board.identity.hardwareRevision,
      firmwareVersion: board.firmwareVersion,
      bootloaderVersion: board.identity.bootloaderVersion,
      cellCount: board.pack.config.cells,
      chemistry: board.pack.config.chemistry,
      nominalCapacityMah: Math.round(board.pack.config.capacityAh * 1000),
      capabilities: caps(['identity', 'telemetry', 'params', 'bulk', ...extra]),
      maxPayload: MAX_PAYLOAD,
      bootCount: board.bootCount,
      uptimeMs: board.uptimeMs() >>> 0,
    });
  });

  n.register(CMD.DEVICE_KEY, () => DEVICE_KEY.encode({ publicKey: board.deviceKey.publicKeyDer }));

  n.register(CMD.PING, (payload) => payload);

  n.register(CMD.TELEMETRY_GET, () => TELEMETRY.encode(stateToPayload(board.advance())));

  n.register(CMD.TELEMETRY_START, (payload, { session }) => {
    const { rateMilliHz } = TELEMETRY_START.decode(payload);
    if (rateMilliHz < 1 || rateMilliHz > MAX_TELEMETRY_MILLIHZ) {
      throw new NativeError(ERR.BAD_ARGUMENT, `telemetry rate must be 0.001..${MAX_TELEMETRY_MILLIHZ / 1000} Hz`);
    }
    stopTelemetry(session);
    const periodMs = 1e6 / rateMilliHz;
    const send = () => {
      if (session.closed) return;
      const state = board.advance();
      const frame = TELEMETRY.encode(stateToPayload(state));
      // A real board drops a sample rather than queue it behind a full UART buffer: telemetry
      // must stay current, and a bulk transfer on the same line must not starve.
      if (session.link.backlog > 4 * (frame.length + 16) + 16384) return;
      session.emit(CMD.EV_TELEMETRY, frame);
    };
    const cancelEvery = board.clock.every(periodMs, send);
    const cancelFirst = board.clock.defer(send);
    session.data.set('telemetry', { cancel: () => (cancelEvery(), cancelFirst()) } satisfies TelemetryState);
    return TELEMETRY_START.encode({ rateMilliHz });
  });

  n.register(CMD.TELEMETRY_STOP, (_p, { session }) => {
    stopTelemetry(session);
  });

  n.register(CMD.PARAM_LIST, () =>
    PARAM_LIST.encode({
      params: board.params.map((p) => ({ id: p.id, writable: p.writable, min: p.min, max: p.max, value: p.value, name: p.name, unit: p.unit })),
    }),
  );
  n.register(CMD.PARAM_GET, (payload) => {
    const { id } = PARAM_ID.decode(payload);
    const p = board.params.find((x) => x.id === id);
    if (!p) throw new NativeError(ERR.NOT_FOUND, `no parameter ${id}`);
    return PARAM_VALUE.encode({ id, value: p.value });
  });
  n.register(CMD.PARAM_SET, (payload) => {
    const { id, value } = PARAM_VALUE.decode(payload);
    const p = board.params.find((x) => x.id === id);
    if (!p) throw new NativeError(ERR.NOT_FOUND, `no parameter ${id}`);
    if (!p.writable) throw new NativeError(ERR.READ_ONLY, `parameter ${p.name} is read-only`);
    try {
      board.setParam(id, value);
    } catch (e) {
      if (e instanceof RangeError) throw new NativeError(ERR.OUT_OF_RANGE, `${p.name} must be within ${p.min}..${p.max} ${p.unit}; stored ${p.value}`);
      throw e;
    }
    return PARAM_VALUE.encode({ id, value: p.value });
  });

  n.register(CMD.FAULTS_GET, () => {
    const s = board.advance();
    return FAULTS.encode({ status: s.status & 0xffff, activeAlarms: s.alarms >>> 0, latchedAlarms: board.latchedAlarms >>> 0 });
  });
  n.register(CMD.FAULTS_CLEAR, () => {
    const s = board.advance();
    board.latchedAlarms = s.alarms;
    return FAULTS.encode({ status: s.status & 0xffff, activeAlarms: s.alarms >>> 0, latchedAlarms: board.latchedAlarms >>> 0 });
  });
  n.register(CMD.EVENTS_LIST, (payload) => {
    const { since, max } = EVENTS_QUERY.decode(payload);
    board.advance();
    return EVENTS_LIST.encode(board.events(since, Math.min(max || 64, 64)));
  });

  n.register(CMD.TIME_GET, () => TIME.encode({ t: board.advance().timeMs }));
  n.register(CMD.TIME_SET, () => {
    // The pack model's clock is its simulation time; the board's RTC is not settable in the simulator.
    throw new NativeError(ERR.DENIED, 'the RTC of this board is set at manufacture and cannot be changed');
  });

  n.register(CMD.RESET, (payload, { session }) => {
    const { mode } = RESET.decode(payload);
    if (mode === 'bootloader' && !board.native.has(0x0300)) throw new NativeError(ERR.DENIED, 'this board has no bootloader command set');
    // Answer first, as a real board does before it pulls its own reset line.
    board.clock.after(20, () => void board.reset(mode));
    void session;
  });

  n.register(CMD.REGION_LIST, () => REGION_LIST.encode({ regions: n.regions().map(regionInfo) }));
  n.register(CMD.REGION_INFO, (payload) => REGION_INFO.encode(regionInfo(n.region(REGION_ID.decode(payload).region))));
  n.register(CMD.REGION_HASH, async (payload) => {
    const { region, offset, length } = REGION_RANGE.decode(payload);
    const r = n.region(region);
    checkRange(r, offset, length);
    return REGION_HASH.encode({ offset, length, sha256: await n.hashRegion(r, offset, length) });
  });
  n.register(CMD.REGION_ERASE, async (payload) => {
    const { region, offset, length } = REGION_RANGE.decode(payload);
    const r = n.region(region);
    if (!r.erase) throw new NativeError(ERR.READ_ONLY, `region '${r.name}' cannot be erased`);
    checkRange(r, offset, length);
    await r.erase(offset, length);
  });

  // Board events reach every connected host as they happen.
  board.onEvent((e) => n.broadcast(CMD.EV_BOARD_EVENT, BOARD_EVENT.encode(e)));
  board.onReset(() => {
    for (const s of n.sessions) stopTelemetry(s);
  });

  installScratchRegion(board);
}

export function closeSessionTelemetry(session: NativeSession): void {
  stopTelemetry(session);
}

/**
 * Region 0x01 'scratch': RAM filled from the board's seed, readable and writable. Link tests and
 * the link benchmark move data through it; it holds nothing the board needs.
 */
function installScratchRegion(board: SimBoard): void {
  const size = board.options.scratchBytes ?? 1 << 20;
  let mem: Uint8Array | null = null;
  let written = 0;
  const rng = board.rng.fork();
  const memory = () => {
    if (!mem) {
      mem = new Uint8Array(size);
      for (let i = 0; i < size; i += 4) {
        const v = Math.floor(rng.next() * 4294967296);
        mem[i] = v;
        mem[i + 1] = v >>> 8;
        mem[i + 2] = v >>> 16;
        mem[i + 3] = v >>> 24;
      }
    }
    return mem;
  };
  board.native.registerRegion({
    id: 0x01,
    name: 'scratch',
    size: () => size,
    read: (offset, length) => memory().slice(offset, offset + length),
    write: (offset, data) => {
      memory().set(data, offset);
      if (offset <= written) written = Math.max(written, offset + data.length);
    },
    erase: (offset, length) => {
      memory().fill(0xff, offset, offset + length);
      if (offset < written) written = offset;
    },
    written: () => written,
  });
}
