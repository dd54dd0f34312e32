import { PackscopeError } from '../../shared/errors.js';
import { Emitter } from '../../shared/util/emitter.js';
import { realClock, type Clock } from '../../shared/util/clock.js';
import type { Parity } from '../../shared/types/transport.js';
import { createBoard, type BoardOptions, type SimBoard } from './board.js';
import { BOOT_MODES } from './boot/bootloader.js';
import { parseFaultSpec, type FaultSpec } from './faults.js';
import { createDeviceLink, type DeviceLink, type RawPipe } from './line.js';
import { PERSONALITIES } from './personalities.js';
import type { Personality } from './personality.js';
import type { CanSimOptions } from './can/index.js';
import { openPty } from './pty.js';

/**
 * Runs a simulated board: builds it (identity, key, pack, subsystems), puts a personality on a
 * paced line with optional fault injection, and attaches the line to a pseudo-terminal (the host
 * opens it with serialport, as it would a USB adapter) or to an in-process pipe (demo device,
 * unit tests). `packscope sim --pty` and the `sim:` transport both come through here.
 */
export interface RunSimOptions extends BoardOptions {
  /** 'native' (default) or any name in firmware/sim/personalities.ts. */
  personality?: string;
  /** Line rate the board paces to (default 115200). */
  baud?: number;
  parity?: Parity;
  /** `--faults` spec string or a parsed spec. */
  faults?: string | FaultSpec;
  /** No pacing: bytes move as fast as the pipe allows (benchmarks). */
  unpaced?: boolean;
  /** true: a real pseudo-terminal; false (default): an in-process pipe (see RunningSim.host). */
  pty?: boolean;
  /** Trust keys for the bootloader subsystem (PEM file paths), same as BoardOptions.trustKeys. */
  trust?: string[];
  /** The slcan personality's bus and nodes (default: PACKSCOPE_SIM_CAN, else 500 kbit/s, both nodes). */
  can?: CanSimOptions;
  /** Packs on the bus, for the personalities that address several (daly, pylontech-rs485). */
  packs?: number;
  /** Start SOC of each pack on the bus, percent. */
  packSoc?: number[];
  /** A simulated inverter polls the packs every this many ms (pylontech-rs485). */
  inverterPollMs?: number;
}

/**
 * The host's end of an in-process pipe, the same shape as the board's: onEnd means the board side
 * went away (simulated unplug, board stopped), close() pulls the cable from the host side.
 */
export type HostPipe = RawPipe;

export interface RunningSim {
  readonly board: SimBoard;
  readonly personality: Personality;
  readonly link: DeviceLink;
  /** The pty path when running on a pseudo-terminal. */
  readonly path: string | null;
  /** The host end when running in-process. */
  readonly host: HostPipe | null;
  /** Resolves when the line is gone (host closed the in-process pipe, fault-injected disconnect, relay died). */
  readonly ended: Promise<string>;
  stop(): Promise<void>;
}

/**
 * A pair of connected in-process pipes; bytes are delivered asynchronously, as a UART would: on
 * the clock's next turn (`defer`), after what is already due.
 */
export function createPipePair(clock: Clock = realClock): { device: RawPipe; host: HostPipe } {
  const toDevice = new Emitter<Uint8Array>();
  const toHost = new Emitter<Uint8Array>();
  const deviceEnd = new Emitter();
  const hostEnd = new Emitter();
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    queueMicrotask(() => {
      deviceEnd.emit();
      hostEnd.emit();
    });
  };
  const deliver = (to: Emitter<Uint8Array>, data: Uint8Array) => {
    const copy = data.slice();
    clock.defer(() => {
      if (open) to.emit(copy);
    });
  };
  return {
    device: {
      write: (d) => open && deliver(toHost, d),
      onData: (l) => toDevice.on(l),
      onEnd: (l) => deviceEnd.on(l),
      close: end,
    },
    host: {
      write: (d) => open && deliver(toDevice, d),
      onData: (l) => toHost.on(l),
      onEnd: (l) => hostEnd.on(l),
      close: end,
    },
  };
}

export async function runSim(options: RunSimOptions = {}): Promise<RunningSim> {
  const personalityName = options.personality ?? 'native';
  const load = PERSONALITIES[personalityName];
  if (!load) throw new PackscopeError('USAGE', `unknown personality '${personalityName}' (known: ${Object.keys(PERSONALITIES).join(', ')})`);
  const baud = options.baud ?? 115200;
  if (!Number.isFinite(baud) || baud < 300 || baud > 12_000_000) throw new PackscopeError('USAGE', `baud rate ${baud} is out of range`);
  const faults = typeof options.faults === 'string' || options.faults === undefined ? parseFaultSpec(options.faults) : options.faults;
  if (options.can && personalityName !== 'slcan') throw new PackscopeError('USAGE', `CAN options need the slcan personality, not '${personalityName}'`);
  if (options.bootMode !== undefined && !BOOT_MODES.includes(options.bootMode)) {
    throw new PackscopeError('USAGE', `boot mode '${String(options.bootMode)}' is not one of ${BOOT_MODES.join(', ')}`);
  }
  const board = await createBoard({
    ...options,
    // The CAN ECU models a dual-bank MCU (ARCHITECTURE.md, "Firmware updates over UDS"); the
    // board on its native line keeps MCUboot's swap on SPI NOR.
    bootMode: options.bootMode ?? (personalityName === 'slcan' ? 'dual-bank' : 'swap'),
    trustKeys: options.trustKeys ?? options.trust,
    ...(options.packSoc?.[0] !== undefined ? { initialSoc: options.packSoc[0] } : {}),
  });
  const factory = await load();
  const personality = await factory(board, {
    ...(options.packs !== undefined ? { packs: options.packs } : {}),
    ...(options.packSoc !== undefined ? { packSoc: options.packSoc } : {}),
    ...(options.inverterPollMs !== undefined ? { inverterPollMs: options.inverterPollMs } : {}),
  });

  let pipe: RawPipe;
  let host: HostPipe | null = null;
  let path: string | null = null;
  let closePty: (() => void) | null = null;
  if (options.pty) {
    const pty = await openPty();
    pipe = pty.pipe;
    path = pty.path;
    closePty = pty.close;
  } else {
    const pair = createPipePair(options.clock ?? realClock);
    pipe = pair.device;
    host = pair.host;
  }
  const link = createDeviceLink(pipe, {
    settings: { baudRate: baud, parity: options.parity ?? 'none' },
    faults,
    seed: (options.seed ?? 1) ^ 0x5a5a5a5a,
    unpaced: options.unpaced ?? false,
    clock: board.clock,
  });
  let resolveEnded!: (why: string) => void;
  const ended = new Promise<string>((r) => (resolveEnded = r));
  link.onDisconnect((why) => resolveEnded(why));
  board.start();
  personality.attach(link);

  let stopped = false;
  return {
    board,
    personality,
    link,
    path,
    host,
    ended,
    async stop() {
      if (stopped) return;
      stopped = true;
      personality.detach();
      link.disconnect('simulator stopped');
      closePty?.();
      await board.stop();
    },
  };
}
