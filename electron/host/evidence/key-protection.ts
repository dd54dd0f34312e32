/**
 * Where the installation key (it signs diagnosis packages) is kept at rest, decided once per
 * process from what the machine offers, and said in plain words to the app and the CLI:
 *  - an OS keyring (Keychain, DPAPI, GNOME Keyring/KWallet through Electron's safeStorage): the key
 *    is sealed by it in `install-key.sealed`; a key kept in a file before is moved into it;
 *  - no keyring (Linux without GNOME Keyring or KWallet, where safeStorage falls back to a
 *    hard-coded password that protects nothing), the browser host (`packscope serve`) and the CLI:
 *    the key is a PKCS#8 file with mode 0600, readable by this user account only, and the app and
 *    the CLI say what that means and how to get a keyring;
 *  - a key sealed earlier while the keyring is not reachable now: signing is refused with the way
 *    out, never a second key beside it (packages would suddenly come from another installation).
 * Plain Node: the Electron shell only asks safeStorage and passes the answers in (electron/main).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { KeyProtection } from '../../../shared/api/contract.js';
import { FileKeyStore, ProtectedFileKeyStore, type InstallationKeyStore, type SecretProtector } from './keystore.js';

export type { KeyProtection };

/** What Electron's safeStorage says about the machine (null: no Electron here). */
export interface KeyringProbe {
  /** safeStorage.isEncryptionAvailable() */
  available: boolean;
  /** safeStorage.getSelectedStorageBackend() on Linux ('gnome_libsecret', 'kwallet5', 'basic_text' …); null elsewhere. */
  backend: string | null;
  platform: NodeJS.Platform;
}

/** Linux backends that are no keyring: 'basic_text' seals with a password every Chromium knows. */
const NO_KEYRING_BACKENDS = new Set(['basic_text', 'unknown']);

const BACKEND_NAMES: Record<string, string> = {
  gnome_libsecret: 'GNOME Keyring (Secret Service)',
  kwallet: 'KWallet',
  kwallet5: 'KWallet',
  kwallet6: 'KWallet',
};

/** The keyring's name for people, or null when the probe shows none that protects anything. */
export function usableKeyring(probe: KeyringProbe | null): string | null {
  if (!probe || !probe.available) return null;
  if (probe.platform === 'linux') {
    if (!probe.backend || NO_KEYRING_BACKENDS.has(probe.backend)) return null;
    return BACKEND_NAMES[probe.backend] ?? probe.backend;
  }
  return probe.platform === 'darwin' ? 'the macOS Keychain' : probe.platform === 'win32' ? 'Windows (DPAPI)' : 'the system keychain';
}

const FILE_MEANING =
  'It is not encrypted: anyone who can log in as you, or read your backups of this folder, could sign packages as this PackScope installation.';

function howToProtect(host: 'electron' | 'browser' | 'cli', platform: NodeJS.Platform | null): string {
  if (host !== 'electron') return 'Keep this folder private. The PackScope desktop app keeps its own key in the system keyring where one is available.';
  return platform === 'linux'
    ? 'To protect it, install a desktop keyring (gnome-keyring or KWallet), log out and back in, and start PackScope again: it then moves this key into the keyring, so it stays the same key.'
    : 'To protect it, unlock or set up the system keychain and start PackScope again: it then moves this key into the keychain, so it stays the same key.';
}

export interface KeyStoreChoice {
  store: InstallationKeyStore;
  protection: KeyProtection;
}

/**
 * Chooses the installation key store. `host`: who asks ('electron': the desktop app, with `probe`
 * and `protector` from safeStorage; 'browser': packscope serve; 'cli').
 */
export function chooseInstallationKeyStore(o: {
  dir: string;
  host: 'electron' | 'browser' | 'cli';
  probe?: KeyringProbe | null;
  protector?: SecretProtector | null;
}): KeyStoreChoice {
  const probe = o.host === 'electron' ? (o.probe ?? null) : null;
  const keyring = o.protector ? usableKeyring(probe) : null;
  const sealed = join(o.dir, 'install-key.sealed');
  const plain = join(o.dir, 'install-key.pem');
  if (keyring && o.protector) {
    return {
      // A key kept in a file before the keyring was there is sealed into it and the file removed.
      store: new ProtectedFileKeyStore(o.protector, o.dir, { adopt: plain }),
      protection: {
        kind: 'os-keyring',
        location: sealed,
        keyring,
        headline: `The key that signs your packages is protected by ${keyring}.`,
        meaning: 'It is stored encrypted; only your user session with the keyring unlocked can use it.',
      },
    };
  }
  if (o.host === 'electron' && existsSync(sealed)) {
    const headline = 'The key that signs your packages is sealed by your keyring, which is not available now.';
    const meaning =
      probe?.platform === 'linux'
        ? 'Start your desktop keyring (GNOME Keyring or KWallet; logging in to the desktop session usually does), then try again. PackScope does not make a second key, so your packages keep coming from one installation.'
        : 'Unlock the system keychain, then try again. PackScope does not make a second key, so your packages keep coming from one installation.';
    return {
      store: {
        location: sealed,
        load: () => Promise.reject(new PackscopeError('REFUSED', `${headline} ${meaning}`)),
      },
      protection: { kind: 'keyring-unavailable', location: sealed, keyring: null, headline, meaning },
    };
  }
  const why =
    o.host === 'browser'
      ? 'PackScope in the browser (packscope serve) cannot use a desktop keyring'
      : o.host === 'cli'
        ? 'The command line does not use a desktop keyring'
        : probe?.platform === 'linux'
          ? 'No desktop keyring (GNOME Keyring or KWallet) is running'
          : 'The system keychain is not available';
  return {
    store: new FileKeyStore(o.dir),
    protection: {
      kind: 'file',
      location: plain,
      keyring: null,
      headline: `${why}, so the key that signs your packages is kept in a file only your user account can read (mode 0600).`,
      meaning: `${FILE_MEANING} ${howToProtect(o.host, probe?.platform ?? null)}`,
    },
  };
}
