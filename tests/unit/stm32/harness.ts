import { VirtualClock } from '../../../shared/util/clock.js';
import { createDeviceLink } from '../../../firmware/sim/line.js';
import { createPipePair } from '../../../firmware/sim/run.js';
import { Stm32RomPersonality, type RomTraceEvent, type Stm32DeviceModel } from '../../../firmware/sim/stm32rom/index.js';
import { MockTransport, pipeTransport } from '../../support/mock-transport.js';

/**
 * The simulated ROM bootloader on an in-process line, host and ROM on one virtual clock: the line
 * paces 8E1 at 115 200 baud and flash operations take their datasheet time, all in virtual time,
 * so protocol behaviour and timeouts are exact and nothing waits. Run host work with
 * `sim.clock.run(...)` and give the host `clock: sim.clock`.
 */
export function inProcessRom(
  options: { seedFlash?: (flash: Uint8Array) => void; onTrace?: (e: RomTraceEvent, rom: Stm32RomPersonality) => void; device?: Stm32DeviceModel } = {},
) {
  const clock = new VirtualClock();
  const pair = createPipePair(clock);
  const link = createDeviceLink(pair.device, { settings: { baudRate: 115200, parity: 'even' }, clock });
  const trace: RomTraceEvent[] = [];
  const exits: unknown[] = [];
  const rom = new Stm32RomPersonality({
    device: options.device,
    clock,
    trace: (e) => {
      trace.push(e);
      options.onTrace?.(e, rom);
    },
    onExit: (e) => exits.push(e),
  });
  options.seedFlash?.(rom.memory.flash);
  rom.attach(link);
  const transport = pipeTransport(pair.host, { path: 'sim:stm32-rom' });
  return {
    clock,
    rom,
    link,
    transport,
    trace,
    exits,
    stop() {
      rom.detach();
      pair.host.close();
    },
  };
}

/** A transport nothing answers on (no board, or BOOT0 low). */
export function silentTransport(): MockTransport {
  return new MockTransport({ path: 'sim:nothing' });
}
