import { describe, expect, it } from 'vitest';
import { BootJournal, INITIAL_STATE, type BootState } from '../../../firmware/sim/boot/journal.js';
import { makeLayout } from '../../../firmware/sim/boot/layout.js';
import { INSTANT, NorFlash, PowerLoss } from '../../../firmware/sim/flash/nor-flash.js';
import { Random } from '../../../shared/util/random.js';

const layout = makeLayout({ slotSize: 8192 });

function state(n: number): BootState {
  return {
    ...INITIAL_STATE,
    securityCounter: n,
    pending: n % 3 === 0 ? 'test' : 'none',
    swap: n % 5 === 0 ? { kind: 'perm', sectors: 2, index: n % 2, step: n % 3 } : null,
    activeBank: n % 7 < 3 ? 1 : 0,
  };
}

describe('boot-state journal', () => {
  it('reads back the last snapshot across sector rotations', () => {
    const flash = new NorFlash({ geometry: layout.geometry, timing: INSTANT });
    const j = new BootJournal(flash, layout);
    expect(j.load()).toEqual(INITIAL_STATE);
    for (let n = 1; n <= 300; n++) {
      j.append(state(n));
      expect(new BootJournal(flash, layout).load()).toEqual(state(n));
    }
  });

  it('a power cut inside any append leaves either the previous or the new state, never anything else', () => {
    const flash = new NorFlash({ geometry: layout.geometry, timing: INSTANT, seed: 4 });
    const rng = new Random(99);
    let committed = INITIAL_STATE;
    let cuts = 0;
    for (let n = 1; n <= 600; n++) {
      const j = new BootJournal(flash, layout);
      if (rng.next() < 0.5) flash.armPowerLoss(1 + rng.int(2)); // the program, or the erase of a rotation
      try {
        j.append(state(n));
        flash.armPowerLoss(null);
        committed = state(n);
      } catch (e) {
        if (!(e instanceof PowerLoss)) throw e;
        cuts++;
        flash.powerOn();
        const after = new BootJournal(flash, layout).load();
        expect([committed, state(n)]).toContainEqual(after);
        committed = after;
      }
      expect(new BootJournal(flash, layout).load()).toEqual(committed);
    }
    expect(cuts).toBeGreaterThan(100);
  });
});
