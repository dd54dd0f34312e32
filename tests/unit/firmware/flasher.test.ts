import { describe, expect, it } from 'vitest';
import { flashImage, rangesToSend } from '../../../electron/host/flasher/flasher.js';
import { LocalTarget } from '../../../electron/host/flasher/local-target.js';
import { PackscopeError } from '../../../shared/errors.js';
import { generateKey } from '../../../shared/image/index.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bootEnv, makeImage } from './boot-env.js';

function spy(t: LocalTarget) {
  const calls: string[] = [];
  for (const m of ['begin', 'erase', 'write', 'finish', 'requestTest', 'confirm', 'reset'] as const) {
    const orig = (t as any)[m].bind(t);
    (t as any)[m] = (...a: unknown[]) => {
      calls.push(m);
      return orig(...a);
    };
  }
  return calls;
}

describe('flasher core (against the in-process bootloader)', () => {
  it('refuses on the host before asking the board to do anything', async () => {
    const env = await bootEnv();
    const t = new LocalTarget(env.bootloader);
    const calls = spy(t);
    const cases: Array<[Uint8Array, string]> = [
      [makeImage(generateKey('ecdsa-p256'), { version: '1.1.0', counter: 2 }), 'unknown_key'],
      [makeImage(env.signingKey, { version: '1.1.0', counter: 2, board: 'NOT-THIS-ONE' }), 'wrong_board'],
      [makeImage(env.signingKey, { version: '0.9.0', counter: 0 }), 'security_counter_too_low'],
    ];
    const ops = env.flash.opCount;
    for (const [img, reason] of cases) {
      const e = await flashImage(t, img).catch((x) => x);
      expect(e).toBeInstanceOf(PackscopeError);
      expect(e.code).toBe('REFUSED');
      expect(e.details.reason).toBe(reason);
    }
    expect(calls).toEqual([]);
    expect(env.flash.opCount).toBe(ops);
    // --trust keys that did not sign the image: refused too, even though the board would accept it.
    const img = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
    const other = generateKey('ed25519');
    const e = await flashImage(t, img, { trust: [{ key: other.publicKey, name: 'x' }] }).catch((x) => x);
    expect(e.details.reason).toBe('not_trusted_by_user');
  });

  it('cancel mid-upload leaves the old image running; the re-run resumes from what the board holds', async () => {
    const env = await bootEnv();
    const t = new LocalTarget(env.bootloader);
    const img = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
    const ac = new AbortController();
    const e = await flashImage(t, img, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.done >= 12 * 1024) ac.abort();
      },
    }).catch((x) => x);
    expect(e.code).toBe('CANCELLED');
    expect(env.bootloader.status()).toMatchObject({ runningVersion: '1.0.0+0', pending: 'none', testing: false });
    await env.bootloader.boot(); // a reset in between changes nothing
    expect(env.bootloader.status().runningVersion).toBe('1.0.0+0');
    const progress: number[] = [];
    const r = await flashImage(t, img, { confirm: true, onProgress: (p) => progress.push(p.done) });
    expect(r.outcome).toBe('installed-confirmed');
    expect(r.bytesSkipped).toBeGreaterThanOrEqual(12 * 1024);
    expect(progress[0]).toBe(r.bytesSkipped);
    expect(r.status).toMatchObject({ runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });
    // Flashing the same image again does nothing.
    expect((await flashImage(t, img)).outcome).toBe('already-running');
  });

  it('reports progress with rate and ETA', async () => {
    const env = await bootEnv();
    const t = new LocalTarget(env.bootloader);
    const seen: Array<{ done: number; total: number; etaSeconds: number | null }> = [];
    await flashImage(t, makeImage(env.signingKey, { version: '1.1.0', counter: 2 }), { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)!.done).toBe(seen.at(-1)!.total);
    expect(seen.every((p) => p.done <= p.total)).toBe(true);
  });

  it('rangesToSend merges differing sectors and skips matching ones', () => {
    const img = new Uint8Array(10_000).map((_, i) => i & 255);
    const hashes = [sha256(img.subarray(0, 4096)), new Uint8Array(32), sha256(img.subarray(8192))];
    expect(rangesToSend(img, hashes, 4096)).toEqual([{ offset: 4096, length: 4096 }]);
    expect(rangesToSend(img, [], 4096)).toEqual([{ offset: 0, length: 10_000 }]);
  });
});
