/**
 * What this installation trusts for release bundles and what it has seen, in the config
 * directory (`$PACKSCOPE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/packscope`, else ~/.config/packscope):
 *   bundle-trust.json     root keys (SPKI hex, with a name) and revoked key ids;
 *   bundle-releases.json  the last release sequence this installation applied, and per board
 *                         serial the last one that board accepted.
 * Root keys certify release keys, so a supplier rotates release keys without touching this file;
 * revoking a key id refuses every bundle it signed or certified. Both files are written under a
 * temporary name and renamed into place.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { keyId, type BundleTrust, type SeenRelease } from '../../../shared/bundle/bundle.js';
import { PackscopeError } from '../../../shared/errors.js';
import { parseSpki, type PublicKey } from '../../../shared/image/firmware-keys.js';
import { fromHex, toHex } from '../../../shared/util/bytes.js';
import { configDir } from '../evidence/keystore.js';
import { fsError, writeFileAtomic } from '../util/files.js';

const TrustFileSchema = z
  .object({
    roots: z.array(z.object({ name: z.string(), publicKey: z.string().regex(/^[0-9a-f]+$/) }).strict()),
    revoked: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  })
  .strict();
type TrustFile = z.infer<typeof TrustFileSchema>;

const SeenSchema = z.object({ sequence: z.number().int().min(1), metadataSha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict();
const HistorySchema = z.object({ installation: SeenSchema.nullable(), boards: z.record(z.string(), SeenSchema) }).strict();
type History = z.infer<typeof HistorySchema>;

function readJson<T>(file: string, schema: z.ZodType<T>, empty: T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw fsError(e, file);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PackscopeError('DECODE', `${file} is not JSON`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) throw new PackscopeError('DECODE', `${file} does not match its schema: ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}

function writeJson(file: string, dir: string, doc: unknown): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, dir);
  }
  writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
}

export class BundleTrustStore {
  readonly file: string;
  constructor(readonly dir: string = configDir()) {
    this.file = join(dir, 'bundle-trust.json');
  }

  private read(): TrustFile {
    return readJson(this.file, TrustFileSchema, { roots: [], revoked: [] });
  }

  private write(t: TrustFile): void {
    writeJson(this.file, this.dir, t);
  }

  /** The trust a bundle is checked against. */
  trust(): BundleTrust {
    const t = this.read();
    return { roots: t.roots.map((r) => parseSpki(fromHex(r.publicKey))), revoked: new Set(t.revoked) };
  }

  list(): { roots: Array<{ name: string; keyId: string }>; revoked: string[] } {
    const t = this.read();
    return { roots: t.roots.map((r) => ({ name: r.name, keyId: keyId(parseSpki(fromHex(r.publicKey))) })), revoked: t.revoked };
  }

  addRoot(key: PublicKey, name: string): string {
    const t = this.read();
    const id = keyId(key);
    if (!t.roots.some((r) => keyId(parseSpki(fromHex(r.publicKey))) === id)) t.roots.push({ name, publicKey: toHex(key.spki) });
    this.write(t);
    return id;
  }

  revoke(id: string): void {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new PackscopeError('USAGE', `a key id is 64 hex digits (SHA-256 of the key), got '${id}'`);
    const t = this.read();
    if (!t.revoked.includes(id)) t.revoked.push(id);
    this.write(t);
  }
}

export class ReleaseHistory {
  readonly file: string;
  constructor(readonly dir: string = configDir()) {
    this.file = join(dir, 'bundle-releases.json');
  }

  private read(): History {
    return readJson(this.file, HistorySchema, { installation: null, boards: {} });
  }

  seen(boardSerial: string): { installation: SeenRelease | null; board: SeenRelease | null } {
    const h = this.read();
    return { installation: h.installation, board: h.boards[boardSerial] ?? null };
  }

  /** Records an applied release (never lowers what was seen). */
  record(boardSerial: string, r: SeenRelease): void {
    const h = this.read();
    if (!h.installation || r.sequence >= h.installation.sequence) h.installation = r;
    const b = h.boards[boardSerial];
    if (!b || r.sequence >= b.sequence) h.boards[boardSerial] = r;
    writeJson(this.file, this.dir, h);
  }
}
