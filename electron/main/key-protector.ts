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
      throw new PackscopeError(
        'REFUSED',
        "The system's keychain is not available, so PackScope cannot keep the key that signs your packages safe. Unlock or set up your keychain, then create the package again.",
      );
    }
    if (platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      throw new PackscopeError(
        'REFUSED',
        'No desktop keyring (GNOME Keyring or KWallet) is running, so PackScope cannot keep the key that signs your packages safe. Install one (for example the gnome-keyring package), log out and back in so it starts, then create the package again.',
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
