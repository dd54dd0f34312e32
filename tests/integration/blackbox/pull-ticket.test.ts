import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointNonce } from '../../support/checkpoint-nonce.js';
import { codeFromNonce, encodeTicketFile, signTicket } from '../../../shared/evidence/ticket.js';
import { toHex } from '../../../shared/util/bytes.js';
import { cli } from '../../unit/evidence/cli-harness.js';

/** `log pull --ticket/--nonce` through the CLI against the in-process simulated board (one state dir). */
const dir = mkdtempSync(path.join(tmpdir(), 'pull-ticket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);
const state = at('board');
const port = `sim:?state=${state}&unpaced=1&prefill=0.2&seed=11`;

const supplierSecret = ed25519.utils.randomSecretKey();
const signer = { publicKey: ed25519.getPublicKey(supplierSecret), sign: (m: Uint8Array) => ed25519.sign(m, supplierSecret) };

async function ticketFor(serial: string, nonce: Uint8Array, name: string, claimId = 'C-20260601-abcdef'): Promise<string> {
  const now = Date.now();
  const file = await signTicket({ claimId, serial, nonce, issuedAt: new Date(now - 60_000), expiresAt: new Date(now + 86_400_000) }, signer);
  writeFileSync(at(name), encodeTicketFile(file));
  return at(name);
}

describe('log pull --ticket / --nonce', () => {
  let serial = '';

  it('--nonce HEX seals the checkpoint over it; info and verify show the attested extent', async () => {
    const out = at('nonce.pslog');
    const r = await cli('log', 'pull', '--port', port, '--out', out, '--nonce', '00:11:22:33:44:55:66:77:88:99', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    serial = j.certificate.serial;
    expect(j.attestation).toMatchObject({ oldest: 0, missingSegments: 0 });
    expect(await checkpointNonce(out)).toBe('00112233445566778899');

    const info = await cli('log', 'info', out);
    expect(info.code, info.err).toBe(0);
    expect(info.out).toMatch(/Attested +segments 0…\d+, board clock \S+ \(boot \d+\); the board holds history from \d{4}-/);
    const verify = await cli('log', 'verify', out, '--root', path.join(state, 'manufacturing-root.pem'));
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out).toMatch(/attested +segments 0…\d+/);

    for (const bad of ['0011', 'zz'.repeat(10), '00'.repeat(65)])
      expect((await cli('log', 'pull', '--port', port, '--out', at('bad.pslog'), '--nonce', bad)).code).toBe(2);
  });

  it('--ticket FILE.psticket seals over the ticket nonce when the board is the ticket serial; refuses another board with exit 7', async () => {
    const nonce = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const ticket = await ticketFor(serial, nonce, 'mine.psticket');
    const out = at('ticket.pslog');
    const r = await cli('log', 'pull', '--port', port, '--out', out, '--ticket', ticket, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).ticket).toEqual({ claimId: 'C-20260601-abcdef', serial, nonce: toHex(nonce) });
    expect(await checkpointNonce(out)).toBe(toHex(nonce));

    const other = await ticketFor('PS99-000001', nonce, 'other.psticket');
    const refused = await cli('log', 'pull', '--port', port, '--out', at('other.pslog'), '--ticket', other);
    expect(refused.code).toBe(7);
    expect(refused.err).toMatch(/PS99-000001/);
    expect(existsSync(at('other.pslog'))).toBe(false);
    expect(existsSync(at('other.pslog.partial'))).toBe(false);

    expect((await cli('log', 'pull', '--port', port, '--out', at('x.pslog'), '--ticket', ticket, '--nonce', '00'.repeat(8))).code).toBe(2);
    expect((await cli('log', 'pull', '--port', port, '--out', at('x.pslog'), '--ticket', at('missing.psticket'))).code).toBe(3);
  });

  it('--ticket CODE (as read out over the phone) seals over the same nonce; a mistyped code is refused', async () => {
    const nonce = Uint8Array.from([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    const code = codeFromNonce(nonce);
    const out = at('code.pslog');
    const r = await cli('log', 'pull', '--port', port, '--out', out, '--ticket', code.toLowerCase());
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Sealed over +claim ticket \(code\) nonce 01030507090b0d0f1113/);
    expect(await checkpointNonce(out)).toBe(toHex(nonce));
    const typo = code[0] === '0' ? `1${code.slice(1)}` : `0${code.slice(1)}`;
    const bad = await cli('log', 'pull', '--port', port, '--out', at('typo.pslog'), '--ticket', typo);
    expect(bad.code).toBe(8);
    expect(bad.err).toMatch(/check character/);
  });
});
