import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPslog } from '../../../electron/host/blackbox/pslog.js';
import { pullLog } from '../../../electron/host/blackbox/pull.js';
import type { NativeLink } from '../../../electron/host/link/native-link.js';
import { Session } from '../../../electron/host/session.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import { blackBoxOf, recordValues } from '../../../firmware/sim/blackbox/index.js';
import type { SimBoard } from '../../../firmware/sim/board.js';
import { BB_CMD, decodeCertificate, parsePublicKeyPem } from '../../../shared/blackbox/index.js';
import { PackscopeError } from '../../../shared/errors.js';
import { decodeLifetime } from '../../../shared/health/lifetime.js';
import { toHex, utf8Decode } from '../../../shared/util/bytes.js';

/** Pulls from the in-process simulated board: ticket nonces, resume rules, catching up with the attested extent. */
const dir = mkdtempSync(path.join(tmpdir(), 'pull-att-'));
const open: Session[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function session(query = 'unpaced=1&prefill=0.5&seed=3'): Promise<{ s: Session; board: SimBoard }> {
  const s = await Session.open(`sim:?${query}`, { baud: 921600 });
  open.push(s);
  const board = (s.transport as SimTransport).running!.board;
  return { s, board };
}

function rootOf(board: SimBoard): Uint8Array {
  return parsePublicKeyPem(utf8Decode(board.storage.read('manufacturing-root.pem')!)).spki;
}

/** Closes `n` segments on the board the way a reboot does (each closes the open segment). */
function closeSegments(board: SimBoard, n: number): void {
  const rec = blackBoxOf(board)!;
  for (let i = 0; i < n; i++) {
    rec.rebooted();
    rec.append(recordValues(board.pack.state(), 0));
  }
}

describe('log pull: nonce and attested extent', () => {
  it('seals the checkpoint over a given nonce and reports the attested extent', async () => {
    const { s, board } = await session();
    const nonce = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const out = path.join(dir, 'nonce.pslog');
    const res = await pullLog(s.native!.link, { out, nonce, rootSpki: rootOf(board) });
    expect(res.signaturesOk).toBe(true);
    expect(res.issues).toEqual([]);
    const rec = blackBoxOf(board)!;
    expect(res.attestation).toMatchObject({ oldest: 0, newest: res.checkpoint!.counter - 1, bootCount: board.bootCount, missingSegments: 0 });
    expect(res.attestation!.newest).toBeLessThanOrEqual(rec.newest!);
    expect(res.attestation!.historyFrom).toBe(res.firstTime);
    const r = await openPslog(out);
    expect(toHex(r.checkpoint!.nonce)).toBe(toHex(nonce));
    expect(r.meta.nonce).toBe(toHex(nonce));
    expect(r.checkpoint!.attestation!.newestCounter).toBe(res.attestation!.newest);
    // The board's lifetime counters came with the checkpoint, signed over the same nonce.
    const life = decodeLifetime(r.checkpoint!.lifetime!);
    expect(toHex(life.binding.nonce)).toBe(toHex(nonce));
    expect(life.counters.countedS).toBeGreaterThanOrEqual(1800);
    const rep = await r.verify(rootOf(board));
    expect(rep.issues).toEqual([]);
    expect(rep.attestation).toMatchObject({ complete: true, oldestCounter: 0 });
    // The certificate is version 2 and names the pack's rating.
    expect(decodeCertificate(r.certificate!.raw)).toMatchObject({ version: 2, chemistry: 'lfp', cellCount: 16, ratedCapacityAh: 100 });
    await r.close();
  });

  it('refuses a nonce outside 8–64 bytes and a ticket for another serial before reading anything', async () => {
    const { s } = await session('unpaced=1&seed=3');
    const out = path.join(dir, 'refused.pslog');
    await expect(pullLog(s.native!.link, { out, nonce: new Uint8Array(7) })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(pullLog(s.native!.link, { out, nonce: new Uint8Array(65) })).rejects.toMatchObject({ code: 'USAGE' });
    const err = await pullLog(s.native!.link, { out, expectSerial: 'PS99-999999' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackscopeError);
    expect((err as PackscopeError).code).toBe('REFUSED');
    expect((err as PackscopeError).message).toMatch(/PS99-999999/);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('a resumed pull keeps its nonce: another nonce is refused, the same one completes', async () => {
    const { s, board } = await session('unpaced=1&prefill=1&seed=5');
    const out = path.join(dir, 'resume.pslog');
    const nonce = new Uint8Array(10).fill(0x42);
    const stop = new AbortController();
    const cut = await pullLog(s.native!.link, {
      out,
      nonce,
      signal: stop.signal,
      window: 2,
      chunkSize: 512,
      onProgress: (p) => {
        if (p.segments >= 3) stop.abort();
      },
    }).catch((e: unknown) => e);
    expect((cut as PackscopeError).code).toBe('CANCELLED');
    expect(existsSync(`${out}.partial`)).toBe(true);
    const other = await pullLog(s.native!.link, { out, resume: true, nonce: new Uint8Array(10).fill(0x43) }).catch((e: unknown) => e);
    expect((other as PackscopeError).code).toBe('REFUSED');
    expect((other as PackscopeError).message).toMatch(new RegExp(`started with nonce ${toHex(nonce)}`));
    const res = await pullLog(s.native!.link, { out, resume: true, nonce, rootSpki: rootOf(board) });
    expect(res.resumedSegments).toBeGreaterThanOrEqual(3);
    expect(res.signaturesOk).toBe(true);
    expect(res.attestation!.missingSegments).toBe(0);
    const r = await openPslog(out);
    expect(toHex(r.checkpoint!.nonce)).toBe(toHex(nonce));
    expect((await r.verify(rootOf(board))).issues).toEqual([]);
    await r.close();
  });

  it('catches up with segments the board closed while it was read, then checkpoints again', async () => {
    const { s, board } = await session();
    const link = s.native!.link;
    let closedAt: number | null = null;
    // The board closes three segments just before it answers the first checkpoint request.
    const racing = new Proxy(link, {
      get(target, prop) {
        if (prop === 'request') {
          return (cmd: number, payload: Uint8Array, opts?: object) => {
            if (cmd === BB_CMD.CHECKPOINT && closedAt === null) {
              closedAt = blackBoxOf(board)!.newest!;
              closeSegments(board, 3);
            }
            return target.request(cmd, payload, opts as never);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as NativeLink;
    const out = path.join(dir, 'catch-up.pslog');
    const res = await pullLog(racing, { out, rootSpki: rootOf(board) });
    expect(closedAt).not.toBeNull();
    expect(res.checkpoints).toBe(2);
    expect(res.signaturesOk).toBe(true);
    expect(res.issues).toEqual([]);
    // The file holds every segment up to the attested newest, which includes the three closed late.
    expect(res.attestation!.newest).toBeGreaterThanOrEqual(closedAt! + 3);
    expect(res.lastCounter).toBe(res.attestation!.newest);
    expect(res.attestation!.missingSegments).toBe(0);
    const r = await openPslog(out);
    const rep = await r.verify(rootOf(board));
    expect(rep.issues).toEqual([]);
    expect(rep.attestation).toMatchObject({ complete: true, newestCounter: res.attestation!.newest });
    await r.close();
  });
});
