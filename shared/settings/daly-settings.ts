/**
 * Daly UART settings: what the protocol lets a host read and the few things it lets a host write,
 * in catalogue ids and units. Daly publishes no write for its protection thresholds (its PC tool
 * changes them through an undocumented exchange), so PackScope reads them and writes only what
 * the open-source implementations document and use:
 *
 *   read   0x50  rated capacity (u32, mAh) and nominal cell voltage (u32, mV)
 *          0x59  cell thresholds, mV:  high level 1, high level 2, low level 1, low level 2 (u16 each)
 *          0x5A  pack thresholds, 0.1 V, in the same order
 *          0x90  SOC (0.1 %), 0x93 charge and discharge MOS state
 *   write  0x21  set SOC: data = year−2000, month, day, hour, minute, second, SOC (u16, 0.1 %);
 *               the board answers 0x21 with data[0] = 1 when it took the value
 *          0xDA  charge MOS switch, 0xD9 discharge MOS switch: data[0] = 1 on, 0 off; the board
 *               answers the same command with the switch state in data[0]
 *
 * Level 2 is the protection level (the board opens its MOSFETs), level 1 the warning; they map to
 * the catalogue's *_protect and *_alarm settings. Sources: python-daly-bms and dbus-serialbattery
 * (0x21 with the date, 0xD9/0xDA, 0x50), DALY2MQTT (0x59/0x5A field order), the Daly-BMS Rust
 * crate (0x21 frame layout, SOC in data bytes 6–7). Reply bytes a command does not use repeat the
 * board's previous reply (its one transmit buffer), so decoders read only the documented bytes.
 */
import { DecodeError } from '../errors.js';
import { DALY_CMD, DALY_HOST_ADDRESS, encodeDalyFrame } from '../bms/daly.js';
import { putU16, u16, u32 } from '../bms/common.js';

export const DALY_SETTINGS_CMD = {
  rated: 0x50,
  cellThresholds: 0x59,
  packThresholds: 0x5a,
  setSoc: 0x21,
  dischargeMos: 0xd9,
  chargeMos: 0xda,
} as const;

/** Read commands whose replies carry settings, with the catalogue ids they fill. */
export const DALY_SETTINGS_READS = [
  DALY_CMD.soc,
  DALY_CMD.mos,
  DALY_SETTINGS_CMD.rated,
  DALY_SETTINGS_CMD.cellThresholds,
  DALY_SETTINGS_CMD.packThresholds,
] as const;

/** The settings a host may write on a Daly board (everything else it reads only). */
export const DALY_WRITABLE: ReadonlySet<string> = new Set(['soc', 'charge_mosfet', 'discharge_mosfet']);

function data8(d: Uint8Array, what: string): Uint8Array {
  if (d.length !== 8) throw new DecodeError(`${what}: Daly data must be 8 bytes, got ${d.length}`);
  return d;
}

const mv = (raw: number) => raw / 1000;
const dv = (raw: number) => Math.round(raw) / 10;

/** The catalogue values one read reply carries. */
export function dalySettingsFrom(command: number, data: Uint8Array): Record<string, number> {
  const d = data8(data, `0x${command.toString(16)}`);
  switch (command) {
    case DALY_CMD.soc:
      return { soc: dv(u16(d, 6, 'Daly SOC')) };
    case DALY_CMD.mos:
      return { charge_mosfet: d[1] ? 1 : 0, discharge_mosfet: d[2] ? 1 : 0 };
    case DALY_SETTINGS_CMD.rated:
      return { design_capacity: u32(d, 0, 'Daly rated capacity') / 1000 };
    case DALY_SETTINGS_CMD.cellThresholds:
      return {
        cell_ov_alarm: mv(u16(d, 0, 'Daly cell high 1')),
        cell_ov_protect: mv(u16(d, 2, 'Daly cell high 2')),
        cell_uv_alarm: mv(u16(d, 4, 'Daly cell low 1')),
        cell_uv_protect: mv(u16(d, 6, 'Daly cell low 2')),
      };
    case DALY_SETTINGS_CMD.packThresholds:
      return {
        pack_ov_alarm: dv(u16(d, 0, 'Daly pack high 1')),
        pack_ov_protect: dv(u16(d, 2, 'Daly pack high 2')),
        pack_uv_alarm: dv(u16(d, 4, 'Daly pack low 1')),
        pack_uv_protect: dv(u16(d, 6, 'Daly pack low 2')),
      };
    default:
      throw new DecodeError(`Daly command 0x${command.toString(16)} carries no settings`);
  }
}

/** Writes a threshold reply's data bytes (the simulated board): four u16 values at `scale`. */
export function writeDalyThresholds(buf: Uint8Array, values: readonly [number, number, number, number], scale: number): void {
  values.forEach((v, i) => putU16(buf, 2 * i, Math.round(v / scale)));
}

/** 0x21: set the SOC (0.1 % steps), with the date and time the board's clock takes from it, as Daly's tools send it. */
export function encodeDalySetSoc(soc: number, when: Date, address: number = DALY_HOST_ADDRESS): Uint8Array {
  const raw = Math.round(soc * 10);
  if (!Number.isInteger(raw) || Math.abs(soc * 10 - raw) > 1e-6 || raw < 0 || raw > 1000)
    throw new RangeError(`Daly SOC must be 0…100 % in 0.1 % steps, not ${soc}`);
  const data = Uint8Array.of(
    (when.getUTCFullYear() - 2000) & 0xff,
    when.getUTCMonth() + 1,
    when.getUTCDate(),
    when.getUTCHours(),
    when.getUTCMinutes(),
    when.getUTCSeconds(),
    raw >> 8,
    raw & 0xff,
  );
  return encodeDalyFrame({ address, command: DALY_SETTINGS_CMD.setSoc, data });
}

/** The SOC a 0x21 request asks for, in %. */
export function dalySetSocValue(data: Uint8Array): number {
  return u16(data8(data, '0x21'), 6, 'Daly SOC') / 10;
}

/** 0xDA (charge) or 0xD9 (discharge): switch that MOSFET on or off. */
export function encodeDalyMosSwitch(which: 'charge' | 'discharge', on: boolean, address: number = DALY_HOST_ADDRESS): Uint8Array {
  const data = new Uint8Array(8);
  data[0] = on ? 1 : 0;
  return encodeDalyFrame({ address, command: which === 'charge' ? DALY_SETTINGS_CMD.chargeMos : DALY_SETTINGS_CMD.dischargeMos, data });
}
