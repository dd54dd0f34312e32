import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed25519OpenSsh, ed25519PublicKeyFromPem, ed25519PublicKeyPem, sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import { encodeTicketFile, nonceFromCode, parseTicketFile, signTicket, ticketNonce, verifyTicket } from '../../../shared/evidence/ticket.js';
import { cli } from './cli-harness.js';

const dir = mkdtempSync(path.join(tmpdir(), 'packscope-claim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

describe('packscope claim', () => {
  it('keygen writes a 0600 PKCS#8 key and its public key, and never overwrites', async () => {
    const r = await cli('claim', 'keygen', '--out', at('supplier.pem'), '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ privateKey: at('supplier.pem'), publicKey: at('supplier.pub.pem'), fingerprint: expect.stringMatching(/^SHA256:/) });
    expect(statSync(at('supplier.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(at('supplier.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const pub = ed25519PublicKeyFromPem(readFileSync(at('supplier.pub.pem'), 'utf8'));
    expect(sshFingerprint(pub)).toBe(j.fingerprint);
    const again = await cli('claim', 'keygen', '--out', at('supplier.pem'));
    expect(again.code).toBe(7);
    expect(again.err).toMatch(/already exists; refusing to overwrite/);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    // A refused run leaves no half pair: the public name taken alone blocks the private one too.
    writeFileSync(at('other.pub.pem'), 'x');
    expect((await cli('claim', 'keygen', '--out', at('other.pem'))).code).toBe(7);
    expect(existsSync(at('other.pem'))).toBe(false);
    expect((await cli('claim', 'keygen')).code).toBe(2);
  });

  it('ticket issues a signed ticket with a code the customer can type, and show verifies it', async () => {
    if (!existsSync(at('supplier.pem'))) await cli('claim', 'keygen', '--out', at('supplier.pem'));
    const t0 = Date.now();
    const r = await cli(
      'claim',
      'ticket',
      '--key',
      at('supplier.pem'),
      '--serial',
      'PS24-000123',
      '--claim-id',
      'C-TEST-1',
      '--expires',
      '14',
      '--out',
      at('t1.psticket'),
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({
      file: at('t1.psticket'),
      claimId: 'C-TEST-1',
      serial: 'PS24-000123',
      code: expect.stringMatching(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-.$/),
    });
    expect(Date.parse(j.expiresAt) - Date.parse(j.issuedAt)).toBe(14 * 86_400_000);
    expect(Math.abs(Date.parse(j.issuedAt) - t0)).toBeLessThan(5_000);
    const bytes = new Uint8Array(readFileSync(at('t1.psticket')));
    const file = parseTicketFile(bytes);
    expect(encodeTicketFile(file)).toBe(readFileSync(at('t1.psticket'), 'utf8'));
    expect(nonceFromCode(j.code.toLowerCase())).toEqual(ticketNonce(file));
    const pub = ed25519PublicKeyFromPem(readFileSync(at('supplier.pub.pem'), 'utf8'));
    expect(verifyTicket(bytes, pub, new Date())).toEqual({ ok: true, problems: [] });

    const human = await cli('claim', 'show', at('t1.psticket'), '--key-pub', at('supplier.pub.pem'));
    expect(human.code, human.err).toBe(0);
    expect(human.out).toContain(j.code);
    expect(human.out).toMatch(/Signature +VERIFIED/);
    expect(human.out).toMatch(/Expires +\S+ \(in 1[34] days\)/);
    // The public key also as an OpenSSH line, and as the private key file.
    writeFileSync(at('supplier.pub'), ed25519OpenSsh(pub, 'supplier') + '\n');
    expect((await cli('claim', 'show', at('t1.psticket'), '--key-pub', at('supplier.pub'))).code).toBe(0);
    expect((await cli('claim', 'show', at('t1.psticket'), '--key-pub', at('supplier.pem'))).code).toBe(0);
    const unchecked = await cli('claim', 'show', at('t1.psticket'), '--json');
    expect(unchecked.code).toBe(0);
    expect(JSON.parse(unchecked.out)).toMatchObject({ code: j.code, serial: 'PS24-000123', expired: false });
    expect(JSON.parse(unchecked.out).verified).toBeUndefined();

    // Another key, or an edited ticket: exit 6, naming why.
    const other = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    writeFileSync(at('other-supplier.pub.pem'), ed25519PublicKeyPem(other));
    const wrong = await cli('claim', 'show', at('t1.psticket'), '--key-pub', at('other-supplier.pub.pem'));
    expect(wrong.code).toBe(6);
    expect(wrong.out).toMatch(/NOT VERIFIED/);
    expect(wrong.out).toMatch(/signature does not verify/);
    const edited = readFileSync(at('t1.psticket'), 'utf8').replace('PS24-000123', 'PS24-000124');
    writeFileSync(at('edited.psticket'), edited);
    const e = await cli('claim', 'show', at('edited.psticket'), '--key-pub', at('supplier.pub.pem'), '--json');
    expect(e.code).toBe(6);
    expect(JSON.parse(e.out)).toMatchObject({ verified: false, problems: [expect.stringMatching(/signature does not verify/)] });

    // Never overwrites a ticket.
    const again = await cli('claim', 'ticket', '--key', at('supplier.pem'), '--serial', 'X', '--out', at('t1.psticket'));
    expect(again.code).toBe(7);
    expect(readFileSync(at('t1.psticket'), 'utf8')).toBe(new TextDecoder().decode(bytes));
  });

  it('names the ticket <claim-id>.psticket by default, with a C-<yyyymmdd>-<6 hex> claim id', async () => {
    if (!existsSync(at('supplier.pem'))) await cli('claim', 'keygen', '--out', at('supplier.pem'));
    const sub = mkdtempSync(path.join(dir, 'cwd-'));
    const cwd = process.cwd();
    process.chdir(sub);
    try {
      const r = await cli('claim', 'ticket', '--key', at('supplier.pem'), '--serial', 'SN 7');
      expect(r.code, r.err).toBe(0);
      const id = /Claim id +(\S+)/.exec(r.out)![1]!;
      expect(id).toMatch(new RegExp(`^C-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-[0-9a-f]{6}$`));
      expect(readdirSync(sub)).toEqual([`${id}.psticket`]);
      const f = parseTicketFile(readFileSync(path.join(sub, `${id}.psticket`)));
      expect(Date.parse(f.ticket.expiresAt) - Date.parse(f.ticket.issuedAt)).toBe(30 * 86_400_000);
      expect(r.err).toMatch(/Give the customer the code [0-9A-Z-]+.?/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('usage errors exit 2, missing files 3, files that are not keys or tickets 8', async () => {
    if (!existsSync(at('supplier.pem'))) await cli('claim', 'keygen', '--out', at('supplier.pem'));
    const key = at('supplier.pem');
    const cases: Array<[string[], number, RegExp]> = [
      [['claim'], 2, /Usage/],
      [['claim', 'frobnicate'], 2, /unknown claim subcommand/],
      [['claim', 'ticket', '--serial', 'S'], 2, /--key is required/],
      [['claim', 'ticket', '--key', key], 2, /--serial is required/],
      [['claim', 'ticket', '--key', key, '--serial', 'S', '--expires', '0'], 2, /--expires must be a number between 1 and 365/],
      [['claim', 'ticket', '--key', key, '--serial', 'S', '--expires', '1.5'], 2, /whole days/],
      [['claim', 'ticket', '--key', key, '--serial', 'S', '--claim-id', '../x'], 2, /--claim-id/],
      [['claim', 'ticket', '--key', key, '--serial', 'a\tb', '--out', at('x.psticket')], 2, /serial: no control characters/],
      [['claim', 'ticket', '--key', key, '--serial', 'S', '--bogus'], 2, /bogus/],
      [['claim', 'show'], 2, /one FILE\.psticket/],
      [['claim', 'ticket', '--key', at('missing.pem'), '--serial', 'S'], 3, /no such file/],
      [['claim', 'show', at('missing.psticket')], 3, /no such file/],
      [['claim', 'ticket', '--key', at('supplier.pub.pem'), '--serial', 'S'], 8, /it is a public key/],
      [['claim', 'show', at('supplier.pem')], 8, /not a claim ticket: not valid JSON/],
    ];
    for (const [argv, code, re] of cases) {
      const r = await cli(...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(code);
      expect(r.out + r.err, argv.join(' ')).toMatch(re);
    }
    // An ECDSA key (PKCS#8, as openssl genpkey writes it) is not a supplier key.
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(at('ec.pem'), p256);
    const ec = await cli('claim', 'ticket', '--key', at('ec.pem'), '--serial', 'S');
    expect(ec.code).toBe(8);
    expect(ec.err).toMatch(/is a ec key; claim tickets are signed with Ed25519/);
    // A ticket signed elsewhere (noble) shows and verifies the same way.
    const sk = ed25519.utils.randomSecretKey();
    const f = await signTicket(
      { claimId: 'C-X', serial: 'S', nonce: new Uint8Array(10).fill(1), issuedAt: '2020-01-01T00:00:00Z', expiresAt: '2020-02-01T00:00:00Z' },
      { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) },
    );
    writeFileSync(at('old.psticket'), encodeTicketFile(f));
    writeFileSync(at('old.pub.pem'), ed25519PublicKeyPem(ed25519.getPublicKey(sk)));
    const old = await cli('claim', 'show', at('old.psticket'), '--key-pub', at('old.pub.pem'));
    expect(old.code, old.out).toBe(0);
    expect(old.out).toMatch(/Expires +2020-02-01T00:00:00Z \(EXPIRED\)/);
    writeFileSync(at('big.psticket'), ' '.repeat(10_000));
    expect((await cli('claim', 'show', at('big.psticket'))).code).toBe(8);
  });
});
