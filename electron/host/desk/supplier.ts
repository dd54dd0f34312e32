/**
 * The supplier file of a claims desk (JSON): who the supplier is, what verification trusts (its
 * manufacturing roots, its warranty policy and policy store, its claim-ticket key, known
 * installation keys: the same inputs `package verify` takes), the key decisions are signed with,
 * and the service levels (shared/desk/sla.ts). Paths are relative to the file. Loaded once per
 * command; a worker process gets the loaded trust, never the paths.
 */
import { sign as nodeSign } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { SlaSchema, type Sla } from '../../../shared/desk/sla.js';
import type { DecisionSigner } from '../../../shared/desk/decision.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { formatPath } from '../../../shared/util/json-path.js';
import { parsePolicy } from '../../../shared/warranty/policy.js';
import { readInput } from '../evidence/files.js';
import { parseEd25519Keys } from '../evidence/install-keys.js';
import { readRootPem } from '../evidence/package-file.js';
import { loadSupplierPrivateKey, rawEd25519PublicKey } from '../evidence/supplier-key.js';

export const SupplierFileSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** Manufacturing root public keys (PEM), one per board family or CA generation. */
  roots: z.array(z.string().min(1)).min(1).max(50),
  policy: z.string().min(1).optional(),
  policyStore: z.string().min(1).optional(),
  ticketKey: z.string().min(1).optional(),
  installKeys: z.array(z.string().min(1)).max(1000).optional(),
  /** The supplier's Ed25519 private key (PKCS#8 PEM) that signs decisions; often the ticket key. */
  signingKey: z.string().min(1).optional(),
  sla: SlaSchema,
});

/** What verification needs, as plain data (it crosses into worker processes). */
export interface DeskTrust {
  roots: string[];
  /** The supplier's policy file text (null: the store's copy of the package's policy, else the default). */
  policyText: string | null;
  policyStoreDir: string | null;
  ticketKey: Uint8Array | null;
  installKeys: Uint8Array[];
}

export interface Supplier {
  name: string;
  path: string;
  trust: DeskTrust;
  sla: Sla;
  signingKeyPath: string | null;
}

const MAX_SUPPLIER_FILE = 1 << 20;

function readKeys(path: string, what: string): Uint8Array[] {
  return parseEd25519Keys(utf8Decode(readInput(path, what, MAX_SUPPLIER_FILE)), `${what} ${path}`).map((k) => k.publicKey);
}

export function loadSupplier(path: string): Supplier {
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(readInput(path, 'supplier file', MAX_SUPPLIER_FILE)));
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
    throw new DecodeError(`supplier file ${path} is not JSON: ${(e as Error).message}`);
  }
  const r = SupplierFileSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`);
    throw new PackscopeError('DECODE', `supplier file ${path} is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`, problems);
  }
  const s = r.data;
  const at = (p: string) => resolve(dirname(resolve(path)), p);
  const policyText = s.policy ? utf8Decode(readInput(at(s.policy), 'policy', MAX_SUPPLIER_FILE)) : null;
  // Refuse a bad policy here, with its own message, rather than once per package.
  if (policyText !== null) parsePolicy(policyText);
  return {
    name: s.name,
    path: resolve(path),
    sla: s.sla,
    signingKeyPath: s.signingKey ? at(s.signingKey) : null,
    trust: {
      roots: s.roots.map((p) => readRootPem(at(p))),
      policyText,
      policyStoreDir: s.policyStore ? at(s.policyStore) : null,
      ticketKey: s.ticketKey ? (readKeys(at(s.ticketKey), 'ticket key')[0] ?? null) : null,
      installKeys: (s.installKeys ?? []).flatMap((p) => readKeys(at(p), 'installation key')),
    },
  };
}

/** The decision signer from the supplier's private key file (Ed25519, PKCS#8 PEM, unencrypted). */
export function loadDecisionSigner(path: string): DecisionSigner {
  const key = loadSupplierPrivateKey(path, 'decisions', ' (it is a public key; signingKey names the private key)');
  return { publicKey: rawEd25519PublicKey(key), sign: (m) => new Uint8Array(nodeSign(null, m, key)) };
}
