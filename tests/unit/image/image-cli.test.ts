import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';
import { decodeImageFile, parsePrivateKeyPem, parsePublicKeyPem } from '../../../shared/image/index.js';

const FIX = path.resolve(__dirname, '../../fixtures/mcuboot');
const dir = mkdtempSync(path.join(tmpdir(), 'psimg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out, err };
}
const p = (f: string) => path.join(dir, f);

describe('packscope image', () => {
  it('keygen writes a 0600 PKCS#8 key and its SPKI public key, and never overwrites', async () => {
    for (const type of ['ed25519', 'ecdsa-p256']) {
      const r = await cli(['image', 'keygen', '--type', type, '--out', p(`${type}.pem`)]);
      expect(r.code, r.err.join('\n')).toBe(0);
      expect(statSync(p(`${type}.pem`)).mode & 0o777).toBe(0o600);
      const priv = parsePrivateKeyPem(readFileSync(p(`${type}.pem`), 'utf8'));
      expect(parsePublicKeyPem(readFileSync(p(`${type}.pub.pem`), 'utf8')).keyHash).toEqual(priv.publicKey.keyHash);
    }
    const before = readFileSync(p('ed25519.pem'), 'utf8');
    const again = await cli(['image', 'keygen', '--type', 'ed25519', '--out', p('ed25519.pem')]);
    expect(again.code).toBe(7);
    expect(again.err.join('\n')).toMatch(/already exists/);
    expect(readFileSync(p('ed25519.pem'), 'utf8')).toBe(before);
    expect((await cli(['image', 'keygen', '--type', 'rsa', '--out', p('x.pem')])).code).toBe(2);
  });

  it('signs a .hex into a .hex and a .bin, and inspect checks them against --trust keys', async () => {
    const hexIn = path.join(FIX, 'payload-4096.hex');
    const s = await cli([
      'image',
      'sign',
      '--key',
      p('ecdsa-p256.pem'),
      '--version',
      '2.1.0+9',
      '--board',
      'PSB-16S-LFP-A',
      '--security-counter',
      '4',
      hexIn,
      p('out.hex'),
      '--json',
    ]);
    expect(s.code, s.err.join('\n')).toBe(0);
    const { image, format, address } = decodeImageFile(new Uint8Array(readFileSync(p('out.hex'))));
    expect(format).toBe('ihex');
    expect(address).toBe(0x10000); // header placed before the HEX input's 0x10200, as imgtool does
    expect(image.body).toEqual(new Uint8Array(readFileSync(path.join(FIX, 'payload-4096.bin'))));

    const ok = await cli(['image', 'inspect', p('out.hex'), '--trust', p('ecdsa-p256.pub.pem'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out[0]!)).toMatchObject({
      valid: true,
      version: '2.1.0+9',
      boardId: 'PSB-16S-LFP-A',
      securityCounter: 4,
      signature: { status: 'valid' },
    });

    const wrong = await cli(['image', 'inspect', p('out.hex'), '--trust', p('ed25519.pub.pem')]);
    expect(wrong.code).toBe(6);
    expect(wrong.out.join('\n')).toMatch(/unknown key/);

    const otherBoard = await cli(['image', 'inspect', p('out.hex'), '--trust', p('ecdsa-p256.pub.pem'), '--board', 'PSB-OTHER']);
    expect(otherBoard.code).toBe(6);
  });

  it('inspect reports imgtool images and damaged files precisely', async () => {
    const good = await cli(['image', 'inspect', path.join(FIX, 'img-ed25519-p65536-padded-confirmed.bin'), '--trust', path.join(FIX, 'ed25519.pub.pem')]);
    expect(good.code).toBe(0);
    expect(good.out.join('\n')).toMatch(/1\.2\.3\+45[\s\S]*valid[\s\S]*security counter\s+3[\s\S]*image_ok set/);
    const bad = await cli(['image', 'inspect', path.join(FIX, 'neg-hash-mismatch-ed25519.bin'), '--trust', path.join(FIX, 'ed25519.pub.pem')]);
    expect(bad.code).toBe(6);
    expect(bad.out.join('\n')).toMatch(/DOES NOT match/);
    writeFileSync(p('junk.bin'), 'not an image at all, really not');
    expect((await cli(['image', 'inspect', p('junk.bin')])).code).toBe(8);
    expect((await cli(['image', 'inspect', p('missing.bin')])).code).toBe(3);
  });
});
