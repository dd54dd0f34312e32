import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VirtualClock } from '../../../shared/util/clock.js';
import { buildDigest, claimClock, levelStarts, SlaSchema, urgencyCompare, type ClaimTimes } from '../../../shared/desk/sla.js';
import { buildQueue, type ClaimRow } from '../../../shared/desk/queue.js';
import { scheduleDailyDigest, wallClock } from '../../../shared/desk/wall-clock.js';

/**
 * SLA clocks and escalation on a fake clock: a VirtualClock whose time is epoch milliseconds, so
 * deadlines, levels and the daily digest move only when the test moves time.
 */
const H = 3_600_000;
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const sla = SlaSchema.parse({
  responseHours: 4,
  resolutionHours: 72,
  desk: { name: 'Claims desk', contacts: ['claims@example.com'] },
  escalation: [
    { name: 'Quality manager', limitHours: 24, contacts: ['qm@example.com'] },
    { name: 'Management', limitHours: 48, contacts: ['coo@example.com'] },
  ],
  digestHourUtc: 7,
});

function row(id: string, receivedAtMs: number, o: Partial<ClaimRow> = {}): ClaimRow {
  return {
    claimId: id,
    receivedAtMs,
    respondedAtMs: null,
    resolvedAtMs: null,
    status: 'new',
    customer: null,
    model: 'PS-LFP-100',
    serial: id,
    firmware: '1.4.2',
    batch: '2026-01',
    verdict: 'covered',
    line: 'VERIFIED: COVERED',
    packageSha256: id.padEnd(64, '0'),
    ...o,
  };
}

describe('SLA clocks and escalation under a fake clock', () => {
  it('walks a claim up the ladder as virtual time passes, and stops when it is resolved', async () => {
    const clock = new VirtualClock(T0);
    const wall = wallClock(clock, 0);
    const c: ClaimTimes = { receivedAtMs: wall.nowMs(), respondedAtMs: null, resolvedAtMs: null };
    const at = () => claimClock(sla, c, wall.nowMs());

    expect(at()).toMatchObject({ level: 0, levelName: 'Claims desk', responseOverdue: false, resolutionOverdue: false, open: true, slackMs: 4 * H });
    await clock.advance(4 * H);
    expect(at().responseOverdue).toBe(false); // exactly at the deadline is still in time
    await clock.advance(1);
    expect(at()).toMatchObject({ responseOverdue: true, level: 0, slackMs: 72 * H - 4 * H - 1 });

    // Answered late: the response stays overdue, the resolution clock runs on.
    c.respondedAtMs = wall.nowMs();
    await clock.advance(68 * H - 1);
    expect(at()).toMatchObject({ responseOverdue: true, resolutionOverdue: false, level: 0, slackMs: 0 });
    await clock.advance(1);
    expect(at()).toMatchObject({
      resolutionOverdue: true,
      level: 1,
      levelName: 'Quality manager',
      contacts: ['qm@example.com'],
      nextEscalationMs: T0 + 96 * H,
    });
    await clock.advance(24 * H - 1);
    expect(at().level).toBe(1);
    await clock.advance(1);
    expect(at()).toMatchObject({ level: 2, levelName: 'Management', contacts: ['coo@example.com'], nextEscalationMs: null });
    await clock.advance(1000 * H);
    expect(at().level).toBe(2);

    // Resolved: the clock stopped at the resolution, whatever time it is now.
    c.resolvedAtMs = T0 + 80 * H;
    expect(at()).toMatchObject({ open: false, level: 1, resolutionOverdue: true, nextEscalationMs: null });
  });

  it('answered in time is never response-overdue; resolved in time is never escalated', () => {
    const c: ClaimTimes = { receivedAtMs: T0, respondedAtMs: T0 + H, resolvedAtMs: T0 + 50 * H };
    expect(claimClock(sla, c, T0 + 5000 * H)).toMatchObject({ responseOverdue: false, resolutionOverdue: false, level: 0, open: false });
  });

  it('level n owns an open claim exactly after the n-th escalation start (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * H }), (dt) => {
        const starts = levelStarts(sla, T0);
        const k = claimClock(sla, { receivedAtMs: T0, respondedAtMs: T0, resolvedAtMs: null }, T0 + dt);
        expect(k.level).toBe(starts.filter((s) => T0 + dt > s).length);
        expect(k.resolutionOverdue).toBe(dt > 72 * H);
        // A later time never lowers the level.
        expect(claimClock(sla, { receivedAtMs: T0, respondedAtMs: T0, resolvedAtMs: null }, T0 + dt + H).level).toBeGreaterThanOrEqual(k.level);
      }),
    );
  });

  it('orders the queue by urgency: overdue first, higher levels first, then by time left; resolved last', () => {
    const now = T0 + 200 * H;
    const rows = [
      row('fresh', now - H),
      row('done', now - 150 * H, { respondedAtMs: now - 149 * H, resolvedAtMs: now - 100 * H }),
      row('l1', now - 80 * H, { respondedAtMs: now - 79 * H }),
      row('l2', now - 130 * H, { respondedAtMs: now - 129 * H }),
      row('unanswered', now - 5 * H),
      row('due-soon', now - 70 * H, { respondedAtMs: now - 69 * H }),
    ];
    expect(buildQueue(rows, sla, now).map((c) => c.claimId)).toEqual(['l2', 'l1', 'unanswered', 'due-soon', 'fresh', 'done']);
    expect(buildQueue(rows, sla, now, { openOnly: true, minAgeHours: 10 }).map((c) => c.claimId)).toEqual(['l2', 'l1', 'due-soon']);
    expect(buildQueue(rows, sla, now, { verdict: ['excluded'] })).toEqual([]);
    const q = buildQueue(rows, sla, now);
    for (let i = 1; i < q.length; i++) expect(urgencyCompare(q[i - 1]!.clock, q[i]!.clock)).toBeLessThanOrEqual(0);
  });

  it('makes the daily digest at its hour on the fake clock, naming each level and its contacts', async () => {
    const clock = new VirtualClock(T0); // 09:00 UTC
    const wall = wallClock(clock, 0);
    const claims = [
      { claimId: 'A', receivedAtMs: T0 - 100 * H, respondedAtMs: T0 - 99 * H, resolvedAtMs: null },
      { claimId: 'B', receivedAtMs: T0 - 5 * H, respondedAtMs: null, resolvedAtMs: null },
      { claimId: 'C', receivedAtMs: T0 - 60 * H, respondedAtMs: T0 - 59 * H, resolvedAtMs: null },
    ];
    const digests: ReturnType<typeof buildDigest>[] = [];
    const stop = scheduleDailyDigest(wall, sla, (atMs) => digests.push(buildDigest(sla, claims, atMs)));
    await clock.advance(21 * H);
    expect(digests).toHaveLength(0);
    await clock.advance(H); // 07:00 the next day
    expect(digests).toHaveLength(1);
    expect(digests[0]!.at).toBe('2026-06-02T07:00:00.000Z');
    expect(digests[0]!.responseOverdue).toEqual(['B']);
    // A is 122 h old (management's since 96 h), C 82 h (the quality manager's since 72 h).
    expect(digests[0]!.byLevel).toEqual([
      { level: 1, name: 'Quality manager', contacts: ['qm@example.com'], claims: ['C'] },
      { level: 2, name: 'Management', contacts: ['coo@example.com'], claims: ['A'] },
    ]);
    await clock.advance(24 * H);
    expect(digests).toHaveLength(2);
    expect(digests[1]!.byLevel.map((l) => [l.level, l.claims])).toEqual([[2, ['A', 'C']]]);
    stop();
    await clock.advance(72 * H);
    expect(digests).toHaveLength(2);
  });
});
