import { PackscopeError } from '../../../../shared/errors.js';
import { parsePolicy } from '../../../../shared/warranty/policy.js';
import type { ProtocolId } from '../../../../shared/types/domain.js';
import { readInput } from '../../evidence/files.js';
import { SelfCheck } from '../../selfcheck/selfcheck.js';
import { Session } from '../../session.js';
import { numberOption, parseCommandArgs, requireOption, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage: packscope selfcheck --port PATH [options] [--json]

Guided check of a connected pack: identity and firmware, active faults, cell balance at rest,
temperature sensors, current sensor at rest, charger against the pack's limits, black box.
Each step prints what was measured, what is normal and what it means; the last line says
"No problem found" or "File a claim".

Options:
  --port PATH               serial port (or sim:… for the built-in demo pack)
  --protocol NAME           force a protocol (default: detect)
  --baud N                  line rate (default: the protocol's)
  --latest-firmware X.Y.Z   newest firmware for this model, to check currency
  --charger-voltage V       your charger's rated output voltage
  --charger-current A       your charger's rated output current
  --ambient C               room temperature, °C
  --policy POLICY.json      warranty policy whose thresholds apply (default: the shipped one)
  --sample-seconds S        telemetry sampled per measurement (default 5)
  --json                    one JSON document: outcome, summary, device, steps

Exit codes: 0 check completed (see the outcome), 2 usage, 3 port not found, 4 disconnected,
5 device error or timeout, 130 cancelled.`;

export default {
  summary: 'Guided self-check of a connected pack, ending with "no problem found" or "file a claim"',
  usage,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      port: { type: 'string' },
      protocol: { type: 'string' },
      baud: { type: 'string' },
      'latest-firmware': { type: 'string' },
      'charger-voltage': { type: 'string' },
      'charger-current': { type: 'string' },
      ambient: { type: 'string' },
      policy: { type: 'string' },
      'sample-seconds': { type: 'string' },
    });
    const port = requireOption(values.port, 'port');
    const cv = values['charger-voltage'];
    const ca = values['charger-current'];
    if ((cv === undefined) !== (ca === undefined)) throw new PackscopeError('USAGE', 'give both --charger-voltage and --charger-current, or neither');
    const charger =
      cv !== undefined ? { voltageV: numberOption(cv, 'charger-voltage', 0, 1, 1000), currentA: numberOption(ca, 'charger-current', 0, 0.1, 1000) } : null;
    const policy = values.policy ? parsePolicy(readInput(values.policy, 'policy', 1 << 20)) : undefined;
    const session = await Session.open(port, {
      ...(values.protocol ? { protocol: values.protocol as ProtocolId } : {}),
      ...(values.baud ? { baud: numberOption(values.baud, 'baud', 115200, 300, 4_000_000) } : {}),
      signal: ctx.signal,
    });
    try {
      const check = new SelfCheck(session, {
        ...(policy ? { policy } : {}),
        latestFirmware: values['latest-firmware'] ?? null,
        charger,
        ambientC: values.ambient !== undefined ? numberOption(values.ambient, 'ambient', 20, -40, 80) : null,
        sampleSeconds: numberOption(values['sample-seconds'], 'sample-seconds', 5, 1, 120),
        signal: ctx.signal,
      });
      const info = session.info!;
      if (!values.json) ctx.out(`Self-check of ${info.model} ${info.serial} on ${port}`);
      for (const step of check.steps) {
        if (!values.json) ctx.err(`… ${step.title}${step.prompt ? ` (${step.prompt})` : ''}`);
        const r = await check.runStep(step.id);
        if (!values.json) {
          ctx.out('');
          ctx.out(`[${r.status.toUpperCase()}] ${r.title}`);
          ctx.out(`  measured: ${r.measured}`);
          ctx.out(`  normal:   ${r.normal}`);
          ctx.out(`  meaning:  ${r.meaning}`);
        }
      }
      const c = check.conclusion();
      if (values.json) {
        ctx.out(JSON.stringify({ outcome: c.outcome, summary: c.summary, device: info, steps: c.results }));
      } else {
        ctx.out('');
        ctx.out(c.summary);
      }
      return EXIT.OK;
    } finally {
      await session.close();
    }
  },
} satisfies CommandModule;
