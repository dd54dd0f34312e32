import type { RecordedSeries } from '../../shared/api/contract.js';
import { RecordedSource } from './recorded-source.js';
import { CHANNEL_NAMES, type Channel } from './source.js';

/** A host reply's columns as a RecordedSource (pyramids built in the Worker). */
export function sourceFromSeries(s: RecordedSeries, first: Channel[]): Promise<RecordedSource> {
  const n = s.t.length;
  const t = Float64Array.from(s.t);
  const channels = Object.fromEntries(CHANNEL_NAMES.map((c) => [c, new Float32Array(n)])) as Record<Channel, Float32Array>;
  for (let i = 0; i < n; i++) {
    channels.packVoltage[i] = s.packVoltage[i]!;
    channels.current[i] = s.current[i]!;
    channels.power[i] = s.packVoltage[i]! * s.current[i]!;
    channels.soc[i] = s.soc[i]!;
    channels.cellMin[i] = s.cellMin[i]!;
    channels.cellMax[i] = s.cellMax[i]!;
    channels.tempMin[i] = s.tempMin[i]!;
    channels.tempMax[i] = s.tempMax[i]!;
  }
  return RecordedSource.fromColumns({ t, channels, lastFrame: null }, first);
}
