import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64Decode, base64Encode } from '../../../shared/util/base64.js';
import { formatSha256Sums, parseSha256Sums } from '../../../shared/codec/sha256sums.js';
import { parseSshsig, sshsigSign, sshsigVerify } from '../../../shared/codec/sshsig.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, ed25519PublicKeyPem } from '../../../shared/codec/ed25519-keys.js';
import { PackscopeError } from '../../../shared/errors.js';
import { utf8Encode } from '../../../shared/util/bytes.js';

const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(7));
const pk = ed25519.getPublicKey(sk);

describe('base64', () => {
  it('round-trips and refuses non-canonical text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(base64Decode(base64Encode(b))).toEqual(b);
      }),
    );
    expect(base64Encode(utf8Encode('any carnal pleas'))).toBe('YW55IGNhcm5hbCBwbGVhcw==');
    expect(() => base64Decode('YW55IGNhcm5hbCBwbGVhcx==')).toThrow(/non-canonical/);
    expect(() => base64Decode('abc')).toThrow(PackscopeError);
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          base64Decode(s);
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
        }
      }),
    );
  });
});

describe('SHA256SUMS', () => {
  it('formats sorted lines sha256sum -c reads, and parses them back', () => {
    const text = formatSha256Sums(
      new Map([
        ['b.txt', utf8Encode('b')],
        ['a/c.csv', new Uint8Array(0)],
      ]),
    );
    expect(new TextDecoder().decode(text)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a/c.csv\n' +
        '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.txt\n',
    );
    expect(parseSha256Sums(text).map((e) => e.name)).toEqual(['a/c.csv', 'b.txt']);
  });
  it('refuses anything but the canonical form', () => {
    const h = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    for (const bad of [`${h} a\n`, `${h}  a`, `${h}  ../a\n`, `${h}  b\n${h}  a\n`, `${h}  a\n${h}  a\n`, `${h.toUpperCase()}  a\n`, '']) {
      expect(() => parseSha256Sums(utf8Encode(bad))).toThrow(PackscopeError);
    }
  });
});

describe('key forms', () => {
  it('PEM and OpenSSH forms round-trip', () => {
    const pem = ed25519PublicKeyPem(pk);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA/);
    expect(ed25519PublicKeyFromPem(pem)).toEqual(pk);
    expect(ed25519FromOpenSsh(ed25519OpenSsh(pk, 'x'))).toEqual(pk);
  });
});

describe('SSHSIG', () => {
  it('signs and verifies, refusing other keys, namespaces and messages', async () => {
    const msg = utf8Encode('hello\n');
    const arm = await sshsigSign(msg, pk, (d) => ed25519.sign(d, sk));
    expect(arm.startsWith('-----BEGIN SSH SIGNATURE-----\nU1NIU0lH')).toBe(true);
    expect(sshsigVerify(arm, msg, pk)).toBeNull();
    expect(sshsigVerify(arm, utf8Encode('hello!\n'), pk)).toBe('signature does not verify');
    expect(sshsigVerify(arm, msg, ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe('signed by a different key');
    expect(sshsigVerify(arm, msg, pk, 'file')).toBe('namespace is "packscope-diagnosis", expected "file"');
    expect(parseSshsig(arm)).toMatchObject({ namespace: 'packscope-diagnosis', hashAlgorithm: 'sha512' });
  });
  it('arbitrary armor text gives a reason, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const arm = `-----BEGIN SSH SIGNATURE-----\n${base64Encode(b)}\n-----END SSH SIGNATURE-----\n`;
        expect(typeof sshsigVerify(arm, b, pk)).toBe('string');
      }),
    );
  });
});
