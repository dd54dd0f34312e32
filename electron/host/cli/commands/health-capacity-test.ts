/**
 * `packscope health capacity-test`: the guided bench capacity test on a native board — full
 * charge, rest, discharge at a set current to the end voltage, rest — with live progress on
 * stderr, the measured capacity at the end, and the board's signed black-box events marking every
 * phase (the next pull or diagnosis package carries them).
 */
import { PackscopeError } from '../../../../shared/errors.js';
import {
  CAPACITY_TEST_PHASE_WORDS,
  capacityTestSettings,
  runCapacityTest,
  type CapacityTestProgress,
  type CapacityTestResult,
} from '../../health/capacity-test.js';
import { EXIT } from '../exit-codes.js';
import { numberOption, parseCommandArgs, type CliContext } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, openDeviceSession } from '../device-options.js';

export const CAPACITY_TEST_USAGE = `Usage: packscope health capacity-test --port PATH [options] [--json]

The guided capacity test of a pack on the bench: the board charges it full (CC/CV), lets it
rest, discharges it at a constant current until the lowest cell reaches the end voltage, lets
it rest again, and counts the charge it delivered. The board stops at once at any protection
event (a FET opened or an alarm raised) and marks every phase in its black box, so the next
pull or diagnosis package holds the signed records the figure was measured from.
Progress goes to stderr; Ctrl-C tells the board to stop the test.

  --port PATH           the board (native protocol)
${DEVICE_USAGE.split('\n').slice(1).join('\n')}
  --current A           discharge current (default 0.2C of the rated capacity)
  --end-voltage V       end of discharge, lowest cell under load (default lfp 2.8, nmc 3.0)
  --charge-current A    charge current before the CV taper (default 0.5C; the board caps it)
  --rest S              rest after the charge and after the discharge (default 1800)
  --rated-ah AH         rated capacity, when the board does not say (or says wrongly)
  --poll S              how often to ask the board for progress (default 2)
  --json                progress as JSON lines on stderr, the result as one JSON document

Exit codes: 0 test complete; 5 the board stopped the test (protection event) or refused to
start it; 130 cancelled (the board stopped it); 2 bad arguments; 3 no such port; 4 the board
went away (it stops the test itself only on a protection event: run again to see it).`;

export async function capacityTestCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...DEVICE_OPTIONS,
    current: { type: 'string' },
    'end-voltage': { type: 'string' },
    'charge-current': { type: 'string' },
    rest: { type: 'string' },
    'rated-ah': { type: 'string' },
    poll: { type: 'string' },
  });
  if (values.port === undefined) throw new PackscopeError('USAGE', 'give --port PATH');
  const opt = (name: string, min: number, max: number) => {
    const v = values[name as keyof typeof values] as string | undefined;
    return v === undefined ? undefined : numberOption(v, name, 0, min, max);
  };
  const options = {
    dischargeA: opt('current', 0.001, 100_000),
    endCellV: opt('end-voltage', 1, 5),
    chargeA: opt('charge-current', 0.001, 100_000),
    restS: opt('rest', 0, 86_400),
  };
  const pollMs = 1000 * numberOption(values.poll, 'poll', 2, 0.05, 600);
  const session = await openDeviceSession({ ...values, protocol: values.protocol ?? 'native' }, ctx);
  try {
    const native = session.native;
    if (!native) throw new PackscopeError('REFUSED', `the device speaks ${session.protocol}, which runs no capacity test`);
    const info = session.info;
    const rating = {
      ratedCapacityAh: opt('rated-ah', 0.001, 100_000) ?? info?.nominalCapacityAh ?? 0,
      chemistry: info?.chemistry ?? 'unknown',
    };
    const settings = capacityTestSettings(rating, strip(options));
    if (!values.json)
      ctx.err(
        `capacity test: discharge at ${settings.dischargeA} A to ${settings.endCellV} V per cell, charge at ${settings.chargeA} A, ` +
          `rest ${settings.restS} s (rated ${rating.ratedCapacityAh} Ah)`,
      );
    const result = await runCapacityTest(native, rating, { ...settings, pollMs, signal: ctx.signal, onProgress: progressPrinter(ctx, Boolean(values.json)) });
    if (values.json) ctx.out(JSON.stringify(result, null, 2));
    else for (const line of resultLines(result)) ctx.out(line);
    return result.outcome === 'complete' ? EXIT.OK : EXIT.DEVICE_ERROR;
  } finally {
    await session.close();
  }
}

function strip<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

/** One line per phase change and at most one a second otherwise (stderr stays readable in a log). */
function progressPrinter(ctx: CliContext, json: boolean): (p: CapacityTestProgress) => void {
  let lastState = '';
  let lastAt = 0;
  return (p) => {
    const now = performance.now();
    if (p.state === lastState && now - lastAt < 1000) return;
    lastState = p.state;
    lastAt = now;
    if (json) return ctx.err(JSON.stringify({ progress: p }));
    const h = (s: number) => `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
    ctx.err(
      `${(100 * p.fraction).toFixed(0).padStart(3)} %  ${h(p.elapsedS)}  ${CAPACITY_TEST_PHASE_WORDS[p.state].padEnd(27)} ${p.packV.toFixed(2)} V ${p.currentA.toFixed(1)} A ` +
        `cells ${p.minCellV.toFixed(3)}–${p.maxCellV.toFixed(3)} V  SOC ${p.soc.toFixed(1)} %  discharged ${p.dischargedAh.toFixed(2)} Ah`,
    );
  };
}

export function resultLines(r: CapacityTestResult): string[] {
  const hours = ((r.endedMs - r.startedMs) / 3_600_000).toFixed(1);
  const lines = [
    r.outcome === 'complete' ? 'Capacity test        complete' : `Capacity test        ABORTED by the board: ${r.reason}`,
    `Capacity             ${r.capacityAh.toFixed(2)} Ah = ${r.percentOfRated.toFixed(1)} % of the rated ${r.ratedCapacityAh} Ah` +
      (r.outcome === 'complete' ? '' : ' (discharged before the stop: not the capacity)'),
    `Energy               ${(r.energyWh / 1000).toFixed(3)} kWh`,
    `Discharge            ${r.settings.dischargeA} A to ${r.settings.endCellV} V per cell; rested ${r.restedV === null ? '–' : `${r.restedV.toFixed(2)} V`} after`,
    `Board time           ${new Date(r.startedMs).toISOString()} … ${new Date(r.endedMs).toISOString()} (${hours} h)`,
    'Evidence             the phases are events in the board’s black box: pull it (packscope log pull) to keep the signed records',
  ];
  return lines;
}
