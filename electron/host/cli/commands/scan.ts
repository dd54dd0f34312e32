import { PackscopeError } from '../../../../shared/errors.js';
import { scanBus, type ScanHit } from '../../drivers/pack-bus.js';
import type { CommandModule } from '../context.js';
import { parseCommandArgs } from '../context.js';
import { addressList, BUS_PROTOCOLS, busProtocol, openBusFromOptions } from '../bus-options.js';
import { EXIT } from '../exit-codes.js';
import { frameToJson } from '../telemetry-json.js';

/** `packscope scan`: every pack that answers on a shared RS485 bus, by address. */
export default {
  summary: 'List every pack that answers on a shared bus (Daly board numbers, Pylontech module addresses)',
  usage: `Usage: packscope scan --port PATH [--protocol P] [--address LIST] [--json]

Asks each address on the bus once (read-only: identity, then one telemetry round from each pack
that answered) and lists the packs found.

  --port PATH         serial device, adapter key, tcp://host:port or sim:
  --protocol P        ${BUS_PROTOCOLS.join(' or ')} (default: both, in that order, until one finds packs)
  --address LIST      addresses to try, e.g. 0-3 or 2,3,4 (default: all: Daly 0-15, Pylontech 1-16)
  --baud N            line rate (default: the protocol's, 9600)
  --timeout MS        wait per address before moving on (default 250; 300 for Pylontech)
  --capture FILE.jsonl  record every byte sent and received (see 'packscope replay')
  --json              {"protocol", "packs": [{address, device, telemetry}], "link"}

Exit codes: 0 when at least one pack answered, 5 when none did.`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      port: { type: 'string', short: 'p' },
      protocol: { type: 'string' },
      address: { type: 'string' },
      baud: { type: 'string' },
      timeout: { type: 'string' },
      capture: { type: 'string' },
    });
    const protocols = values.protocol === undefined || values.protocol === 'auto' ? [...BUS_PROTOCOLS] : [busProtocol(values.protocol)];
    const json = Boolean(values.json);
    for (const protocol of protocols) {
      const addresses = await addressList(values.address ?? 'all', protocol);
      const bus = await openBusFromOptions(values, protocol, ctx);
      let hits: ScanHit[];
      try {
        if (!json) ctx.err(`scanning ${addresses.length} ${bus.factory.addressing!.label}(s) for ${protocol} packs at ${bus.line.baudRate} baud…`);
        hits = await scanBus(bus.bus, addresses, ctx.signal);
      } catch (e) {
        await bus.close();
        if (e instanceof PackscopeError && e.code === 'CANCELLED') return EXIT.CANCELLED;
        throw e;
      }
      const link = bus.bus.stats();
      await bus.close();
      if (!hits.length && protocols.indexOf(protocol) < protocols.length - 1) continue;
      if (json) {
        ctx.out(
          JSON.stringify({
            protocol,
            addressLabel: bus.factory.addressing!.label,
            packs: hits.map((h) => ({ address: h.address, device: h.device, telemetry: h.frame ? frameToJson(h.frame) : null })),
            link,
          }),
        );
      } else {
        for (const h of hits) {
          const f = h.frame;
          ctx.out(
            `${protocol} ${bus.factory.addressing!.label} ${h.address}: ${h.device.model}${h.device.serial ? ` ${h.device.serial}` : ''}, ${h.device.cellCount} cells` +
              (f ? `, ${f.packVoltage.toFixed(2)} V, ${f.current.toFixed(1)} A, SOC ${f.soc.toFixed(1)} %` : ', no telemetry'),
          );
        }
        ctx.err(`${hits.length} pack(s) answered${link.crcErrors ? `; ${link.crcErrors} frame(s) with bad checksums` : ''}`);
      }
      return hits.length ? EXIT.OK : EXIT.DEVICE_ERROR;
    }
    return EXIT.DEVICE_ERROR;
  },
} satisfies CommandModule;
