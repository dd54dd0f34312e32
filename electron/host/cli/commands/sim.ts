import { PackscopeError } from '../../../../shared/errors.js';
import type { Chemistry } from '../../../../shared/types/domain.js';
import { SCENARIOS, type ScenarioName } from '../../../../firmware/sim/pack/types.js';
import { PERSONALITIES } from '../../../../firmware/sim/personalities.js';
import { parseCanSimSpec, SlcanPersonality } from '../../../../firmware/sim/can/index.js';
import type { Personality } from '../../../../firmware/sim/personality.js';
import { runSim } from '../../../../firmware/sim/run.js';
import type { BootMode } from '../../../../firmware/sim/boot/bootloader.js';
import type { CommandModule } from '../context.js';
import { numberOption, parseCommandArgs } from '../context.js';

const hex3 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(3, '0')}`;

/** What is on the simulated CAN bus, for the start-up line. */
function canSummary(p: Personality): string {
  if (!(p instanceof SlcanPersonality)) return '';
  const nodes = [p.pylontech ? 'Pylontech broadcasts' : null, p.uds ? `UDS ${hex3(p.uds.requestId)}/${hex3(p.uds.responseId)}` : null].filter(Boolean);
  return `, CAN ${p.bus.bitrate} bit/s with ${nodes.length ? nodes.join(' and ') : 'no nodes'}`;
}

export default {
  summary: 'Run the simulated BMS board on a pseudo-terminal',
  usage: `Usage: packscope sim --pty [options]

Runs the simulated board and prints 'pty /dev/pts/N' as the first line of standard output; the
host talks to that path like any serial port. The second line, 'pid N', is the simulator's own
process id: 'kill N' stops it (when started through npx, killing npx would leave it running).
Runs until SIGINT/SIGTERM.

  --pty                 attach to a new pseudo-terminal (required)
  --cells N             series cells (default 16)
  --chemistry lfp|nmc   cell chemistry (default lfp)
  --capacity AH         nominal capacity (default 100)
  --scenario NAME       ${SCENARIOS.join(', ')} (default normal)
  --baud N              line rate the board paces to (default 115200)
  --faults SPEC         corrupt=P,drop=P,latency=MS,disconnect-bytes=N,disconnect-after=S
  --state DIR           keep non-volatile state (identity, keys, flash, counters) in DIR
  --seed N              seed for every random choice (default 1)
  --personality NAME    ${Object.keys(PERSONALITIES).join(', ')} (default native)
  --prefill-hours H     synthesise H hours of black-box history at first start
  --time-scale X        the pack's physics, RTC and black box run X times faster than real
                        time (1..10000; 600: an hour in 6 s), for bench tests of hours
  --trust PUB.pem       public key the bootloader accepts (repeatable)
  --boot-mode MODE      swap (copy the new image in at reset, MCUboot on SPI NOR) or dual-bank
                        (switch the boot bank; no copy); default dual-bank with --personality
                        slcan (the CAN ECU), swap otherwise
  --can SPEC            with --personality slcan: bitrate=N,tx=ID,rx=ID,period=MS,block=N,
                        pylontech=0|1,uds=0|1 (default 500 kbit/s, UDS 0x7E0/0x7E8, both nodes)
  --packs N             packs on the bus, answering at their own addresses (daly: board numbers
                        0..N-1; pylontech-rs485: module addresses 2..N+1, default 3 modules)
  --pack-soc LIST       start SOC of each pack, percent, comma-separated (e.g. 40,60)
  --inverter MS         with --personality pylontech-rs485: a simulated inverter polls every
                        module every MS ms; its requests and the answers both reach the line
                        (for 'monitor --listen')
  --unpaced             no line pacing (benchmarks)`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      pty: { type: 'boolean' },
      cells: { type: 'string' },
      chemistry: { type: 'string' },
      capacity: { type: 'string' },
      scenario: { type: 'string' },
      baud: { type: 'string' },
      faults: { type: 'string' },
      state: { type: 'string' },
      seed: { type: 'string' },
      personality: { type: 'string' },
      'prefill-hours': { type: 'string' },
      'time-scale': { type: 'string' },
      trust: { type: 'string', multiple: true },
      'boot-mode': { type: 'string' },
      can: { type: 'string' },
      packs: { type: 'string' },
      'pack-soc': { type: 'string' },
      inverter: { type: 'string' },
      unpaced: { type: 'boolean' },
    });
    const packSoc =
      values['pack-soc'] === undefined
        ? undefined
        : values['pack-soc'].split(',').map((x, i) => numberOption(x.trim(), `pack-soc (pack ${i + 1})`, 50, 0, 100));
    if (!values.pty) throw new PackscopeError('USAGE', 'sim needs --pty (the in-process demo device is --port sim: on any command)');
    const chemistry = (values.chemistry ?? 'lfp') as Chemistry;
    if (chemistry !== 'lfp' && chemistry !== 'nmc') throw new PackscopeError('USAGE', '--chemistry must be lfp or nmc');
    const scenario = (values.scenario ?? 'normal') as ScenarioName;
    if (!SCENARIOS.includes(scenario)) throw new PackscopeError('USAGE', `--scenario must be one of ${SCENARIOS.join(', ')}`);
    const sim = await runSim({
      pty: true,
      cells: numberOption(values.cells, 'cells', 16, 1, 32),
      chemistry,
      capacityAh: numberOption(values.capacity, 'capacity', 100, 1, 10000),
      scenario,
      baud: numberOption(values.baud, 'baud', 115200, 300, 12_000_000),
      faults: values.faults ?? '',
      stateDir: values.state ?? null,
      seed: numberOption(values.seed, 'seed', 1, 0, 2 ** 32 - 1),
      personality: values.personality ?? 'native',
      prefillHours: numberOption(values['prefill-hours'], 'prefill-hours', 0, 0, 24 * 365 * 5),
      trustKeys: values.trust ?? [],
      ...(values['boot-mode'] !== undefined ? { bootMode: values['boot-mode'] as BootMode } : {}),
      unpaced: Boolean(values.unpaced),
      timeScale: numberOption(values['time-scale'], 'time-scale', 1, 1, 10_000),
      ...(values.packs !== undefined ? { packs: numberOption(values.packs, 'packs', 1, 1, 16) } : {}),
      ...(packSoc ? { packSoc } : {}),
      ...(values.inverter !== undefined ? { inverterPollMs: numberOption(values.inverter, 'inverter', 1000, 50, 600_000) } : {}),
      ...(values.can !== undefined ? { can: parseCanSimSpec(values.can) } : {}),
    });
    ctx.out(`pty ${sim.path}`);
    ctx.out(`pid ${process.pid}`);
    const b = sim.board;
    ctx.err(
      `simulated ${b.identity.model} ${b.identity.serial} (${b.identity.boardId}), ${b.pack.config.cells}S ${b.pack.config.chemistry.toUpperCase()} ` +
        `${b.pack.config.capacityAh} Ah, scenario ${b.pack.config.scenario}, ${values.personality ?? 'native'} at ${sim.link.settings.baudRate} baud` +
        `${values.state ? `, state in ${values.state}` : ''}${canSummary(sim.personality)}. Ctrl-C to stop.`,
    );
    const why = await new Promise<string>((resolve) => {
      if (ctx.signal.aborted) resolve('stopped');
      ctx.signal.addEventListener('abort', () => resolve('stopped'));
      void sim.ended.then((w) => resolve(w));
    });
    await sim.stop();
    if (why !== 'stopped') ctx.err(`simulator line ended: ${why}`);
    return 0;
  },
} satisfies CommandModule;
