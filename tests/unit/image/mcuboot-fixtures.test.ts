import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeImageFile,
  describeImage,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  publicKeyToPem,
  privateKeyToPem,
  verifyImage,
  securityCounterOf,
  signImage,
  parseVersion,
  type TrustedKey,
} from '../../../shared/image/index.js';
import { toHex } from '../../../shared/util/bytes.js';
import { sha256 } from '@noble/hashes/sha2.js';

const DIR = path.resolve(__dirname, '../../fixtures/mcuboot');
const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8'));
const read = (f: string) => new Uint8Array(readFileSync(path.join(DIR, f)));
const text = (f: string) => readFileSync(path.join(DIR, f), 'utf8');
const trustFile = (f: string): TrustedKey => ({ key: parsePublicKeyPem(text(f)), name: f });

const REASON_TO_SIGNATURE: Record<string, string> = {
  bad_signature: 'bad_signature',
  wrong_key: 'unknown_key',
  missing_signature: 'missing',
};

describe('imgtool keys', () => {
  for (const k of Object.values<any>(manifest.keys)) {
    it(`${k.key_type}: private and public PEM parse, key hash equals imgtool getpubhash`, () => {
      const priv = parsePrivateKeyPem(text(k.private_key_file));
      const pub = parsePublicKeyPem(text(k.public_key_file));
      expect(priv.type).toBe(k.key_type);
      expect(toHex(pub.keyHash)).toBe(k.public_key_sha256);
      expect(toHex(priv.publicKey.keyHash)).toBe(k.public_key_sha256);
      // Our PEM writers reproduce imgtool/OpenSSL's encodings byte for byte.
      expect(publicKeyToPem(pub).trim()).toBe(text(k.public_key_file).trim());
      expect(privateKeyToPem(priv).trim()).toBe(text(k.private_key_file).trim());
    });
  }
});

describe('imgtool-signed images parse to dumpinfo values and verify as imgtool does', () => {
  for (const im of manifest.images) {
    it(im.file, () => {
      const { image, format } = decodeImageFile(read(im.file));
      expect(format).toBe(im.format);
      const dump = JSON.parse(text(im.dumpinfo_json_file));
      const d = describeImage(image);
      expect(image.header.magic).toBe(dump.header.magic);
      expect(image.header.loadAddr).toBe(dump.header.load_addr);
      expect(image.header.headerSize).toBe(dump.header.hdr_size);
      expect(image.header.protectedTlvSize).toBe(dump.header.protected_tlv_size);
      expect(image.header.imageSize).toBe(dump.header.img_size);
      expect(image.header.flags).toBe(dump.header.flags);
      expect(d.header.version).toBe(dump.header.version);
      expect(d.tlvs.map((t) => [t.type, t.len, t.data])).toEqual(dump.tlv_area.tlvs.map((t: any) => [t.type, t.len, t.data]));
      expect(d.protectedTlvs.map((t) => [t.type, t.len, t.data])).toEqual(dump.tlv_area.tlvs_prot.map((t: any) => [t.type, t.len, t.data]));
      if (dump.tlv_area.tlv_hdr_prot.tlv_tot) expect(image.header.protectedTlvSize).toBe(dump.tlv_area.tlv_hdr_prot.tlv_tot);
      expect(image.tlvAreaSize).toBe(dump.tlv_area.tlv_hdr.tlv_tot);
      expect(toHex(image.body)).toBe(toHex(read(im.payload_file)));
      expect(securityCounterOf(image)).toBe(im.security_counter ?? null);
      if (dump.trailer.magic) {
        expect(image.trailer).toEqual({
          imageOk: dump.trailer.image_ok,
          copyDone: dump.trailer.copy_done,
          swapInfo: dump.trailer.swap_info,
          swapSize: dump.trailer.swap_size,
        });
      } else expect(image.trailer).toBeNull();

      const trusted = im.public_key_file ? [trustFile(im.public_key_file)] : [];
      const r = verifyImage(image, { trustedKeys: trusted });
      expect(r.hash.status).toBe('ok');
      expect(r.hash.expected).toBe(im.sha256_tlv);
      if (im.signed) {
        expect(r.signature.status).toBe('valid');
        expect(r.signature.trustedKey).toBe(im.public_key_file);
        expect(r.valid).toBe(true);
      } else {
        expect(r.signature.status).toBe('missing');
      }
    });
  }
});

describe('negative cases fail for the stated reason', () => {
  for (const n of manifest.negative_cases) {
    it(`${n.name ?? n.file}: ${n.expected.reason}`, () => {
      const { image } = decodeImageFile(read(n.file));
      const r = verifyImage(image, { trustedKeys: [trustFile(n.public_key_file)] });
      expect(r.valid).toBe(false);
      if (n.expected.reason === 'hash_mismatch') {
        expect(r.hash.status).toBe('mismatch');
        expect(r.reason).toBe('hash_mismatch');
      } else {
        expect(r.hash.status).toBe('ok');
        expect(r.signature.status).toBe(REASON_TO_SIGNATURE[n.expected.reason]);
        expect(r.reason).toBe(n.expected.reason === 'wrong_key' ? 'unknown_key' : n.expected.reason);
      }
    });
  }
});

describe('signImage reproduces imgtool byte for byte (Ed25519 signatures are deterministic)', () => {
  const key = parsePrivateKeyPem(text('ed25519-TEST-ONLY.pem'));
  for (const id of ['img-ed25519-p1000.bin', 'img-ed25519-p65536-padded-confirmed.bin', 'img-ed25519-p200003-padheader.bin']) {
    it(id, () => {
      const im = manifest.images.find((x: any) => x.file === id);
      const out = signImage({
        payload: read(im.payload_file),
        version: parseVersion(im.version),
        key,
        securityCounter: im.security_counter ?? undefined,
        headerSize: im.header_size,
        padToSlot: im.padded ? im.slot_size : undefined,
        confirm: im.confirmed,
        align: im.align,
        headerFill: Number(im.header_fill_byte),
      });
      expect(toHex(sha256(out))).toBe(im.file_sha256);
    });
  }
});
