import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PackscopeError } from '../../../../shared/errors.js';
import { parsePublicKeyPem } from '../../../../shared/blackbox/certificate.js';
import { healthLines, lifetimeLines } from '../../../../shared/health/text.js';
import { readRootPem } from '../../evidence/package-file.js';
import { analyseLogFile, type LogHealth } from '../../health/log-health.js';
import { EXIT } from '../exit-codes.js';
import { CAPACITY_TEST_USAGE, capacityTestCommand } from './health-capacity-test.js';
import { numberOption, parseCommandArgs, type CliContext, type CommandModule } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE } from '../device-options.js';
import { pullFromDevice } from '../device-pull.js';

const USAGE = `Usage: packscope health (--log FILE.pslog | --port PATH [--keep FILE.pslog]) [options] [--json]
       packscope health capacity-test --port PATH [options] [--json]   (below)

Pack health from the black box: remaining capacity with its uncertainty (from rested cell
voltages and the charge counted between them), internal resistance and self-discharge per cell,
throughput and equivalent cycles, time at extreme temperatures, deep-discharge and over-current
events, and hours by temperature, state of charge and C-rate.

  --log FILE.pslog    a pulled black box or a PackScope recording
  --port PATH         pull the connected board's black box first (native protocol)
${DEVICE_USAGE.split('\n').slice(1).join('\n')}
  --keep FILE.pslog   with --port: keep the pulled log there (default: a temporary file, removed)
  --root ROOT.pem     the device certificate must chain to this manufacturing root
  --rated-ah AH       rated capacity, when the board does not say (or says wrongly)
  --chemistry C       lfp or nmc: the cells' open-circuit-voltage curve
  --rest-current A    |current| at or below this counts as rest (default 1 % of rated)
  --settle S          seconds of rest before a voltage counts as open-circuit (default 300)
  --json              the full report as one JSON document

Exit codes: 0 report made; 6 the log does not verify (the report is still printed, marked);
2 bad arguments; 3 no such file or port; 8 not a log.`;

async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === 'capacity-test') {
    return capacityTestCommand(argv.slice(1), ctx);
  }
  const { values } = parseCommandArgs(argv, {
    ...DEVICE_OPTIONS,
    log: { type: 'string' },
    keep: { type: 'string' },
    root: { type: 'string' },
    'rated-ah': { type: 'string' },
    chemistry: { type: 'string' },
    'rest-current': { type: 'string' },
    settle: { type: 'string' },
  });
  if ((values.log === undefined) === (values.port === undefined)) throw new PackscopeError('USAGE', 'give exactly one of --log FILE.pslog or --port PATH');
  if (values.keep !== undefined && values.port === undefined) throw new PackscopeError('USAGE', '--keep goes with --port');
  if (values.chemistry !== undefined && !['lfp', 'nmc'].includes(values.chemistry.toLowerCase()))
    throw new PackscopeError('USAGE', `--chemistry must be lfp or nmc, got '${values.chemistry}'`);
  const options = {
    rootSpki: values.root !== undefined ? parsePublicKeyPem(readRootPem(values.root)).spki : null,
    ...(values['rated-ah'] !== undefined ? { ratedCapacityAh: numberOption(values['rated-ah'], 'rated-ah', 0, 0.001, 100_000) } : {}),
    ...(values.chemistry !== undefined ? { chemistry: values.chemistry.toLowerCase() } : {}),
    analysis: {
      ...(values['rest-current'] !== undefined ? { restCurrentA: numberOption(values['rest-current'], 'rest-current', 0, 0, 10_000) } : {}),
      ...(values.settle !== undefined ? { settleS: numberOption(values.settle, 'settle', 300, 1, 86_400) } : {}),
    },
    signal: ctx.signal,
  };

  let health: LogHealth;
  if (values.log !== undefined) health = await analyseLogFile(values.log, options);
  else {
    const tmp = values.keep === undefined ? await mkdtemp(path.join(tmpdir(), 'packscope-health-')) : null;
    try {
      const out = values.keep ?? path.join(tmp!, 'blackbox.pslog');
      ctx.err('pulling the black box…');
      await pullFromDevice(values, ctx, { out, resume: false, ...(options.rootSpki ? { rootSpki: options.rootSpki } : {}) });
      health = await analyseLogFile(out, options);
    } finally {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  }

  if (values.json) ctx.out(JSON.stringify(health, null, 2));
  else {
    const from = (s: string) => (s === 'certificate' ? 'signed certificate' : s === 'identity' ? 'board identity, unsigned' : s);
    ctx.out(`Pack                 ${health.device.model ?? '?'} ${health.device.serial ?? ''}`.trimEnd());
    ctx.out(
      `Log                  ${health.file} — ${health.source === 'desktop' ? 'desktop recording (unsigned)' : health.verified ? 'verified' : `DOES NOT VERIFY: ${health.problem}`}`,
    );
    ctx.out(
      `Rating               ${health.rating.chemistry ?? 'chemistry unknown'} (${from(health.rating.chemistryFrom)}), ` +
        `${health.rating.ratedCapacityAh ?? '?'} Ah (${from(health.rating.capacityFrom)})`,
    );
    const r = health.report;
    const hours = r.fromT !== null && r.toT !== null ? ((r.toT - r.fromT) / 3_600_000).toFixed(1) : '0';
    ctx.out(`Records              ${r.records} over ${hours} h, ${r.breaks} break(s) in the record stream`);
    for (const line of healthLines(r)) ctx.out(line);
    if (health.source === 'device') for (const line of ['', ...lifetimeLines(health.lifetime)]) ctx.out(line);
  }
  return health.verified === false ? EXIT.VERIFY_FAILED : EXIT.OK;
}

export default {
  summary: 'Pack health from the black box: capacity ± uncertainty, resistance per cell, cycles, histograms',
  usage: `${USAGE}

${CAPACITY_TEST_USAGE}`,
  run,
} satisfies CommandModule;
