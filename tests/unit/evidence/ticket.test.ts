import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import {
  codeFromNonce,
  defaultClaimId,
  encodeTicketFile,
  nonceFromCode,
  parseTicketFile,
  signTicket,
  ticketCode,
  ticketMessage,
  ticketNonce,
  verifyTicket,
  type TicketSigner,
} from '../../../shared/evidence/ticket.js';
import { fromHex, toHex, utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';

const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(5));
const pub = ed25519.getPublicKey(sk);
const signer: TicketSigner = { publicKey: pub, sign: (m) => ed25519.sign(m, sk) };
const otherPub = ed25519.getPublicKey(ed25519.utils.randomSecretKey(new Uint8Array(32).fill(6)));

const NONCE = fromHex('00112233445566778899');
const FIELDS = {
  claimId: 'C-20260603-a1b2c3',
  serial: 'PS24-000123',
  nonce: NONCE,
  issuedAt: new Date('2026-06-03T10:00:00.750Z'),
  expiresAt: '2026-07-03T10:00:00Z',
};

const nonceArb = fc.uint8Array({ minLength: 10, maxLength: 10 });
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** What a typed character means once case and the look-alikes are folded. */
const fold = (c: string) => c.toUpperCase().replace('O', '0').replace(/[IL]/, '1');

function decodeError(f: () => unknown): DecodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('claim code', () => {
  it('has the documented form and known values', () => {
    expect(codeFromNonce(new Uint8Array(10))).toBe('0000-0000-0000-0000-0');
    const ff = codeFromNonce(new Uint8Array(10).fill(255));
    expect(ff).toMatch(/^ZZZZ-ZZZZ-ZZZZ-ZZZZ-[0-9A-Z*~$=]$/);
    // 2^80 - 1 mod 37, by BigInt: the check character is Crockford's mod-37 symbol.
    const check = Number((2n ** 80n - 1n) % 37n);
    expect(ff.at(-1)).toBe((ALPHABET + '*~$=U')[check]);
    expect(codeFromNonce(NONCE)).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z*~$=U]$/);
    expect(() => codeFromNonce(new Uint8Array(9))).toThrow(RangeError);
  });

  it('round-trips every nonce, also typed loosely (case, spaces, no hyphens, O for 0, I and L for 1)', () => {
    fc.assert(
      fc.property(nonceArb, fc.boolean(), (nonce, spaced) => {
        const code = codeFromNonce(nonce);
        expect(code).toHaveLength(21);
        expect(nonceFromCode(code)).toEqual(nonce);
        const loose = code
          .toLowerCase()
          .replace(/0/g, 'o')
          .replace(/1/g, () => (spaced ? 'l' : 'I'));
        expect(nonceFromCode(spaced ? loose.replace(/-/g, ' ') : loose.replace(/-/g, ''))).toEqual(nonce);
        expect(nonceFromCode(` ${code.replace(/-/g, ' - ')} `)).toEqual(nonce);
      }),
      { numRuns: 500 },
    );
  });

  it('detects any single mistyped character, as an error naming the problem', () => {
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== '-');
    fc.assert(
      fc.property(nonceArb, fc.nat(16), fc.constantFrom(...printable), (nonce, pos, typed) => {
        const chars = codeFromNonce(nonce).replace(/-/g, '').split('');
        fc.pre(fold(typed) !== chars[pos]);
        chars[pos] = typed;
        const e = decodeError(() => nonceFromCode(chars.join('')));
        expect(e.message).toMatch(/check character|not a claim code character/);
      }),
      { numRuns: 3000 },
    );
    // Every substitution by another code symbol is caught by the check itself.
    const nonce = fromHex('a5c3e1f00f1e3c5a7799');
    const body = codeFromNonce(nonce).replace(/-/g, '');
    for (let pos = 0; pos < 16; pos++) {
      for (const c of ALPHABET) {
        if (c === body[pos]) continue;
        const e = decodeError(() => nonceFromCode(body.slice(0, pos) + c + body.slice(pos + 1)));
        expect(e.message).toMatch(/does not match its check character/);
      }
    }
  });

  it('detects two neighbouring characters swapped', () => {
    fc.assert(
      fc.property(nonceArb, fc.nat(15), (nonce, pos) => {
        const c = codeFromNonce(nonce).replace(/-/g, '');
        fc.pre(c[pos] !== c[pos + 1]);
        expect(() => nonceFromCode(c.slice(0, pos) + c[pos + 1] + c[pos] + c.slice(pos + 2))).toThrow(DecodeError);
      }),
      { numRuns: 1000 },
    );
  });

  it('names what is wrong with a code', () => {
    const code = codeFromNonce(NONCE);
    expect(decodeError(() => nonceFromCode('')).message).toMatch(/empty/);
    expect(decodeError(() => nonceFromCode(code.slice(0, -2))).message).toMatch(/missing its check character/);
    expect(decodeError(() => nonceFromCode(code.slice(0, 10))).message).toMatch(/has 8 characters/);
    expect(decodeError(() => nonceFromCode(code + '7')).message).toMatch(/has 18 characters/);
    expect(decodeError(() => nonceFromCode('U' + code.slice(1))).message).toMatch(/'U' \(character 1 of the code\) is not a claim code character/);
    expect(decodeError(() => nonceFromCode(code.slice(0, 5) + 'é' + code.slice(6))).message).toMatch(/'é' \(character 5/);
    expect(decodeError(() => nonceFromCode('x'.repeat(100))).message).toMatch(/too long/);
  });

  it('never throws anything but DecodeError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[0-9A-Za-z*~$= -]{0,30}$/)), (s) => {
        try {
          const n = nonceFromCode(s);
          expect(n).toHaveLength(10);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('claim ticket', () => {
  it('signs the canonical ticket with a domain prefix; the file is canonical JSON', async () => {
    const file = await signTicket(FIELDS, signer);
    expect(file.ticket).toEqual({
      schema: 'packscope-claim-ticket/1',
      claimId: 'C-20260603-a1b2c3',
      serial: 'PS24-000123',
      nonce: '00112233445566778899',
      issuedAt: '2026-06-03T10:00:00Z',
      expiresAt: '2026-07-03T10:00:00Z',
    });
    expect(file.key).toBe(sshFingerprint(pub));
    const message = ticketMessage(file.ticket);
    expect(utf8Decode(message).startsWith('packscope-claim-ticket/1\n{\n  "claimId"')).toBe(true);
    expect(ed25519.verify(fromHex(file.signature), message, pub)).toBe(true);
    const text = encodeTicketFile(file);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseTicketFile(text)).toEqual(file);
    expect(parseTicketFile(utf8Encode(text))).toEqual(file);
    expect(verifyTicket(text, pub)).toEqual({ ok: true, problems: [] });
    expect(verifyTicket(utf8Encode(text), pub, new Date('2026-06-10T00:00:00Z'))).toEqual({ ok: true, problems: [] });
    expect(verifyTicket(file, pub)).toEqual({ ok: true, problems: [] });
    expect(ticketNonce(file)).toEqual(NONCE);
    expect(nonceFromCode(ticketCode(file))).toEqual(NONCE);
  });

  it('reports a wrong key, a forged field, a non-canonical file and expiry as problems', async () => {
    const file = await signTicket(FIELDS, signer);
    const wrong = verifyTicket(file, otherPub);
    expect(wrong.ok).toBe(false);
    expect(wrong.problems.join('\n')).toMatch(/names signing key SHA256:.*not the supplier key/);
    expect(wrong.problems.join('\n')).toMatch(/signature does not verify/);
    const forged = { ...file, ticket: { ...file.ticket, serial: 'PS24-999999' } };
    expect(verifyTicket(forged, pub).problems).toEqual([expect.stringMatching(/signature does not verify/)]);
    const spaced = encodeTicketFile(file).replace('{\n', '{\n ');
    expect(parseTicketFile(spaced)).toEqual(file);
    expect(verifyTicket(spaced, pub).problems).toEqual([expect.stringMatching(/not in its canonical form/)]);
    // Expiry is a problem only when the caller says what time it is.
    expect(verifyTicket(file, pub).ok).toBe(true);
    expect(verifyTicket(file, pub, new Date('2026-07-03T09:59:59Z')).ok).toBe(true);
    expect(verifyTicket(file, pub, new Date('2026-07-03T10:00:00Z')).problems).toEqual(['the ticket expired at 2026-07-03T10:00:00Z']);
    expect(verifyTicket(file, new Uint8Array(31)).ok).toBe(false);
  });

  it('refuses bad fields when signing, as a usage error naming them', async () => {
    const bad = async (over: Partial<typeof FIELDS>, re: RegExp) => {
      const e = await signTicket({ ...FIELDS, ...over }, signer).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PackscopeError);
      expect((e as PackscopeError).code).toBe('USAGE');
      expect((e as Error).message).toMatch(re);
    };
    await bad({ claimId: '../evil' }, /claimId: claim id/);
    await bad({ serial: '' }, /serial: must not be empty/);
    await bad({ serial: 'a\nb' }, /serial: no control characters/);
    await bad({ expiresAt: '2026-06-03T10:00:00Z' }, /expiresAt must be after issuedAt/);
    await bad({ expiresAt: '2026-02-30T10:00:00Z' }, /not a calendar date-time/);
    await bad({ expiresAt: '2026-07-03T10:00:00.5Z' }, /whole seconds/);
    await bad({ nonce: new Uint8Array(8) }, /nonce is 10 bytes/);
  });

  it('parses strictly: unknown fields, upper-case hex and oversized files are refused', async () => {
    const file = await signTicket(FIELDS, signer);
    const text = encodeTicketFile(file);
    expect(decodeError(() => parseTicketFile(text.replace('"key"', '"kee"'))).message).toMatch(/key/);
    expect(decodeError(() => parseTicketFile(JSON.stringify({ ...file, extra: 1 }))).message).toMatch(/extra|Unrecognized/);
    expect(
      decodeError(() => parseTicketFile(JSON.stringify({ ...file, ticket: { ...file.ticket, nonce: 'AB' + file.ticket.nonce.slice(2) } }))).message,
    ).toMatch(/ticket\.nonce/);
    expect(decodeError(() => parseTicketFile(JSON.stringify({ ...file, ticket: { ...file.ticket, schema: 'packscope-claim-ticket/2' } }))).message).toMatch(
      /ticket\.schema/,
    );
    expect(decodeError(() => parseTicketFile(' '.repeat(5000))).message).toMatch(/more than the 4096/);
    expect(decodeError(() => parseTicketFile('{')).message).toMatch(/not valid JSON/);
  });

  it('any changed byte of a signed ticket file fails verification', async () => {
    const file = await signTicket(FIELDS, signer);
    const bytes = utf8Encode(encodeTicketFile(file));
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const b = bytes.slice();
        b[pos] ^= x;
        const r = verifyTicket(b, pub);
        expect(r.ok).toBe(false);
        expect(r.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
    // Exhaustively over the positions, with one flip each.
    for (let pos = 0; pos < bytes.length; pos++) {
      const b = bytes.slice();
      b[pos] ^= 1;
      expect(verifyTicket(b, pub).ok, `byte ${pos}`).toBe(false);
    }
  });

  it('signs every valid field combination into a file that verifies and round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonceArb,
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.trim() === s && s.length > 0),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: 1, max: 400 * 86400 }),
        async (nonce, claimId, serial, t, life) => {
          const f = await signTicket({ claimId, serial, nonce, issuedAt: new Date(t * 1000), expiresAt: new Date((t + life) * 1000) }, signer);
          const text = encodeTicketFile(f);
          expect(parseTicketFile(text)).toEqual(f);
          expect(verifyTicket(text, pub)).toEqual({ ok: true, problems: [] });
          expect(toHex(ticketNonce(f))).toBe(toHex(nonce));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the parser and verifier give only typed errors on arbitrary input', async () => {
    const file = await signTicket(FIELDS, signer);
    const text = encodeTicketFile(file);
    const inputs = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.anything().map((v) => JSON.stringify({ ...file, ticket: { ...file.ticket, serial: v } }) ?? ''),
      fc
        .tuple(fc.nat(text.length), fc.nat(text.length), fc.string({ maxLength: 8 }))
        .map(([a, b, s]) => text.slice(0, Math.min(a, b)) + s + text.slice(Math.max(a, b))),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        try {
          parseTicketFile(input);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
        const r = verifyTicket(input, pub);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
    // Objects that are not ticket files at all.
    for (const v of [null, 1, 'x', [], {}, { ticket: null }] as unknown[]) expect(verifyTicket(v as never, pub).ok).toBe(false);
  });

  it('makes default claim ids C-<yyyymmdd>-<6 hex>', () => {
    expect(defaultClaimId(new Date('2026-06-03T23:59:59Z'), Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4))).toBe('C-20260603-a1b2c3');
  });
});
