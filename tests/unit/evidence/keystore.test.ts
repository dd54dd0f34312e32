import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { configDir, FileKeyStore, ProtectedFileKeyStore, type SecretProtector } from '../../../electron/host/evidence/keystore.js';
import { PackscopeError } from '../../../shared/errors.js';

const msg = new TextEncoder().encode('SHA256SUMS bytes');

describe('installation key', () => {
  it('config dir: PACKSCOPE_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({ PACKSCOPE_CONFIG_DIR: '/x', XDG_CONFIG_HOME: '/y' })).toBe('/x');
    expect(configDir({ XDG_CONFIG_HOME: '/y' })).toBe('/y/packscope');
    expect(configDir({})).toMatch(/\.config\/packscope$/);
  });

  it('is created on first use with mode 0600 and reused afterwards', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'packscope-key-')), 'nested');
    const a = await new FileKeyStore(dir).load();
    const st = statSync(join(dir, 'install-key.pem'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'install-key.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const b = await new FileKeyStore(dir).load();
    expect(b.publicKey).toEqual(a.publicKey);
    expect(ed25519.verify(await b.sign(msg), msg, a.publicKey)).toBe(true);
  });

  it('two first uses at once end with one key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packscope-key-'));
    const [a, b] = await Promise.all([new FileKeyStore(dir).load(), new FileKeyStore(dir).load()]);
    expect(a.publicKey).toEqual(b.publicKey);
  });

  it('refuses a key file other users can read, and a file that is not a key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packscope-key-'));
    await new FileKeyStore(dir).load();
    chmodSync(join(dir, 'install-key.pem'), 0o644);
    await expect(new FileKeyStore(dir).load()).rejects.toThrow(/readable by other users \(mode 644\); run: chmod 600/);
    writeFileSync(join(dir, 'install-key.pem'), 'garbage', { mode: 0o600 });
    chmodSync(join(dir, 'install-key.pem'), 0o600);
    await expect(new FileKeyStore(dir).load()).rejects.toBeInstanceOf(PackscopeError);
  });

  it('the protected store keeps only sealed bytes on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packscope-key-'));
    // A reversible stand-in for the OS keychain: XOR with a fixed pad, tagged.
    const protector: SecretProtector = {
      encrypt: async (p) => Uint8Array.from([0x53, ...p.map((b) => b ^ 0xa5)]),
      decrypt: async (s) => {
        if (s[0] !== 0x53) throw new Error('not sealed by this keychain');
        return s.slice(1).map((b) => b ^ 0xa5);
      },
    };
    const a = await new ProtectedFileKeyStore(protector, dir).load();
    const sealed = readFileSync(join(dir, 'install-key.sealed'));
    expect(sealed.includes(Buffer.from('302e020100300506032b6570', 'hex'))).toBe(false);
    const b = await new ProtectedFileKeyStore(protector, dir).load();
    expect(b.publicKey).toEqual(a.publicKey);
    const other: SecretProtector = {
      encrypt: protector.encrypt,
      decrypt: async () => {
        throw new Error('locked');
      },
    };
    await expect(new ProtectedFileKeyStore(other, dir).load()).rejects.toThrow(/OS keychain cannot unseal/);
  });
});
