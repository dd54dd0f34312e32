/**
 * The one definition of min/max decimation in PackScope, used by the host's range reads of a
 * .pslog (electron/host/api/series.ts), the renderer's pyramid Worker and the live chart alike.
 *
 * A query covers the half-open time range [t0, t1) cut into `buckets` equal columns; a record at
 * time t belongs to column floor((t − t0) · buckets / (t1 − t0)) and to no column when t lies
 * outside the range. Per channel and column the answer holds the minimum and the maximum of the
 * values of the records it covers (NaN: no value), and the first and last of them in record
 * order. Whoever draws the columns therefore sees every extreme the raw records hold.
 */
export interface BucketGrid {
  t0: number;
  t1: number;
  buckets: number;
}

/** The column a time falls into, or −1 outside [t0, t1). */
export function bucketOf(g: BucketGrid, t: number): number {
  if (!(t >= g.t0 && t < g.t1)) return -1;
  const b = Math.floor(((t - g.t0) * g.buckets) / (g.t1 - g.t0));
  // Rounding can land a time just below t1 on `buckets`: it still belongs to the last column.
  return b < g.buckets ? b : g.buckets - 1;
}

/** One channel's columns: min, max, first and last (NaN where the column holds no value). */
export class ChannelBuckets {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly first: Float64Array;
  readonly last: Float64Array;
  /** Record index of `first` and `last`, so values merged in any order keep record order. */
  private firstAt: Float64Array;
  private lastAt: Float64Array;

  constructor(readonly buckets: number) {
    this.min = new Float64Array(buckets).fill(NaN);
    this.max = new Float64Array(buckets).fill(NaN);
    this.first = new Float64Array(buckets).fill(NaN);
    this.last = new Float64Array(buckets).fill(NaN);
    this.firstAt = new Float64Array(buckets).fill(Infinity);
    this.lastAt = new Float64Array(buckets).fill(-Infinity);
  }

  /** One raw value (record `at`) into column b; NaN is no value. */
  add(b: number, v: number, at: number): void {
    if (v !== v) return;
    if (!(this.min[b]! <= v)) this.min[b] = v;
    if (!(this.max[b]! >= v)) this.max[b] = v;
    if (at < this.firstAt[b]!) {
      this.firstAt[b] = at;
      this.first[b] = v;
    }
    if (at > this.lastAt[b]!) {
      this.lastAt[b] = at;
      this.last[b] = v;
    }
  }

  /** A block of records lying wholly in column b, given by its own min/max/first/last. */
  addBlock(b: number, min: number, max: number, first: number, firstAt: number, last: number, lastAt: number): void {
    if (min !== min) return;
    if (!(this.min[b]! <= min)) this.min[b] = min;
    if (!(this.max[b]! >= max)) this.max[b] = max;
    if (firstAt < this.firstAt[b]!) {
      this.firstAt[b] = firstAt;
      this.first[b] = first;
    }
    if (lastAt > this.lastAt[b]!) {
      this.lastAt[b] = lastAt;
      this.last[b] = last;
    }
  }
}

/** Records per column (any channel), to tell an empty column from a column of NaN values. */
export function newCounts(g: BucketGrid): Float64Array {
  return new Float64Array(g.buckets);
}

/**
 * Raw records into columns: times `t` and one value array per channel, records [from, to) of
 * them, record index = `index0` + position.
 */
export function decimateInto(
  g: BucketGrid,
  t: ArrayLike<number>,
  columns: ReadonlyArray<ArrayLike<number>>,
  out: readonly ChannelBuckets[],
  counts: Float64Array,
  from = 0,
  to = t.length,
  index0 = 0,
): void {
  for (let i = from; i < to; i++) {
    const b = bucketOf(g, t[i]!);
    if (b < 0) continue;
    counts[b]!++;
    const at = index0 + i;
    for (let c = 0; c < out.length; c++) out[c]!.add(b, columns[c]![i]!, at);
  }
}

/** Decimates raw columns in one call (the reference the property tests hold every faster path to). */
export function decimateColumns(
  g: BucketGrid,
  t: ArrayLike<number>,
  columns: ReadonlyArray<ArrayLike<number>>,
): { counts: Float64Array; channels: ChannelBuckets[] } {
  const channels = columns.map(() => new ChannelBuckets(g.buckets));
  const counts = newCounts(g);
  decimateInto(g, t, columns, channels, counts);
  return { counts, channels };
}

/** Channels' columns as JSON-ready arrays (null for NaN: JSON has no NaN), by channel id. */
export function columnsById(
  ids: readonly string[],
  out: readonly ChannelBuckets[],
): Record<string, Record<'min' | 'max' | 'first' | 'last', Array<number | null>>> {
  const list = (a: Float64Array) => Array.from(a, (x) => (x === x ? x : null));
  return Object.fromEntries(ids.map((id, c) => [id, { min: list(out[c]!.min), max: list(out[c]!.max), first: list(out[c]!.first), last: list(out[c]!.last) }]));
}
