import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SafeStorage } from 'electron';
import { describe, expect, it } from 'vitest';
import { ProtectedFileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { safeStorageProtector } from '../../../electron/main/key-protector.js';

/** A keychain stand-in that really transforms the bytes (XOR), so plain text on disk would show. */
function fakeSafeStorage(backend = 'gnome_libsecret', available = true): SafeStorage {
  const x = (b: Buffer) => Buffer.from(b.map((c) => c ^ 0x5a));
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (s: string) => x(Buffer.from(s)),
    decryptString: (b: Buffer) => x(b).toString(),
  } as unknown as SafeStorage;
}

describe('installation key sealed by Electron safeStorage', () => {
  it('creates, seals and reloads the same Ed25519 key; the key file holds no plain key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-keys-'));
    const store = new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage(), 'linux'), dir);
    const a = await store.load();
    const b = await new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage(), 'linux'), dir).load();
    expect(Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey))).toBe(true);
    const sig = await b.sign(new TextEncoder().encode('SHA256SUMS'));
    expect(sig.length).toBe(64);
    const sealed = readFileSync(store.location);
    // A PKCS#8 Ed25519 key starts 30 2e 02 01 00 30 05 06 03 2b 65 70; base64 of it starts "MC4CAQAwBQYDK2Vw".
    expect(sealed.includes(Buffer.from('MC4CAQAwBQYDK2Vw'))).toBe(false);
    expect(sealed.includes(Buffer.from([0x2b, 0x65, 0x70]))).toBe(false);
  });

  it('refuses to store the key where the keychain is missing or is the plain-text fallback', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-keys-'));
    await expect(new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage('basic_text'), 'linux'), dir).load()).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringContaining('keyring'),
    });
    await expect(new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage('unknown', false), 'win32'), dir).load()).rejects.toMatchObject({
      code: 'REFUSED',
    });
  });
});
