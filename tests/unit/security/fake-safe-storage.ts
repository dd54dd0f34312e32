/** Electron's safeStorage stood in for by a reversible transform, for the installation-key tests. */
import type { SafeStorage } from 'electron';

/** A keychain stand-in that really transforms the bytes (XOR), so plain text on disk would show. */
export function fakeSafeStorage(backend = 'gnome_libsecret', available = true): SafeStorage {
  const x = (b: Buffer) => Buffer.from(b.map((c) => c ^ 0x5a));
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (s: string) => x(Buffer.from(s)),
    decryptString: (b: Buffer) => x(b).toString(),
  } as unknown as SafeStorage;
}
