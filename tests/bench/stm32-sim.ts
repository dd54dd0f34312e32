/**
 * The simulated STM32 ROM bootloader on a pseudo-terminal, in its own process, for the STM32
 * benchmark: the tool under test and the simulator then never share an event loop. Prints the
 * pty path on the first line; on SIGTERM prints the ROM's counters and the SHA-256 of the first
 * N bytes of flash (argv[3]) as one JSON line, then exits.
 *
 * Usage: node --import tsx tests/bench/stm32-sim.ts BAUD CHECK_BYTES
 */
import { createHash } from 'node:crypto';
import { runSim } from '../../firmware/sim/run.js';
import type { Stm32RomPersonality } from '../../firmware/sim/stm32rom/index.js';

const baud = Number(process.argv[2] ?? 115200);
const checkBytes = Number(process.argv[3] ?? 0);
const sim = await runSim({ personality: 'stm32-rom', pty: true, baud, subsystems: false });
const rom = sim.personality as Stm32RomPersonality;
process.stdout.write(`${sim.path}\n`);
process.on('SIGTERM', () => {
  const sha256 = createHash('sha256').update(rom.memory.flash.subarray(0, checkBytes)).digest('hex');
  process.stdout.write(JSON.stringify({ stats: rom.bootloader?.stats ?? null, sha256 }) + '\n', () => {
    void sim.stop().finally(() => process.exit(0));
  });
});
