import { describe, expect, it } from 'vitest';
import { SlcanChannel } from '../../../electron/host/can/slcan-channel.js';
import { Session } from '../../../electron/host/session.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import { DALY_CMD, decodeDalyFrame } from '../../../shared/bms/daly.js';
import { decodeJbdBasicInfo, encodeJbdBasicInfo, jbdToTelemetry } from '../../../shared/bms/jbd.js';
import { encodePylonFrame } from '../../../shared/bms/pylontech-rs485.js';
import { encodeReply } from '../../../shared/can/slcan.js';
import { dataFrame } from '../../../shared/can/frame.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { concatByteList } from '../../../shared/util/bytes.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { MockTransport } from '../../support/mock-transport.js';
// Loaded here, not inside the virtual clock's run (a first import can take longer than its grace).
import '../../../electron/host/drivers/daly.js';
import '../../../electron/host/drivers/jk.js';
import '../../../electron/host/drivers/pylontech-rs485.js';
import '../../../firmware/sim/bms/daly.js';
import '../../../firmware/sim/bms/jk.js';

/**
 * Defects of the commodity-BMS and CAN paths, each pinned: JBD protection bits 12–15 reach the
 * user, Daly's 0x91/0x92 are asked, an SLCAN frame in the same read as the answer to 'O' is shown,
 * a board answering only with bad checksums is named as such, and auto-detection repeats a probe.
 */
describe('JBD protection bits above the documented alarms', () => {
  it('reports the MOS software lock, the charge timeout and undocumented bits 14 and 15 as device flags', () => {
    const basic = decodeJbdBasicInfo(
      encodeJbdBasicInfo({
        packVoltage: 53.1,
        current: 0,
        remainingAh: 50,
        nominalAh: 100,
        cycles: 3,
        productionDate: { year: 2024, month: 1, day: 2 },
        balanceMask: 0,
        protection: (1 << 0) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 15),
        softwareVersion: 0x21,
        soc: 50,
        fet: 3,
        cellCount: 4,
        temperatures: [25],
        extra: new Uint8Array(0),
      }),
    );
    const f = jbdToTelemetry(basic, [3.3, 3.3, 3.3, 3.3], 0);
    expect(f.deviceFlags).toEqual(['mos_software_lock', 'charge_timeout', 'protection_bit_14', 'protection_bit_15']);
    expect(f.alarms).toBe(1); // cell overvoltage, still an alarm
  });
});

describe('Daly poll round', () => {
  it('asks 0x91 and 0x92 and reports the board’s own extremes', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open('sim:?personality=daly&cells=8', { protocol: 'daly', clock }));
    try {
      const asked = new Set<number>();
      const sim = (s.transport as SimTransport).running!;
      sim.link.onReceive((d) => {
        for (let i = 0; i + 13 <= d.length; i += 13) asked.add(decodeDalyFrame(d.subarray(i, i + 13)).command);
      });
      const frame = new Promise<TelemetryFrame>((r) => s.on('telemetry', r));
      await clock.run(s.startTelemetry(1));
      const f = await clock.run(frame);
      expect(asked.has(DALY_CMD.cellRange)).toBe(true);
      expect(asked.has(DALY_CMD.tempRange)).toBe(true);
      const state = sim.board.pack.state();
      const max = Math.max(...state.cellVoltages);
      expect(f.extremes).toBeDefined();
      expect(Math.abs(f.extremes!.maxCellVoltage - max)).toBeLessThanOrEqual(0.0015);
      expect(f.cellVoltages[f.extremes!.maxCell - 1]).toBeCloseTo(f.extremes!.maxCellVoltage, 2);
    } finally {
      await clock.run(s.close());
    }
  });
});

describe('SLCAN open', () => {
  it('shows a frame that arrives in the same read as the answer to the open command', async () => {
    const frame = dataFrame(0x351, Uint8Array.of(1, 2, 3, 4));
    const t = new MockTransport({
      peer: (w, port) => {
        const cmd = String.fromCharCode(...w);
        if (cmd === 'O\r') port.reply(concatByteList([encodeReply({ kind: 'ok' }), encodeReply({ kind: 'frame', frame })]));
        else if (cmd === 'V\r') port.reply(encodeReply({ kind: 'version', hardware: 1, software: 2 }));
        else if (cmd === 'N\r') port.reply(encodeReply({ kind: 'serial', serial: 'AB12' }));
        else if (!/^\r+$/.test(cmd)) port.reply(encodeReply({ kind: 'ok' }));
      },
    });
    const ch = new SlcanChannel(t);
    await ch.open({ bitrate: 500000, timeoutMs: 200 });
    const seen: number[] = [];
    ch.onFrame((f) => seen.push(f.frame.id));
    expect(ch.stats.framesIn).toBe(1);
    expect(seen).toEqual([0x351]);
    await ch.close();
  });
});

describe('a board that answers only with bad checksums', () => {
  it('is reported as answering with bad checksums, not as silent', async () => {
    // Every answer is a well-framed Pylontech line whose CHKSUM is off by one.
    const damaged = (adr: number) => {
      const good = encodePylonFrame({ ver: 0x20, adr, cid1: 0x46, cid2: 0, info: new Uint8Array(0) });
      const bad = good.slice();
      bad[bad.length - 2] = bad[bad.length - 2] === 0x30 ? 0x31 : 0x30;
      return bad;
    };
    const t = new MockTransport({ peer: (w, port) => w[0] === 0x7e && port.reply(damaged(2)) });
    const clock = new VirtualClock();
    const probe = await clock.run((await import('../../../electron/host/drivers/pylontech-rs485.js')).default.probe(t, 100, clock));
    expect(probe).toBe('corrupt');
    expect(t.listenerCount).toBe(0);
  });

  it('makes auto-detection say so', async () => {
    const clock = new VirtualClock();
    // A Daly board whose every answer arrives with its checksum byte damaged (frames are 13 bytes).
    let n = 0;
    const damage = (d: Uint8Array) => d.map((b) => (n++ % 13 === 12 ? b ^ 0x01 : b));
    const err = await clock
      .run(Session.open('sim:?personality=daly', { clock, probeTimeoutMs: 150, wrapTransport: (t) => new LineTap(t, { fromDevice: damage }) }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DEVICE' });
    expect(String((err as Error).message)).toMatch(/answers with bad checksums \(daly at 9600\)/);
  });
});

/** A transport in the middle of the line: sees (and may change or drop) every chunk both ways. */
class LineTap implements ByteTransport {
  constructor(
    private inner: ByteTransport,
    private o: { fromDevice?: (d: Uint8Array) => Uint8Array; toDevice?: (d: Uint8Array) => Uint8Array | null },
  ) {}
  get info() {
    return this.inner.info;
  }
  get isOpen() {
    return this.inner.isOpen;
  }
  open() {
    return this.inner.open();
  }
  close() {
    return this.inner.close();
  }
  async write(d: Uint8Array) {
    const out = this.o.toDevice ? this.o.toDevice(d) : d;
    if (out) await this.inner.write(out);
  }
  onData(l: (d: Uint8Array) => void) {
    return this.inner.onData((d) => l(this.o.fromDevice ? this.o.fromDevice(d) : d));
  }
  onClose(l: Parameters<ByteTransport['onClose']>[0]) {
    return this.inner.onClose(l);
  }
  setLine(s: LineSettings) {
    return this.inner.setLine ? this.inner.setLine(s) : Promise.resolve();
  }
}

describe('auto-detection', () => {
  it('repeats a probe, so a board still busy with the previous probe’s bytes is found', async () => {
    const clock = new VirtualClock();
    // The first JK request is lost, as with a real board whose receiver took the previous probe's
    // bytes as the start of a frame and was still waiting for its end.
    let dropped = false;
    const toDevice = (d: Uint8Array) => {
      if (d[0] === 0x4e && d[1] === 0x57 && !dropped) {
        dropped = true;
        return null;
      }
      return d;
    };
    const s = await clock.run(Session.open('sim:?personality=jk', { clock, probeTimeoutMs: 150, wrapTransport: (t) => new LineTap(t, { toDevice }) }));
    try {
      expect(dropped).toBe(true);
      expect(s.protocol).toBe('jk');
      expect(s.detection.find((d) => d.protocol === 'jk')).toMatchObject({ answered: true, attempts: 2 });
    } finally {
      await clock.run(s.close());
    }
  });
});
