import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtectedFileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { keyringProbe, safeStorageProtector } from '../../../electron/main/key-protector.js';
import { fakeSafeStorage } from './fake-safe-storage.js';

describe('installation key sealed by Electron safeStorage', () => {
  it('creates, seals and reloads the same Ed25519 key; the key file holds no plain key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-keys-'));
    const store = new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage()), dir);
    const a = await store.load();
    const b = await new ProtectedFileKeyStore(safeStorageProtector(fakeSafeStorage()), dir).load();
    expect(Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey))).toBe(true);
    const sig = await b.sign(new TextEncoder().encode('SHA256SUMS'));
    expect(sig.length).toBe(64);
    const sealed = readFileSync(store.location);
    // A PKCS#8 Ed25519 key starts 30 2e 02 01 00 30 05 06 03 2b 65 70; base64 of it starts "MC4CAQAwBQYDK2Vw".
    expect(sealed.includes(Buffer.from('MC4CAQAwBQYDK2Vw'))).toBe(false);
    expect(sealed.includes(Buffer.from([0x2b, 0x65, 0x70]))).toBe(false);
  });

  it('reports what safeStorage says: the backend on Linux only', () => {
    expect(keyringProbe(fakeSafeStorage('basic_text'), 'linux')).toEqual({ available: true, backend: 'basic_text', platform: 'linux' });
    expect(keyringProbe(fakeSafeStorage('unknown', false), 'win32')).toEqual({ available: false, backend: null, platform: 'win32' });
  });
});
