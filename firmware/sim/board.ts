import type { Chemistry } from '../../shared/types/domain.js';
import { Random } from '../../shared/util/random.js';
import { realClock, type Cancel, type Clock } from '../../shared/util/clock.js';
import { Emitter } from '../../shared/util/emitter.js';
import { loadOrCreateDeviceKey, type DeviceKey } from './native/device-key.js';
import { NativeDispatcher } from './native/dispatcher.js';
import { EVENTS } from '../../shared/blackbox/events.js';
import type { WriteResultCode } from '../../shared/settings/native.js';
import { createPackModel, defaultProtection } from './pack/index.js';
import type { PackModel, PackState, ProtectionLimits, ScenarioName } from './pack/types.js';
import type { BootMode } from './boot/bootloader.js';
import { SettingsJournal } from './native/settings-journal.js';
import { installSettingsCommands } from './native/settings.js';
import { installCapacityTest } from './native/capacity-test.js';
import { openStorage, readJson, writeJson } from './state.js';

/**
 * The simulated BMS board: one pack model, one non-volatile store, one identity and key set, seen
 * through whichever personality is on the line. Subsystems (black box, bootloader) hook in through
 * firmware/sim/subsystems.ts when the board starts; native commands and bulk-transfer regions are
 * registered on `board.native`.
 */
export interface BoardIdentity {
  model: string;
  serial: string;
  boardId: string;
  hardwareRevision: string;
  bootloaderVersion: string;
}

/** Non-volatile storage: a --state directory, or memory when none is given. Writes are atomic. */
export interface SimStorage {
  read(name: string): Uint8Array | null;
  write(name: string, data: Uint8Array): void;
  /** Absolute directory, or null for in-memory state. */
  readonly dir: string | null;
}

export interface BoardOptions {
  cells?: number;
  chemistry?: Chemistry;
  capacityAh?: number;
  scenario?: ScenarioName;
  seed?: number;
  /** --state DIR; null/undefined = in memory. */
  stateDir?: string | null;
  /** A ready storage (overrides stateDir). */
  storage?: SimStorage;
  /** Hours of black-box history to synthesise at first start (consumed by the black-box subsystem). */
  prefillHours?: number;
  /** PEM public keys the bootloader trusts (consumed by the bootloader subsystem). */
  trustKeys?: string[];
  /**
   * How the bootloader starts a new image: 'swap' (MCUboot swap through a scratch sector, the
   * default) or 'dual-bank' (switches the bank it boots; runSim's default for the CAN ECU).
   */
  bootMode?: BootMode;
  /** Board RTC at start, ms since epoch (default: the host clock). */
  startTimeMs?: number;
  initialSoc?: number;
  ambientC?: number;
  /** Size of the 'scratch' RAM region used by link tests and benchmarks (default 1 MiB). */
  scratchBytes?: number;
  /** Run the installers of firmware/sim/subsystems.ts (default true). */
  subsystems?: boolean;
  /** Firmware version reported before any bootloader subsystem sets one. */
  firmwareVersion?: string;
  /**
   * The board's time base: pack steps, uptime, and every timer of the board, its line and its
   * subsystems (default: the real clock). A VirtualClock runs the board in virtual time.
   */
  clock?: Clock;
  /**
   * Pack time per unit of the clock's time (default 1): 600 runs an hour of the pack's physics,
   * RTC and black box in 6 s, so a bench test of hours ends in seconds. Timers and the line keep
   * the clock's pace.
   */
  timeScale?: number;
}

/** One board event: pack events (codes from the shared/blackbox events table) and board events. */
export interface BoardEventRecord {
  seq: number;
  t: number;
  code: number;
}

export interface BoardParam {
  id: number;
  name: string;
  unit: string;
  min: number;
  max: number;
  value: number;
  writable: boolean;
}

export type ResetMode = 'application' | 'bootloader';

export interface SimBoard {
  readonly identity: BoardIdentity;
  readonly pack: PackModel;
  readonly storage: SimStorage;
  readonly rng: Random;
  readonly options: Readonly<BoardOptions>;
  /** Native command dispatcher and bulk-transfer region registry. */
  readonly native: NativeDispatcher;
  readonly deviceKey: DeviceKey;
  /** The board's time base (BoardOptions.clock): what its subsystems schedule on. */
  readonly clock: Clock;
  /** Running application version; the bootloader subsystem updates it after a swap. */
  firmwareVersion: string;
  /** True while the running image is in test mode (not yet confirmed). */
  firmwareTestMode: boolean;
  readonly bootCount: number;
  /** ms since the last (re)boot. */
  uptimeMs(): number;
  /** Board RTC, ms since epoch. */
  now(): number;
  /** Steps the pack model to the present (the board's clock) and returns its state. */
  advance(): PackState;
  /** Listener per pack step: state, events raised, step length. */
  onTick(listener: (state: PackState, events: number[], dtSeconds: number) => void): () => void;
  /** Raises a board event (recorded in the event list and passed to event listeners). */
  raiseEvent(code: number): void;
  onEvent(listener: (event: BoardEventRecord) => void): () => void;
  events(since: number, max: number): { next: number; events: BoardEventRecord[] };
  readonly params: BoardParam[];
  /**
   * Writes one parameter (PARAM_SET): refused when unknown, read-only or outside its limits. An
   * accepted change is applied to the protection logic, persisted, signed into the settings journal
   * with `tool`, and raises the params_changed event.
   */
  setParam(id: number, value: number, tool?: string): BoardParam;
  /** Writes several parameters all or nothing (SETTINGS_WRITE). */
  writeParams(items: ReadonlyArray<{ id: number; value: number }>, tool: string): Array<{ id: number; result: WriteResultCode; stored: number }>;
  /** The signed journal of accepted changes. */
  readonly settingsJournal: SettingsJournal;
  /** A signed snapshot of every parameter (SETTINGS_SNAPSHOT). */
  settingsSnapshot(nonce: Uint8Array): Uint8Array;
  /** Alarms seen since the last FAULTS_CLEAR. */
  latchedAlarms: number;
  /** Reboots the board (counts a boot, runs reset listeners, e.g. the bootloader's swap). */
  reset(mode: ResetMode): Promise<void>;
  onReset(listener: (mode: ResetMode) => void | Promise<void>): () => void;
  /** Starts the stepping timer (every 100 ms of the board's clock). */
  start(): void;
  /** Stops timers and runs stop listeners (subsystems flush their state). */
  stop(): Promise<void>;
  onStop(listener: () => void | Promise<void>): () => void;
}

interface StoredIdentity extends BoardIdentity {
  createdAt: number;
}

const EVENT_RING = 512;
const TICK_MS = 100;

class Board implements SimBoard {
  readonly identity: BoardIdentity;
  readonly pack: PackModel;
  readonly storage;
  readonly rng: Random;
  readonly native = new NativeDispatcher();
  readonly deviceKey: DeviceKey;
  readonly clock: Clock;
  firmwareVersion: string;
  firmwareTestMode = false;
  bootCount: number;
  latchedAlarms = 0;
  readonly params: BoardParam[];
  readonly settingsJournal: SettingsJournal;
  private bootWall: number;
  private lastWall: number;
  private cancelTick: Cancel | null = null;
  private tickEvents = new Emitter<{ state: PackState; events: number[]; dt: number }>();
  private eventEvents = new Emitter<BoardEventRecord>();
  private resetEvents = new Emitter<ResetMode>();
  private stopEvents = new Emitter();
  private eventRing: BoardEventRecord[] = [];
  private eventSeq: number;
  private lastState: PackState;
  private readonly timeScale: number;

  constructor(readonly options: BoardOptions) {
    this.clock = options.clock ?? realClock;
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0 && this.timeScale <= 10_000)) throw new RangeError('timeScale must be more than 0 and at most 10000');
    this.bootWall = this.lastWall = this.clock.now();
    this.storage = options.storage ?? openStorage(options.stateDir);
    this.rng = new Random(options.seed ?? 1);
    const identityRng = this.rng.fork();
    const keyRng = this.rng.fork();
    const cells = options.cells ?? 16;
    const chemistry = options.chemistry ?? 'lfp';
    let id = readJson<StoredIdentity>(this.storage, 'identity.json');
    if (!id || typeof id.serial !== 'string') {
      const n = identityRng.int(1_000_000);
      id = {
        model: 'PackScope Sim BMS',
        serial: `PS${String(24 + identityRng.int(3)).padStart(2, '0')}-${String(n).padStart(6, '0')}`,
        boardId: `PSB-${cells}S-${chemistry.toUpperCase()}-A`,
        hardwareRevision: 'B2',
        bootloaderVersion: '1.2.0',
        createdAt: options.startTimeMs ?? Date.now(),
      };
      writeJson(this.storage, 'identity.json', id);
    }
    this.identity = {
      model: id.model,
      serial: id.serial,
      boardId: id.boardId,
      hardwareRevision: id.hardwareRevision,
      bootloaderVersion: id.bootloaderVersion,
    };
    this.deviceKey = loadOrCreateDeviceKey(this.storage, keyRng);
    const counters = readJson<{ bootCount: number; eventSeq: number }>(this.storage, 'counters.json');
    this.bootCount = (counters?.bootCount ?? 0) + 1;
    this.eventSeq = counters?.eventSeq ?? 0;
    this.saveCounters();
    this.firmwareVersion = options.firmwareVersion ?? '1.4.2';
    this.pack = createPackModel({
      cells,
      chemistry,
      capacityAh: options.capacityAh ?? 100,
      scenario: options.scenario ?? 'normal',
      seed: options.seed ?? 1,
      startTimeMs: options.startTimeMs ?? Date.now(),
      ...(options.initialSoc !== undefined ? { initialSoc: options.initialSoc } : {}),
      ...(options.ambientC !== undefined ? { ambientC: options.ambientC } : {}),
    });
    this.lastState = this.pack.state();
    this.params = defaultParams(chemistry, this.pack.config.capacityAh);
    const stored = readJson<Record<string, number>>(this.storage, 'params.json') ?? {};
    for (const p of this.params) {
      const v = stored[p.name];
      if (p.writable && typeof v === 'number' && inLimits(p, v)) p.value = v;
    }
    this.pack.setProtection(protectionFromParams(this.params));
    this.settingsJournal = new SettingsJournal(this.storage, this.deviceKey);
  }

  private saveCounters(): void {
    writeJson(this.storage, 'counters.json', { bootCount: this.bootCount, eventSeq: this.eventSeq });
  }

  uptimeMs(): number {
    return Math.floor(this.clock.now() - this.bootWall);
  }

  now(): number {
    return this.lastState.timeMs;
  }

  advance(): PackState {
    const wall = this.clock.now();
    const dt = ((wall - this.lastWall) / 1000) * this.timeScale;
    if (dt <= 0) return this.lastState;
    this.lastWall = wall;
    this.pack.step(dt);
    const state = this.pack.state();
    this.lastState = state;
    this.latchedAlarms |= state.alarms;
    const events = this.pack.takeEvents();
    for (const code of events) this.raiseEvent(code);
    this.tickEvents.emit({ state, events, dt });
    return state;
  }

  onTick(listener: (s: PackState, e: number[], dt: number) => void): () => void {
    return this.tickEvents.on((t) => listener(t.state, t.events, t.dt));
  }

  raiseEvent(code: number): void {
    const e: BoardEventRecord = { seq: ++this.eventSeq, t: this.lastState.timeMs, code };
    this.eventRing.push(e);
    if (this.eventRing.length > EVENT_RING) this.eventRing.shift();
    this.eventEvents.emit(e);
  }

  onEvent(listener: (e: BoardEventRecord) => void): () => void {
    return this.eventEvents.on(listener);
  }

  events(since: number, max: number): { next: number; events: BoardEventRecord[] } {
    const out = this.eventRing.filter((e) => e.seq > since).slice(0, max);
    const next = out.length ? out[out.length - 1]!.seq : Math.max(since, this.eventRing.length ? this.eventRing[this.eventRing.length - 1]!.seq : since);
    return { next, events: out };
  }

  setParam(id: number, value: number, tool = ''): BoardParam {
    const p = this.params.find((x) => x.id === id);
    if (!p) throw new RangeError(`no parameter ${id}`);
    if (!p.writable) throw new TypeError(`parameter ${p.name} is read-only`);
    if (!inLimits(p, value)) throw new RangeError(`${p.name} must be within ${p.min}..${p.max} ${p.unit}`);
    this.commit([{ p, value }], tool);
    return p;
  }

  writeParams(items: ReadonlyArray<{ id: number; value: number }>, tool: string): Array<{ id: number; result: WriteResultCode; stored: number }> {
    const results = items.map(({ id, value }) => {
      const p = this.params.find((x) => x.id === id);
      const result: WriteResultCode = !p
        ? 'not_found'
        : !p.writable
          ? 'read_only'
          : !inLimits(p, value)
            ? 'out_of_range'
            : Math.fround(value) === Math.fround(p.value)
              ? 'unchanged'
              : 'written';
      return { id, value, p, result };
    });
    const refused = results.some((r) => r.result !== 'written' && r.result !== 'unchanged');
    // All or nothing: a set of protection limits is only consistent as a whole.
    if (!refused)
      this.commit(
        results.filter((r) => r.result === 'written').map((r) => ({ p: r.p!, value: r.value })),
        tool,
      );
    return results.map((r) => ({
      id: r.id,
      result: refused && r.result === 'written' ? 'not_applied' : r.result,
      stored: r.p ? r.p.value : NaN,
    }));
  }

  private commit(changes: Array<{ p: BoardParam; value: number }>, tool: string): void {
    const state = this.advance();
    const changed = changes.filter((c) => Math.fround(c.value) !== Math.fround(c.p.value));
    for (const { p, value } of changed) {
      const old = p.value;
      p.value = value;
      this.settingsJournal.append({ rtcMs: state.timeMs, bootCount: this.bootCount, paramId: p.id, oldValue: old, newValue: value, name: p.name, tool });
    }
    if (!changed.length) return;
    writeJson(this.storage, 'params.json', Object.fromEntries(this.params.filter((x) => x.writable).map((x) => [x.name, x.value])));
    this.pack.setProtection(protectionFromParams(this.params));
    this.raiseEvent(EVENTS.params_changed);
  }

  settingsSnapshot(nonce: Uint8Array): Uint8Array {
    const state = this.advance();
    return this.settingsJournal.snapshot({
      rtcMs: state.timeMs,
      bootCount: this.bootCount,
      nonce,
      values: this.params.map((p) => ({ paramId: p.id, value: p.value, name: p.name })),
    });
  }

  async reset(mode: ResetMode): Promise<void> {
    this.bootCount++;
    this.saveCounters();
    this.bootWall = this.clock.now();
    await this.resetEvents.emitSerial(mode);
  }

  onReset(listener: (m: ResetMode) => void | Promise<void>): () => void {
    return this.resetEvents.on(listener);
  }

  start(): void {
    if (this.cancelTick) return;
    this.lastWall = this.clock.now();
    // A background timer: a board nobody stopped never keeps the process alive.
    this.cancelTick = this.clock.every(TICK_MS, () => this.advance(), { background: true });
  }

  async stop(): Promise<void> {
    this.cancelTick?.();
    this.cancelTick = null;
    this.saveCounters();
    await this.stopEvents.emitSerial();
  }

  onStop(listener: () => void | Promise<void>): () => void {
    return this.stopEvents.on(listener);
  }
}

/** A value inside a parameter's limits as the wire carries them (f32: 4.4 arrives as 4.4000001). */
function inLimits(p: BoardParam, value: number): boolean {
  return Number.isFinite(value) && Math.fround(value) >= Math.fround(p.min) && Math.fround(value) <= Math.fround(p.max);
}

/**
 * The board's parameters: the protection limits its pack model enforces (defaults from the
 * chemistry, shared/settings/native.ts maps the names to the settings catalogue), the rated
 * capacity and the telemetry rate.
 */
function defaultParams(chemistry: Chemistry, capacityAh: number): BoardParam[] {
  const d = defaultProtection(chemistry, capacityAh);
  const w = (id: number, name: string, unit: string, min: number, max: number, value: number): BoardParam => ({
    id,
    name,
    unit,
    min,
    max,
    value,
    writable: true,
  });
  return [
    w(1, 'cell_overvoltage', 'V', 3.0, 4.4, d.cellOvProtect),
    w(2, 'cell_undervoltage', 'V', 2.0, 3.6, d.cellUvProtect),
    w(3, 'charge_overcurrent', 'A', 1, Math.max(500, 3 * capacityAh), d.chargeOcA),
    w(4, 'discharge_overcurrent', 'A', 1, Math.max(1000, 10 * capacityAh), d.dischargeOcA),
    w(5, 'balance_start', 'V', 3.0, 4.3, d.balanceStart),
    w(6, 'charge_min_temperature', '°C', -20, 20, d.chargeMinTempC),
    { id: 7, name: 'nominal_capacity', unit: 'Ah', min: capacityAh, max: capacityAh, value: capacityAh, writable: false },
    { id: 8, name: 'telemetry_max_rate', unit: 'Hz', min: 100, max: 100, value: 100, writable: false },
    w(9, 'cell_overvoltage_release', 'V', 3.0, 4.4, d.cellOvRelease),
    w(10, 'cell_undervoltage_release', 'V', 2.0, 3.6, d.cellUvRelease),
    w(11, 'charge_overtemperature', '°C', 20, 80, d.chargeOtC),
    w(12, 'charge_undertemperature', '°C', -40, 10, d.chargeUtC),
    w(13, 'discharge_overtemperature', '°C', 30, 100, d.dischargeOtC),
    w(14, 'discharge_undertemperature', '°C', -40, 10, d.dischargeUtC),
    w(15, 'balance_window', 'V', 0.005, 0.5, d.balanceWindow),
    w(16, 'charge_overcurrent_delay', 's', 0, 60, d.chargeOcDelayS),
    w(17, 'discharge_overcurrent_delay', 's', 0, 60, d.dischargeOcDelayS),
  ];
}

const PROTECTION_PARAMS: Readonly<Record<string, keyof ProtectionLimits>> = {
  cell_overvoltage: 'cellOvProtect',
  cell_undervoltage: 'cellUvProtect',
  charge_overcurrent: 'chargeOcA',
  discharge_overcurrent: 'dischargeOcA',
  balance_start: 'balanceStart',
  charge_min_temperature: 'chargeMinTempC',
  cell_overvoltage_release: 'cellOvRelease',
  cell_undervoltage_release: 'cellUvRelease',
  charge_overtemperature: 'chargeOtC',
  charge_undertemperature: 'chargeUtC',
  discharge_overtemperature: 'dischargeOtC',
  discharge_undertemperature: 'dischargeUtC',
  balance_window: 'balanceWindow',
  charge_overcurrent_delay: 'chargeOcDelayS',
  discharge_overcurrent_delay: 'dischargeOcDelayS',
};

/** What the pack model enforces, from the parameters. */
export function protectionFromParams(params: readonly BoardParam[]): Partial<ProtectionLimits> {
  const out: Partial<ProtectionLimits> = {};
  for (const p of params) {
    const k = PROTECTION_PARAMS[p.name];
    if (k) out[k] = p.value;
  }
  return out;
}

/**
 * Builds a board: identity and key from its state (created on first start), the pack model, the
 * core native commands and bulk engine, then every subsystem installer. Call start() to run.
 */
export async function createBoard(options: BoardOptions = {}): Promise<SimBoard> {
  const board = new Board(options);
  const { installCoreCommands } = await import('./native/core.js');
  const { installBulkTransfer } = await import('./native/bulk.js');
  installCoreCommands(board);
  installBulkTransfer(board);
  installSettingsCommands(board);
  installCapacityTest(board);
  if (options.subsystems !== false) {
    const { SUBSYSTEMS } = await import('./subsystems.js');
    for (const install of SUBSYSTEMS) await install(board);
  }
  return board;
}
