/**
 * The installation key: an Ed25519 key this PackScope installation signs diagnosis packages
 * with. Created on first use. The CLI keeps it as a PKCS#8 PEM file with mode 0600 in its config
 * directory; the desktop app keeps the same bytes encrypted by the OS keychain (Electron
 * safeStorage) through `ProtectedFileKeyStore` and a `SecretProtector` it implements.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';

export interface InstallationKey {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Pure Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Where installation keys come from; the desktop app supplies its own keychain-backed store. */
export interface InstallationKeyStore {
  /** Loads the key, creating it on first use. */
  load(): Promise<InstallationKey>;
  /** Where the key lives, for messages. */
  readonly location: string;
}

/** Encrypts/decrypts secrets with an OS facility (Electron: safeStorage.encryptString/decryptString). */
export interface SecretProtector {
  encrypt(plain: Uint8Array): Promise<Uint8Array>;
  decrypt(sealed: Uint8Array): Promise<Uint8Array>;
}

/** `$PACKSCOPE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/packscope`, else `~/.config/packscope`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PACKSCOPE_CONFIG_DIR) return env.PACKSCOPE_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'packscope');
  return join(homedir(), '.config', 'packscope');
}

function keyFromPrivate(priv: KeyObject): InstallationKey {
  if (priv.asymmetricKeyType !== 'ed25519') throw new PackscopeError('REFUSED', 'the installation key is not an Ed25519 key');
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  return {
    publicKey,
    sign: async (message) => new Uint8Array(cryptoSign(null, message, priv)),
  };
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new PackscopeError('IO', `cannot create ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Publishes `bytes` at `path` only if nothing is there yet: written to a private temp file, then
 * hard-linked into place (atomic, fails if another process won the race). Returns false if the
 * file already existed.
 */
function publishOnce(path: string, bytes: Uint8Array): boolean {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new PackscopeError('IO', `cannot write ${path}: ${(e as Error).message}`);
  } finally {
    unlinkSync(tmp);
  }
}

function readPrivate(path: string): Buffer | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PackscopeError('IO', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new PackscopeError('REFUSED', `${path} is not a regular file`);
  // Like ssh, refuse a private key others can read: it may already be compromised.
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new PackscopeError('REFUSED', `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 '${path}'`);
  }
  return readFileSync(path);
}

/** The CLI's store: `install-key.pem` (PKCS#8, mode 0600) in the config directory. */
export class FileKeyStore implements InstallationKeyStore {
  readonly location: string;
  constructor(readonly dir: string = configDir()) {
    this.location = join(dir, 'install-key.pem');
  }

  async load(): Promise<InstallationKey> {
    let pem = readPrivate(this.location);
    if (pem === null) {
      ensureDir(this.dir);
      const { privateKey } = generateKeyPairSync('ed25519');
      publishOnce(this.location, Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string));
      chmodSync(this.location, 0o600);
      pem = readPrivate(this.location)!;
    }
    try {
      return keyFromPrivate(createPrivateKey({ key: pem, format: 'pem' }));
    } catch (e) {
      if (e instanceof PackscopeError) throw e;
      throw new PackscopeError('DECODE', `${this.location} is not a readable private key: ${(e as Error).message}`);
    }
  }
}

/**
 * The desktop app's store: the PKCS#8 key encrypted by a SecretProtector (the OS keychain), in
 * `install-key.sealed`. The plain key never touches the disk.
 */
export class ProtectedFileKeyStore implements InstallationKeyStore {
  readonly location: string;
  /**
   * `adopt`: a plain key file (install-key.pem, kept while no keyring was there) that becomes the
   * sealed key on first load and is then removed, so the installation keeps its one key.
   */
  constructor(
    private readonly protector: SecretProtector,
    readonly dir: string = configDir(),
    private readonly options: { adopt?: string } = {},
  ) {
    this.location = join(dir, 'install-key.sealed');
  }

  async load(): Promise<InstallationKey> {
    let sealed = readPrivate(this.location);
    if (sealed === null) {
      ensureDir(this.dir);
      const adopted = this.options.adopt ? readPrivate(this.options.adopt) : null;
      const key = adopted ? createPrivateKey({ key: adopted, format: 'pem' }) : generateKeyPairSync('ed25519').privateKey;
      const der = key.export({ format: 'der', type: 'pkcs8' });
      publishOnce(this.location, await this.protector.encrypt(new Uint8Array(der)));
      sealed = readPrivate(this.location)!;
      // Sealed and readable again before the plain copy goes.
      if (adopted) {
        await this.protector.decrypt(new Uint8Array(sealed));
        unlinkSync(this.options.adopt!);
      }
    }
    let der: Uint8Array;
    try {
      der = await this.protector.decrypt(new Uint8Array(sealed));
    } catch (e) {
      throw new PackscopeError('REFUSED', `the OS keychain cannot unseal ${this.location}: ${(e as Error).message}`);
    }
    try {
      return keyFromPrivate(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }));
    } catch (e) {
      if (e instanceof PackscopeError) throw e;
      throw new PackscopeError('DECODE', `${this.location} does not hold a private key: ${(e as Error).message}`);
    }
  }
}
