/**
 * The chart channels of a recorded log: pack values, the per-record cell and sensor extremes,
 * every cell on its own (`cell3`) and every temperature sensor by its name (`temp:mosfet`). Host
 * range reads and the renderer's trace picker name channels the same way.
 */
export interface ChannelInfo {
  id: string;
  label: string;
  unit: string;
  /** Which picker group it belongs to. */
  group: 'pack' | 'summary' | 'cell' | 'temp';
}

export const BASE_CHANNELS: readonly ChannelInfo[] = [
  { id: 'packVoltage', label: 'Pack voltage', unit: 'V', group: 'pack' },
  { id: 'current', label: 'Current', unit: 'A', group: 'pack' },
  { id: 'power', label: 'Power', unit: 'W', group: 'pack' },
  { id: 'soc', label: 'State of charge', unit: '%', group: 'pack' },
  { id: 'cellMin', label: 'Lowest cell', unit: 'V', group: 'summary' },
  { id: 'cellMax', label: 'Highest cell', unit: 'V', group: 'summary' },
  { id: 'tempMin', label: 'Coolest sensor', unit: '°C', group: 'summary' },
  { id: 'tempMax', label: 'Hottest sensor', unit: '°C', group: 'summary' },
];

export const cellChannel = (i: number): ChannelInfo => ({ id: `cell${i + 1}`, label: `Cell ${i + 1}`, unit: 'V', group: 'cell' });

/** A sensor's channel; unnamed sensors are numbered from 1. */
export function tempChannel(label: string | undefined, i: number): ChannelInfo {
  const name = label && label.trim() ? label.trim() : `t${i + 1}`;
  return { id: `temp:${name}`, label: `Temperature ${name}`, unit: '°C', group: 'temp' };
}

/** The channels of a record layout, in the order channelValuesInto() writes them. */
export function layoutChannels(cells: number, tempLabels: readonly string[], temps = tempLabels.length): ChannelInfo[] {
  return [
    ...BASE_CHANNELS,
    ...Array.from({ length: cells }, (_, i) => cellChannel(i)),
    ...Array.from({ length: temps }, (_, i) => tempChannel(tempLabels[i], i)),
  ];
}

/** One record's channel values into `out` (layoutChannels order); NaN where the record has none. */
export function channelValuesInto(
  r: { packVoltage: number; current: number; soc: number; cellVoltages: ArrayLike<number>; temperatures: ArrayLike<number> },
  out: Float64Array,
): void {
  const cells = r.cellVoltages;
  const temps = r.temperatures;
  let cmin = Infinity;
  let cmax = -Infinity;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (c < cmin) cmin = c;
    if (c > cmax) cmax = c;
    out[8 + i] = c;
  }
  let tmin = Infinity;
  let tmax = -Infinity;
  for (let i = 0; i < temps.length; i++) {
    const c = temps[i]!;
    if (c < tmin) tmin = c;
    if (c > tmax) tmax = c;
    out[8 + cells.length + i] = c;
  }
  out[0] = r.packVoltage;
  out[1] = r.current;
  out[2] = r.packVoltage * r.current;
  out[3] = r.soc;
  out[4] = cells.length ? cmin : NaN;
  out[5] = cells.length ? cmax : NaN;
  out[6] = temps.length ? tmin : NaN;
  out[7] = temps.length ? tmax : NaN;
}
