import { createDeviceLink } from '../../../firmware/sim/line.js';
import { createPipePair } from '../../../firmware/sim/run.js';
import { Stm32RomPersonality, type RomTraceEvent, type Stm32DeviceModel } from '../../../firmware/sim/stm32rom/index.js';
import { MockTransport, pipeTransport } from '../../support/mock-transport.js';

/**
 * The simulated ROM bootloader on an in-process, unpaced line, with flash operations shortened to
 * a timer tick: protocol behaviour is exact, only waiting is skipped (these are not timing tests).
 */
export function inProcessRom(
  options: { seedFlash?: (flash: Uint8Array) => void; onTrace?: (e: RomTraceEvent, rom: Stm32RomPersonality) => void; device?: Stm32DeviceModel } = {},
) {
  const pair = createPipePair();
  const link = createDeviceLink(pair.device, { settings: { baudRate: 115200, parity: 'even' }, unpaced: true });
  const trace: RomTraceEvent[] = [];
  const exits: unknown[] = [];
  const rom = new Stm32RomPersonality({
    device: options.device,
    delay: () => new Promise((r) => setTimeout(r, 0)),
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
