import { z } from 'zod';
import { hostPath } from './schemas.js';

/**
 * Range reads of a recorded log (the Logs screen's charts): requests and replies of log.series
 * and log.events. Values are JSON numbers; null is "no value" (an empty column, a gap).
 */
const values = z.array(z.number().nullable());
const time = z.number().finite();

export const channelInfo = z.object({ id: z.string(), label: z.string(), unit: z.string(), group: z.enum(['pack', 'summary', 'cell', 'temp']) });

export const seriesRequest = z
  .object({
    path: hostPath,
    /** The range [t0, t1) in ms since epoch; absent: the whole log. */
    t0: time.optional(),
    t1: time.optional(),
    buckets: z.number().int().min(1).max(20_000),
    channels: z.array(z.string().min(1).max(100)).max(256),
  })
  .strict()
  .refine((r) => (r.t0 === undefined) === (r.t1 === undefined) && (r.t0 === undefined || r.t0 < r.t1!), 't0 and t1 go together, t0 before t1');

export const seriesReply = z.object({
  t0: z.number(),
  t1: z.number(),
  buckets: z.number(),
  /** 'buckets': column b covers [t0 + b·w, t0 + (b+1)·w), w = (t1 − t0) / buckets. 'raw': every record in the range (at most 2 · buckets). */
  mode: z.enum(['buckets', 'raw']),
  /** Raw: the records' times. Buckets: records per column. */
  t: z.array(z.number()),
  counts: z.array(z.number()),
  /** Per channel asked for: raw values (v), or per column min, max, first and last. */
  channels: z.record(z.string(), z.object({ min: values, max: values, first: values, last: values }).or(z.object({ v: values }))),
  /** Where the log has no records (the link was quiet, the board was off): [last record before, first after]. */
  gaps: z.array(z.tuple([z.number(), z.number()])),
  /** The whole log: its records, time span and channels. */
  records: z.number(),
  span: z.tuple([z.number(), z.number()]).nullable(),
  available: z.array(channelInfo),
});

export const eventsRequest = z
  .object({
    path: hostPath,
    t0: time.optional(),
    t1: time.optional(),
    /** Position (from a previous page's `next`) to continue from. */
    from: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(5000).default(500),
  })
  .strict();

export const eventsReply = z.object({
  events: z.array(z.object({ t: z.number(), code: z.number(), name: z.string(), label: z.string(), index: z.number() })),
  /** Events in the range in all (the page holds `events.length` of them). */
  total: z.number(),
  /** Where the next page starts, or null after the last. */
  next: z.number().nullable(),
});

export type SeriesReply = z.output<typeof seriesReply>;
export type EventsReply = z.output<typeof eventsReply>;
