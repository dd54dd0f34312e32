import type { RecordedSeries } from '../../shared/api/contract.js';
import { RecordedSource } from './recorded-source.js';
import { CHANNEL_NAMES } from './source.js';

/** A host reply's columns (a log a screen holds in memory) as a RecordedSource. */
export function sourceFromSeries(s: RecordedSeries): Promise<RecordedSource> {
  const n = s.t.length;
  const t = Float64Array.from(s.t);
  const channels = Object.fromEntries(CHANNEL_NAMES.map((c) => [c, new Float64Array(n)]));
  const col = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);
  for (let i = 0; i < n; i++) {
    channels.packVoltage![i] = col(s.packVoltage[i]);
    channels.current![i] = col(s.current[i]);
    channels.power![i] = col(s.packVoltage[i]) * col(s.current[i]);
    channels.soc![i] = col(s.soc[i]);
    channels.cellMin![i] = col(s.cellMin[i]);
    channels.cellMax![i] = col(s.cellMax[i]);
    channels.tempMin![i] = col(s.tempMin[i]);
    channels.tempMax![i] = col(s.tempMax[i]);
  }
  // Gaps the log marks (to: null, the log ends inside one: nothing to break there).
  const gaps = (s.gaps ?? []).flatMap((g) => (g.to === null ? [] : [[g.from, g.to] as [number, number]]));
  return RecordedSource.fromColumns({ t, channels, lastFrame: null, gaps });
}
