import type { SafeStorage } from 'electron';
import { PackscopeError } from '../../shared/errors.js';
import type { SecretProtector } from '../host/evidence/keystore.js';

/**
 * The installation key sealed by the OS keychain through Electron's safeStorage (Keychain on
 * macOS, DPAPI on Windows, libsecret/kwallet on Linux). Linux without a keyring falls back to a
 * hard-coded password ('basic_text'), which protects nothing: refused, with the way out.
 */
export function safeStorageProtector(safeStorage: SafeStorage, platform = process.platform): SecretProtector {
  const check = () => {
    if (!safeStorage.isEncryptionAvailable()) {
      throw new PackscopeError('REFUSED', 'the OS keychain is not available, so the installation key cannot be stored safely');
    }
    if (platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      throw new PackscopeError(
        'REFUSED',
        'no desktop keyring (GNOME Keyring or KWallet) is running, so the installation key cannot be stored safely; start one, or sign packages with the CLI (packscope package create)',
      );
    }
  };
  return {
    async encrypt(plain) {
      check();
      // safeStorage seals strings; base64 carries the DER bytes through unchanged.
      return new Uint8Array(safeStorage.encryptString(Buffer.from(plain).toString('base64')));
    },
    async decrypt(sealed) {
      check();
      return new Uint8Array(Buffer.from(safeStorage.decryptString(Buffer.from(sealed)), 'base64'));
    },
  };
}
