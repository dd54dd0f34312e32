/**
 * The installation keys a supplier knows: the customers' PackScope installations whose packages it
 * can attribute (a fingerprint read over the phone, an earlier package from the same customer).
 * A package signed by another key then fails verification ("the package may come from anyone");
 * with no key known at all, the signature proves integrity, not origin.
 *
 * The list is an OpenSSH allowed_signers file, `known-install-keys` in the config directory
 * (`$PACKSCOPE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/packscope`, else `~/.config/packscope`), one
 * key a line with the supplier's label after it:
 *
 *   packscope-install namespaces="packscope-diagnosis" ssh-ed25519 AAAAC3Nz… Erika's workshop PC
 *
 * so the same file serves `ssh-keygen -Y verify -f known-install-keys -I packscope-install -n
 * packscope-diagnosis` and `packscope package verify --allowed-signers`. Lines the app did not
 * write (comments, hand edits) are kept as they are. Every change is written under a temporary
 * name and renamed into place, so a reader never sees half a list.
 */
import { basename, dirname, join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { PackscopeError } from '../../../shared/errors.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import { INSTALL_IDENTITY } from '../../../shared/evidence/package.js';
import { SSHSIG_NAMESPACE } from '../../../shared/codec/sshsig.js';
import { bytesEqual } from '../../../shared/util/bytes.js';
import { configDir } from './keystore.js';
import { fsError, writeFileAtomic } from '../util/files.js';

export const INSTALL_KEYS_FILE = 'known-install-keys';
/** Longest label kept (characters). */
export const MAX_LABEL = 100;
/** Largest key file or list read. */
const MAX_KEY_TEXT = 1 << 20;

export function defaultInstallKeysPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), INSTALL_KEYS_FILE);
}

export interface KnownInstallKey {
  /** OpenSSH fingerprint, SHA256:… */
  fingerprint: string;
  label: string;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

/** One label line: no control characters, single spaces, at most MAX_LABEL characters. */
export function cleanLabel(label: string): string {
  return label
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_LABEL)
    .trim();
}

const SSH_KEY = /(?:^|\s)ssh-ed25519\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/;

/**
 * Ed25519 public keys in any form a supplier is handed: a PEM public key (keys/install.pub.pem),
 * an OpenSSH line (keys/install.pub), or allowed_signers lines (keys/allowed_signers, this list).
 * Each with the comment that followed it (empty for PEM). Throws DECODE when there is none, or
 * when a line that is not a comment holds something else.
 */
export function parseEd25519Keys(text: string, what: string): { publicKey: Uint8Array; comment: string }[] {
  if (text.includes('-----BEGIN')) {
    try {
      return [{ publicKey: ed25519PublicKeyFromPem(text), comment: '' }];
    } catch (e) {
      throw new PackscopeError('DECODE', `${what} is not an Ed25519 public key: ${(e as Error).message}`);
    }
  }
  const keys: { publicKey: Uint8Array; comment: string }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = SSH_KEY.exec(line);
    const where = lines.length > 1 ? `${what}, line ${i + 1}` : what;
    if (!m) throw new PackscopeError('DECODE', `${where} holds no ssh-ed25519 public key (installation keys are Ed25519)`);
    try {
      keys.push({ publicKey: ed25519FromOpenSsh(`ssh-ed25519 ${m[1]}`), comment: (m[2] ?? '').trim() });
    } catch (e) {
      throw new PackscopeError('DECODE', `${where}: ${(e as Error).message}`);
    }
  });
  if (!keys.length) throw new PackscopeError('DECODE', `${what} holds no Ed25519 public key (PEM, OpenSSH line or allowed_signers)`);
  return keys;
}

/** The one allowed_signers line for a known key. */
export function allowedSignersLine(publicKey: Uint8Array, label: string): string {
  const l = cleanLabel(label);
  return `${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(publicKey)}${l ? ' ' + l : ''}`;
}

interface Line {
  text: string;
  key: KnownInstallKey | null;
}

export class InstallKeyStore {
  constructor(readonly path: string = defaultInstallKeysPath()) {}

  /** Every known key, in the file's order. */
  list(): KnownInstallKey[] {
    return this.read().flatMap((l) => (l.key ? [l.key] : []));
  }

  /** The raw keys, for verification (empty: none pinned). */
  publicKeys(): Uint8Array[] {
    return this.list().map((k) => k.publicKey);
  }

  /**
   * Adds a key, or gives a known one its new label. Returns the entry and whether the key is new.
   * An empty label becomes "installation key SHA256:…(first 12)".
   */
  add(publicKey: Uint8Array, label: string): KnownInstallKey & { added: boolean } {
    const fingerprint = sshFingerprint(publicKey);
    const entry: KnownInstallKey = { fingerprint, label: cleanLabel(label) || `installation key ${fingerprint.slice(0, 19)}…`, publicKey };
    const lines = this.read();
    const same = (l: Line) => l.key !== null && bytesEqual(l.key.publicKey, publicKey);
    const at = lines.findIndex(same);
    // The key's line is written where it was (a key listed twice by hand keeps one line).
    const kept = lines.filter((l) => !same(l));
    kept.splice(at < 0 ? kept.length : at, 0, { text: allowedSignersLine(publicKey, entry.label), key: entry });
    this.write(kept);
    return { ...entry, added: at < 0 };
  }

  /**
   * Adds every key in `text` (PEM, OpenSSH line or allowed_signers lines). The label defaults to
   * the key's own comment (unless it is PackScope's generic identity), then to `fallback`.
   */
  addText(text: string, label: string | undefined, what: string, fallback = ''): (KnownInstallKey & { added: boolean })[] {
    if (text.length > MAX_KEY_TEXT) throw new PackscopeError('REFUSED', `${what} is larger than ${MAX_KEY_TEXT} bytes`);
    const keys = parseEd25519Keys(text, what);
    return keys.map((k) => {
      const own = k.comment && !k.comment.startsWith(INSTALL_IDENTITY) ? k.comment : '';
      return this.add(k.publicKey, cleanLabel(label ?? '') || cleanLabel(own) || cleanLabel(fallback));
    });
  }

  /** Adds the keys in a key file; the file's name is the label when none is given and the key has no comment. */
  addFile(path: string, label?: string): (KnownInstallKey & { added: boolean })[] {
    let text: string;
    try {
      const b = readFileSync(path);
      if (b.length > MAX_KEY_TEXT) throw new PackscopeError('REFUSED', `key file ${path} is larger than ${MAX_KEY_TEXT} bytes`);
      text = b.toString('utf8');
    } catch (e) {
      if (e instanceof PackscopeError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `key file ${path}: no such file`);
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new PackscopeError('USAGE', `${path} is a folder, not a key file`);
      throw fsError(e, `cannot read key file ${path}`);
    }
    return this.addText(text, label, `key file ${basename(path)}`, basename(path));
  }

  /** Forgets the key with this fingerprint; false when it was not known. */
  remove(fingerprint: string): boolean {
    const lines = this.read();
    const kept = lines.filter((l) => l.key?.fingerprint !== fingerprint);
    if (kept.length === lines.length) return false;
    this.write(kept);
    return true;
  }

  private read(): Line[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(e, `cannot read ${this.path}`);
    }
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.map((t, i) => {
      const s = t.trim();
      if (!s || s.startsWith('#')) return { text: t, key: null };
      const m = SSH_KEY.exec(s);
      let publicKey: Uint8Array | null = null;
      try {
        publicKey = m ? ed25519FromOpenSsh(`ssh-ed25519 ${m[1]}`) : null;
      } catch {
        publicKey = null;
      }
      if (!publicKey) {
        throw new PackscopeError(
          'DECODE',
          `${this.path}, line ${i + 1}, holds no ssh-ed25519 key: correct or delete that line (it is an OpenSSH allowed_signers file)`,
        );
      }
      return { text: t, key: { fingerprint: sshFingerprint(publicKey), label: cleanLabel(m![2] ?? ''), publicKey } };
    });
  }

  private write(lines: Line[]): void {
    const dir = dirname(this.path);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fsError(e, `cannot create ${dir}`);
    }
    writeFileAtomic(this.path, lines.length ? lines.map((l) => l.text).join('\n') + '\n' : '');
  }
}
