import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseInstallationKeyStore, usableKeyring, type KeyringProbe } from '../../../electron/host/evidence/key-protection.js';
import { safeStorageProtector } from '../../../electron/main/key-protector.js';
import { fakeSafeStorage } from './fake-safe-storage.js';

/**
 * Where the installation key is kept: sealed by an OS keyring where one protects anything, else a
 * mode-0600 file with the app and the CLI saying so; a key sealed earlier is never replaced by a
 * second one while the keyring is away, and a file key moves into a keyring that appears.
 */
const fresh = () => mkdtempSync(path.join(os.tmpdir(), 'ps-keyprot-'));
const linux = (backend: string, available = true): KeyringProbe => ({ available, backend, platform: 'linux' });
const electron = (dir: string, probe: KeyringProbe, backend = probe.backend ?? 'unknown') =>
  chooseInstallationKeyStore({ dir, host: 'electron', probe, protector: safeStorageProtector(fakeSafeStorage(backend, probe.available)) });
const mode = (file: string) => statSync(file).mode & 0o777;

describe('installation key protection', () => {
  it('names the keyrings that protect and refuses the ones that do not', () => {
    expect(usableKeyring(linux('gnome_libsecret'))).toBe('GNOME Keyring (Secret Service)');
    expect(usableKeyring(linux('kwallet5'))).toBe('KWallet');
    expect(usableKeyring(linux('basic_text'))).toBeNull();
    expect(usableKeyring(linux('unknown'))).toBeNull();
    expect(usableKeyring(linux('gnome_libsecret', false))).toBeNull();
    expect(usableKeyring({ available: true, backend: null, platform: 'darwin' })).toBe('the macOS Keychain');
    expect(usableKeyring({ available: false, backend: null, platform: 'win32' })).toBeNull();
    expect(usableKeyring(null)).toBeNull();
  });

  it('with a keyring the key is sealed by it and no plain key file exists', async () => {
    const dir = fresh();
    const { store, protection } = electron(dir, linux('gnome_libsecret'));
    expect(protection).toMatchObject({ kind: 'os-keyring', keyring: 'GNOME Keyring (Secret Service)', location: path.join(dir, 'install-key.sealed') });
    expect(protection.headline).toContain('protected by GNOME Keyring');
    await store.load();
    expect(existsSync(path.join(dir, 'install-key.sealed'))).toBe(true);
    expect(existsSync(path.join(dir, 'install-key.pem'))).toBe(false);
  });

  it('without a keyring on Linux it says so, keeps the key in a 0600 file, and moves it into a keyring that appears later', async () => {
    const dir = fresh();
    const none = electron(dir, linux('basic_text'));
    expect(none.protection.kind).toBe('file');
    expect(none.protection.headline).toMatch(/^No desktop keyring \(GNOME Keyring or KWallet\) is running.*mode 0600/);
    expect(none.protection.meaning).toMatch(/not encrypted.*could sign packages as this PackScope installation/);
    expect(none.protection.meaning).toMatch(/install a desktop keyring \(gnome-keyring or KWallet\), log out and back in/);
    const key = await none.store.load();
    const pem = path.join(dir, 'install-key.pem');
    expect(none.protection.location).toBe(pem);
    expect(mode(pem)).toBe(0o600);
    expect(readFileSync(pem, 'utf8')).toContain('BEGIN PRIVATE KEY');

    const later = electron(dir, linux('kwallet5'));
    expect(later.protection.kind).toBe('os-keyring');
    const same = await later.store.load();
    // The same installation key, now sealed; the plain file is gone.
    expect(Buffer.from(same.publicKey).equals(Buffer.from(key.publicKey))).toBe(true);
    expect(existsSync(pem)).toBe(false);
    const sealed = readFileSync(path.join(dir, 'install-key.sealed'));
    expect(sealed.includes(Buffer.from('MC4CAQAwBQYDK2Vw'))).toBe(false);
    expect(mode(path.join(dir, 'install-key.sealed'))).toBe(0o600);
  });

  it('a key sealed earlier is not replaced while the keyring is away', async () => {
    const dir = fresh();
    await electron(dir, linux('gnome_libsecret')).store.load();
    const away = electron(dir, linux('basic_text'));
    expect(away.protection.kind).toBe('keyring-unavailable');
    expect(away.protection.meaning).toContain('Start your desktop keyring');
    await expect(away.store.load()).rejects.toMatchObject({ code: 'REFUSED', message: expect.stringContaining('does not make a second key') });
    expect(existsSync(path.join(dir, 'install-key.pem'))).toBe(false);
  });

  it('the browser host and the CLI keep a 0600 file and say what that means', async () => {
    for (const host of ['browser', 'cli'] as const) {
      const dir = fresh();
      const { store, protection } = chooseInstallationKeyStore({ dir, host });
      expect(protection.kind).toBe('file');
      expect(protection.headline).toMatch(host === 'browser' ? /packscope serve/ : /command line/);
      expect(protection.meaning).toMatch(/not encrypted/);
      await store.load();
      expect(mode(protection.location)).toBe(0o600);
    }
  });

  it('other platforms without a keychain fall back to the file too, with their own words', () => {
    const { protection } = chooseInstallationKeyStore({
      dir: fresh(),
      host: 'electron',
      probe: { available: false, backend: null, platform: 'win32' },
      protector: safeStorageProtector(fakeSafeStorage('unknown', false)),
    });
    expect(protection.kind).toBe('file');
    expect(protection.headline).toMatch(/^The system keychain is not available/);
    expect(protection.meaning).toMatch(/unlock or set up the system keychain/);
  });

  it('a key file others can read is refused, as ssh does', async () => {
    const dir = fresh();
    const { store, protection } = chooseInstallationKeyStore({ dir, host: 'cli' });
    await store.load();
    chmodSync(protection.location, 0o644);
    await expect(store.load()).rejects.toMatchObject({ code: 'REFUSED', message: expect.stringContaining('chmod 600') });
  });
});
