import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectPhoto, packagePhoto } from '../../../electron/host/api/evidence.js';
import { createPackageFile } from '../../../electron/host/evidence/package-file.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { contract } from '../../../shared/api/contract.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { PHOTO_KINDS, photoKind } from '../../../shared/evidence/photos.js';
import { openZip } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { makeDeviceLog, values } from './device-log.js';
import { makePng } from './png.js';
import { CLAIM, stream } from '../warranty/stream.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-photos-'));
const png = makePng(40, 30);
const pkg = path.join(dir, 'claim.psdiag');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const NAME = 'photos/01-label.png';

beforeAll(async () => {
  const log = makeDeviceLog(values(stream(120)));
  await createPackageFile({
    parts: log,
    claim: CLAIM,
    policy: DEFAULT_POLICY,
    photos: [{ name: 'label.png', data: png }],
    out: pkg,
    keyStore: new FileKeyStore(path.join(dir, 'config')),
  });
});

describe('claim photos', () => {
  it('are checked by content when attached: an image passes, a renamed text file or a missing file is a typed error', () => {
    writeFileSync(path.join(dir, 'label.png'), png);
    writeFileSync(path.join(dir, 'notes.jpg'), 'not a picture\n');
    expect(inspectPhoto(path.join(dir, 'label.png'))).toEqual({ path: path.join(dir, 'label.png'), name: 'label.png', bytes: png.length, kind: 'png' });
    expect(() => inspectPhoto(path.join(dir, 'notes.jpg'))).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('not a JPEG, PNG, WebP or HEIC image') }),
    );
    expect(() => inspectPhoto(path.join(dir, 'absent.png'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('photoKind never throws and names only the formats it recognises', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const k = photoKind(b);
        expect(k === null || PHOTO_KINDS.includes(k)).toBe(true);
      }),
    );
    expect(photoKind(png)).toBe('png');
    expect(photoKind(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0]))).toBe('jpeg');
  });

  it('come back out of a package exactly as signed, only from the file that was verified', async () => {
    const got = await packagePhoto(pkg, NAME, sha(pkg));
    expect(got.kind).toBe('png');
    expect(Buffer.from(got.base64, 'base64').equals(Buffer.from(png))).toBe(true);
    // The file changed since the screen verified it.
    await expect(packagePhoto(pkg, NAME, '0'.repeat(64))).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringContaining('changed since it was verified'),
    });
    await expect(packagePhoto(pkg, 'photos/02-other.png', sha(pkg))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('are refused when the photo inside does not match SHA256SUMS', async () => {
    const zip = openZip(new Uint8Array(readFileSync(pkg)));
    const files = new Map<string, Uint8Array>();
    for (const e of zip.entries) files.set(e.name, zip.read(e));
    files.set(NAME, makePng(40, 31));
    const swapped = path.join(dir, 'swapped.psdiag');
    writeFileSync(swapped, writeZip(files));
    await expect(packagePhoto(swapped, NAME, sha(swapped))).rejects.toMatchObject({
      code: 'VERIFY_FAILED',
      message: expect.stringContaining('does not match SHA256SUMS'),
    });
  });

  it('are named by the request schema as package entries only (no path tricks reach the host)', () => {
    const req = contract.methods['package.photo'].request;
    const ok = { path: pkg, name: NAME, sha256: 'a'.repeat(64) };
    expect(req.safeParse(ok).success).toBe(true);
    for (const name of ['photos/../SHA256SUMS', 'claim.json', 'photos/a/b.png', '/etc/passwd', 'photos/'])
      expect(req.safeParse({ ...ok, name }).success).toBe(false);
    expect(req.safeParse({ ...ok, sha256: 'xyz' }).success).toBe(false);
    const create = contract.methods['package.create'].request;
    const claimReq = { logPath: '/a.pslog', claim: CLAIM, out: '/b.psdiag' };
    expect(create.parse(claimReq).photos).toEqual([]);
    expect(create.safeParse({ ...claimReq, photos: Array.from({ length: 21 }, (_, i) => `/p${i}.png`) }).success).toBe(false);
  });
});
