/**
 * The policy store: the warranty policies this installation knows, one file per policy named by
 * its full SHA-256, `<sha256>.json`. The file holds the policy's compact canonical JSON, exactly
 * the bytes policyHash() hashes, so `sha256sum` on it prints its name. A policy is identified by
 * that hash; its `id` and optional `version` are the supplier's names for it. The store keeps
 * those names honest: the same id and version (or the same id, both without a version) must
 * always mean the same content, so a changed policy needs a new version.
 *
 * Default directory: `policies` in the config directory (`$PACKSCOPE_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/packscope`, else `~/.config/packscope`). Files are written under a temporary
 * name and renamed into place, so a reader never sees half a policy.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { parsePolicy, policyHash, type PolicyProblem, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { configDir } from './keystore.js';
import { fsError, writeFileAtomic } from '../util/files.js';

const HASH_FILE = /^([0-9a-f]{64})\.json$/;

/** `<config dir>/policies`; the config dir is found as for the installation key. */
export function defaultPolicyDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'policies');
}

export interface StoredPolicy {
  /** Full SHA-256 of the policy's canonical JSON: its identity, and the file's name. */
  sha256: string;
  id: string;
  /** null: the policy has no version. */
  version: number | null;
  title: string;
  policy: WarrantyPolicy;
}

function toEntry(policy: WarrantyPolicy, sha256 = policyHash(policy)): StoredPolicy {
  return { sha256, id: policy.id, version: policy.version ?? null, title: policy.title, policy };
}

function named(p: { id: string; version: number | null }): string {
  return p.version === null ? `policy "${p.id}" (no version)` : `policy "${p.id}" version ${p.version}`;
}

export class PolicyStore {
  constructor(readonly dir: string = defaultPolicyDir()) {}

  /** Every stored policy, by id, then version (unversioned first), then hash. */
  list(): StoredPolicy[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(e, this.dir);
    }
    const out: StoredPolicy[] = [];
    for (const name of names) {
      const m = HASH_FILE.exec(name);
      const p = m ? this.load(m[1]!) : null;
      if (p) out.push(p);
    }
    return out.sort(
      (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.version ?? 0) - (b.version ?? 0) || (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0),
    );
  }

  /** The policy with this SHA-256 (64 hex digits, any case), or null. */
  get(sha256: string): WarrantyPolicy | null {
    return this.entry(sha256)?.policy ?? null;
  }

  /** The stored entry with this SHA-256 (64 hex digits, any case), or null. */
  entry(sha256: string): StoredPolicy | null {
    const h = sha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(h)) return null;
    return this.load(h);
  }

  /** Every stored version of the policy with this id, in list() order. */
  byId(id: string): StoredPolicy[] {
    return this.list().filter((p) => p.id === id);
  }

  /**
   * Why `policy` may not join the store: another stored policy has the same id and the same
   * version (or both have none) but different content. Empty when it may (including when it is
   * already stored).
   */
  check(policy: WarrantyPolicy): PolicyProblem[] {
    const mine = toEntry(policy);
    const problems: PolicyProblem[] = [];
    for (const other of this.byId(policy.id)) {
      if (other.sha256 === mine.sha256 || other.version !== mine.version) continue;
      problems.push({
        path: mine.version === null ? 'id' : 'version',
        message:
          `${named(mine)} is already stored with different content (sha256 ${other.sha256}); this one is sha256 ${mine.sha256}. ` +
          'A changed policy needs a new version.',
      });
    }
    return problems;
  }

  /**
   * Stores `policy`. Adding a policy that is already stored changes nothing (`added: false`);
   * reusing an id and version for different content is refused (PackscopeError 'REFUSED').
   */
  add(policy: WarrantyPolicy): StoredPolicy & { added: boolean } {
    const e = toEntry(policy);
    if (this.entry(e.sha256)) return { ...e, added: false };
    const problems = this.check(policy);
    if (problems.length) throw new PackscopeError('REFUSED', problems.map((p) => p.message).join('\n'), problems);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw fsError(err, `cannot create ${this.dir}`);
    }
    const path = join(this.dir, `${e.sha256}.json`);
    // Compact canonical JSON: exactly the bytes policyHash() hashes, so `sha256sum FILE` gives its name.
    writeFileAtomic(path, canonicalJson(policy, 0));
    return { ...e, added: true };
  }

  /** Reads and checks one stored file: it must be a valid policy whose hash is its name (null: no such file). */
  private load(sha256: string): StoredPolicy | null {
    const path = join(this.dir, `${sha256}.json`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      // Absent (or removed since the directory was listed).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fsError(e, path);
    }
    let policy: WarrantyPolicy;
    try {
      policy = parsePolicy(bytes);
    } catch (e) {
      throw new PackscopeError('DECODE', `${path} is not a valid policy: ${(e as Error).message}`);
    }
    const actual = policyHash(policy);
    if (actual !== sha256) throw new PackscopeError('DECODE', `${path} holds a policy whose sha256 is ${actual}, not the one its name says`);
    return toEntry(policy, actual);
  }
}
