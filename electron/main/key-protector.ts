import type { SafeStorage } from 'electron';
import type { KeyringProbe } from '../host/evidence/key-protection.js';
import type { SecretProtector } from '../host/evidence/keystore.js';

/**
 * The Electron glue of the installation key: what safeStorage says about the machine, and its
 * seal/unseal (Keychain on macOS, DPAPI on Windows, libsecret/kwallet on Linux). Whether that
 * protects anything (Linux without a keyring falls back to a password every Chromium knows) is
 * decided in plain Node, electron/host/evidence/key-protection.ts.
 */
export function keyringProbe(safeStorage: SafeStorage, platform: NodeJS.Platform = process.platform): KeyringProbe {
  return {
    available: safeStorage.isEncryptionAvailable(),
    backend: platform === 'linux' ? safeStorage.getSelectedStorageBackend() : null,
    platform,
  };
}

export function safeStorageProtector(safeStorage: SafeStorage): SecretProtector {
  return {
    async encrypt(plain) {
      // safeStorage seals strings; base64 carries the DER bytes through unchanged.
      return new Uint8Array(safeStorage.encryptString(Buffer.from(plain).toString('base64')));
    },
    async decrypt(sealed) {
      return new Uint8Array(Buffer.from(safeStorage.decryptString(Buffer.from(sealed)), 'base64'));
    },
  };
}
