import { PackscopeError } from '../../../../shared/errors.js';
import { parallelCheck, type ParallelPack } from '../../../../shared/bms/parallel-check.js';
import type { DeviceInfo, TelemetryFrame } from '../../../../shared/types/domain.js';
import type { CommandModule } from '../context.js';
import { numberOption, parseCommandArgs } from '../context.js';
import { addressList, busProtocol, openBusFromOptions } from '../bus-options.js';
import { openDeviceSession } from '../device-options.js';
import { EXIT } from '../exit-codes.js';

/** `packscope parallel`: may these two packs be joined in parallel now, and what current would flow? */
export default {
  summary: 'Before joining two packs in parallel: compare voltage and SOC, say whether it is safe and the current it would cause',
  usage: `Usage: packscope parallel --port A --port B [options]
       packscope parallel --port P --protocol daly|pylontech-rs485 --address X,Y [options]

Reads both packs (read-only) and judges joining them: the first current (voltage difference over
the loop resistance: both packs' cells and BMS paths and the cable, estimated low so the current
estimate errs high) against a limit, and the SOC gap, which on flat LFP curves matters even when
the voltages look close. Charge or discharge the packs to the same SOC before joining them.

  --port PATH            a pack's port (twice: two packs on their own ports), or the shared bus
  --protocol P           protocol of the packs (default auto for two ports)
  --address X,Y          the two packs on a shared bus
  --resistance MOHM      loop resistance in milliohms (default: estimated from the cell counts)
  --max-current A        highest first current allowed (default 0.5 C of the smaller pack)
  --max-soc-gap PCT      largest SOC difference allowed, percentage points (default 10)
  --capture FILE.jsonl   record every byte sent and received (one bus; see 'packscope replay')
  --json                 {"safe", "packs", "voltageDelta", "socDelta", "currentA", ... "reasons"}

Exit codes: 0 safe to join, 7 refused (not safe), 5 a pack did not answer.`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      port: { type: 'string', short: 'p', multiple: true },
      protocol: { type: 'string' },
      address: { type: 'string' },
      baud: { type: 'string' },
      timeout: { type: 'string' },
      resistance: { type: 'string' },
      'max-current': { type: 'string' },
      'max-soc-gap': { type: 'string' },
      capture: { type: 'string' },
    });
    const ports = values.port ?? [];
    const packs: Array<{ pack: ParallelPack; device: DeviceInfo | null }> = [];
    const toPack = (label: string, f: TelemetryFrame, d: DeviceInfo | null): ParallelPack => ({
      label,
      voltage: f.packVoltage,
      soc: f.soc,
      cells: f.cellVoltages.length || (d?.cellCount ?? 0),
      capacityAh: d?.nominalCapacityAh ?? 0,
      chemistry: d?.chemistry ?? 'unknown',
    });
    if (ports.length === 1) {
      const protocol = busProtocol(values.protocol);
      const addresses = await addressList(values.address ?? '', protocol).catch(() => []);
      if (addresses.length !== 2) throw new PackscopeError('USAGE', 'parallel on one bus needs --address with exactly two packs, e.g. --address 0,1');
      const bus = await openBusFromOptions({ ...values, port: ports[0] }, protocol, ctx);
      try {
        for (const a of addresses) {
          const d = await bus.bus.identify(a, ctx.signal);
          const f = await bus.bus.poll(a, ctx.signal);
          packs.push({ pack: toPack(`${bus.factory.addressing!.label} ${a}`, f, d), device: d });
        }
      } finally {
        await bus.close();
      }
    } else if (ports.length === 2) {
      if (values.capture) throw new PackscopeError('USAGE', '--capture records one port: use it with one bus (--port P --address X,Y)');
      for (const port of ports) {
        const s = await openDeviceSession({ ...values, port }, ctx);
        try {
          const f = await new Promise<TelemetryFrame>((resolve, reject) => {
            s.on('telemetry', resolve);
            s.on('disconnect', (why) => reject(new PackscopeError('DISCONNECTED', `${port}: ${why}`)));
            s.startTelemetry(2).catch(reject);
          });
          packs.push({ pack: toPack(port, f, s.info), device: s.info });
        } finally {
          await s.close();
        }
      }
    } else throw new PackscopeError('USAGE', 'give two packs: --port A --port B, or --port BUS --protocol P --address X,Y');
    const v = parallelCheck(packs[0]!.pack, packs[1]!.pack, {
      ...(values.resistance !== undefined ? { resistanceOhm: numberOption(values.resistance, 'resistance', 20, 0.1, 10000) / 1000 } : {}),
      ...(values['max-current'] !== undefined ? { maxCurrentA: numberOption(values['max-current'], 'max-current', 50, 0.1, 10000) } : {}),
      ...(values['max-soc-gap'] !== undefined ? { maxSocGap: numberOption(values['max-soc-gap'], 'max-soc-gap', 10, 0, 100) } : {}),
    });
    if (values.json) {
      ctx.out(JSON.stringify({ ...v, packs: packs.map((p) => p.pack) }));
    } else {
      for (const { pack } of packs)
        ctx.out(`${pack.label}: ${pack.voltage.toFixed(3)} V, SOC ${pack.soc.toFixed(1)} %, ${pack.cells}S${pack.capacityAh ? ` ${pack.capacityAh} Ah` : ''}`);
      ctx.out(
        `difference ${(v.voltageDelta * 1000).toFixed(0)} mV and ${v.socDelta.toFixed(1)} SOC points; joining now: about ${v.currentA.toFixed(1)} A from ${v.from} at first` +
          ` (loop ${(v.resistanceOhm * 1000).toFixed(1)} mΩ, limit ${v.currentLimitA.toFixed(1)} A)${v.chargeToMoveAh !== null ? `, ${v.chargeToMoveAh.toFixed(1)} Ah to move` : ''}`,
      );
      ctx.out(v.safe ? 'SAFE to join in parallel' : `NOT SAFE to join: ${v.reasons.join('; ')}`);
    }
    return v.safe ? EXIT.OK : EXIT.REFUSED;
  },
} satisfies CommandModule;
