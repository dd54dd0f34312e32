import { describe, expect, it } from 'vitest';
import { base64Encode, pemBlocks, pemDecode, pemEncode } from '../../../shared/util/base64.js';
import { DecodeError } from '../../../shared/errors.js';

describe('PEM', () => {
  const der = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 255);

  it('writes 64-character lines and reads back the block with the asked label', () => {
    const text = pemEncode('PUBLIC KEY', der);
    expect(
      text
        .split('\n')
        .slice(1, -2)
        .every((l) => l.length <= 64),
    ).toBe(true);
    const b64 = base64Encode(der);
    expect(text).toBe(`-----BEGIN PUBLIC KEY-----\n${b64.slice(0, 64)}\n${b64.slice(64, 128)}\n${b64.slice(128)}\n-----END PUBLIC KEY-----\n`);
    const both = pemEncode('PRIVATE KEY', Uint8Array.of(1, 2, 3)) + text.replace(/\n/g, '\r\n');
    expect(pemDecode(both, 'PUBLIC KEY')).toEqual(der);
    expect(pemBlocks(both).map((b) => b.label)).toEqual(['PRIVATE KEY', 'PUBLIC KEY']);
  });

  it('a missing label, no block at all, or a tampered body is a DecodeError', () => {
    const text = pemEncode('PUBLIC KEY', der);
    expect(() => pemDecode(text, 'PRIVATE KEY')).toThrow(/no PEM block "PRIVATE KEY"/);
    expect(() => pemBlocks('hello')).toThrow(DecodeError);
    expect(() => pemDecode(text.replace(/[A-Za-z](?=[^-]*-----END)/, '*'), 'PUBLIC KEY')).toThrow(DecodeError);
  });
});
