import { describe, expect, it } from 'vitest';
import { createRealClock, realClock, VirtualClock } from '../../../shared/util/clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order, then in scheduling order, and only when time is moved', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.after(20, () => log.push(`b@${clock.now()}`));
    clock.after(10, () => log.push(`a@${clock.now()}`));
    clock.after(20, () => log.push(`c@${clock.now()}`));
    clock.defer(() => log.push(`now@${clock.now()}`));
    expect(log).toEqual([]);
    await clock.advance(15);
    expect(log).toEqual(['now@0', 'a@10']);
    expect(clock.now()).toBe(15);
    await clock.advance(5);
    expect(log).toEqual(['now@0', 'a@10', 'b@20', 'c@20']);
  });

  it('defer runs after everything already due at the same instant', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.after(10, () => {
      log.push('timer');
      clock.defer(() => log.push('deferred'));
    });
    clock.after(10, () => log.push('same instant'));
    await clock.advance(10);
    expect(log).toEqual(['timer', 'same instant', 'deferred']);
  });

  it('lets promise chains settle between timers', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.after(5, () => {
      void (async () => {
        for (let i = 0; i < 50; i++) await Promise.resolve();
        log.push(`chain done at ${clock.now()}`);
      })();
    });
    clock.after(6, () => log.push(`next timer at ${clock.now()}`));
    await clock.advance(10);
    expect(log).toEqual(['chain done at 5', 'next timer at 6']);
  });

  it('repeats `every` on its own schedule and stops when cancelled, even from inside', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const cancel = clock.every(100, () => {
      at.push(clock.now());
      if (at.length === 3) cancel();
    });
    await clock.advance(1000);
    expect(at).toEqual([100, 200, 300]);
    expect(clock.pending).toBe(0);
  });

  it('sleep resolves after exactly its time, or at once on abort', async () => {
    const clock = new VirtualClock();
    const slept = clock.sleep(250).then(() => clock.now());
    expect(await clock.run(slept)).toBe(250);
    const ac = new AbortController();
    const long = clock.sleep(10_000, ac.signal).then(() => clock.now());
    clock.after(30, () => ac.abort());
    expect(await clock.run(long)).toBe(280);
    expect(clock.pending).toBe(0);
  });

  it('run moves time until the work is done and says when nothing could finish it', async () => {
    const clock = new VirtualClock(1000);
    const work = async () => {
      await clock.sleep(40);
      await clock.sleep(60);
      return clock.now();
    };
    expect(await clock.run(work)).toBe(1100);
    clock.realGraceMs = 20;
    await expect(clock.run(new Promise(() => undefined))).rejects.toThrow(/no timer is scheduled/);
    clock.every(10, () => undefined);
    await expect(clock.run(new Promise(() => undefined), 50)).rejects.toThrow(/not done after 50 ms/);
    await expect(clock.runUntilIdle(100)).rejects.toThrow(/still busy/);
  });

  it('step fires one timer at a time', async () => {
    const clock = new VirtualClock();
    let n = 0;
    clock.after(7, () => n++);
    clock.after(3, () => n++);
    expect(clock.nextAt).toBe(3);
    expect(await clock.step()).toBe(true);
    expect([n, clock.now()]).toEqual([1, 3]);
    expect(await clock.step()).toBe(true);
    expect([n, clock.now()]).toEqual([2, 7]);
    expect(await clock.step()).toBe(false);
  });
});

describe('real clock', () => {
  it('is monotonic and its timers, deferrals and sleeps run on the runtime', async () => {
    const t0 = realClock.now();
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      realClock.defer(() => order.push('defer'));
      realClock.after(5, () => {
        order.push('after');
        resolve();
      });
    });
    await realClock.sleep(1);
    expect(order).toEqual(['defer', 'after']);
    expect(realClock.now()).toBeGreaterThan(t0);
    let ticks = 0;
    const stop = createRealClock({ background: true }).every(1, () => ticks++);
    await realClock.sleep(20);
    stop();
    expect(ticks).toBeGreaterThan(0);
  });
});
