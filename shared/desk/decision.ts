/**
 * A supplier's decision on a claim, as the customer receives it: decision.json (canonical JSON)
 * signed with the supplier's Ed25519 key twice, raw (`openssl pkeyutl -verify -rawin`) and as an
 * SSH signature (`ssh-keygen -Y verify`), with the public key, an allowed_signers line and a
 * VERIFY.txt that lists exactly the commands to run. The decision names the package it decides by
 * SHA-256, so the customer can tie it to the file they sent (`sha256sum`).
 */
import { z } from 'zod';
import { canonicalJson } from '../codec/canonical-json.js';
import { ed25519OpenSsh, ed25519PublicKeyPem, sshFingerprint } from '../codec/ed25519-keys.js';
import { sshsigSign } from '../codec/sshsig.js';
import { utf8Encode } from '../util/bytes.js';

export const DECISION_SCHEMA_ID = 'packscope-decision/1';
export const DECISION_NAMESPACE = 'packscope-decision';
export const SUPPLIER_IDENTITY = 'packscope-supplier';

export const DECISION_KINDS = ['covered', 'denied', 'return-requested', 'more-info-requested'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];
/** Decisions that close a claim (stop its resolution clock). The others answer it and keep it open. */
export const FINAL_DECISIONS: readonly DecisionKind[] = ['covered', 'denied'];

export const DECISION_FILES = {
  decision: 'decision.json',
  sig: 'decision.json.sig',
  sshsig: 'decision.json.sshsig',
  pubPem: 'keys/supplier.pub.pem',
  pubSsh: 'keys/supplier.pub',
  allowedSigners: 'keys/allowed_signers',
  verify: 'VERIFY.txt',
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** What the desk enters: the kind, the clause (required to deny) and a note (required to ask for more). */
export const DecisionInputSchema = z
  .strictObject({
    kind: z.enum(DECISION_KINDS),
    clause: z.string().min(1).max(64).nullable().default(null),
    note: z.string().max(4000).default(''),
  })
  .refine((d) => d.kind !== 'denied' || d.clause !== null, { message: 'a denial names the policy clause it rests on', path: ['clause'] })
  .refine((d) => d.kind !== 'more-info-requested' || d.note.trim() !== '', { message: 'say what information is needed (note)', path: ['note'] });
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

export const DecisionSchema = z.strictObject({
  schema: z.literal(DECISION_SCHEMA_ID),
  claimId: z.string().min(1).max(100),
  sequence: z.number().int().min(1),
  kind: z.enum(DECISION_KINDS),
  clause: z.string().max(64).nullable(),
  note: z.string().max(4000),
  decidedAt: z.iso.datetime(),
  package: z.strictObject({ sha256: hex64, serial: z.string().max(100), model: z.string().max(100) }),
  /** The verifier's verdict the desk saw (null: the package failed verification). */
  verdict: z.string().max(20).nullable(),
  supplier: z.strictObject({ name: z.string().max(200), keyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/) }),
});
export type Decision = z.infer<typeof DecisionSchema>;

export function decisionCommands(): string[] {
  const f = DECISION_FILES;
  return [
    `ssh-keygen -l -f ${f.pubSsh}`,
    `openssl pkeyutl -verify -pubin -inkey ${f.pubPem} -rawin -in ${f.decision} -sigfile ${f.sig}`,
    `ssh-keygen -Y verify -f ${f.allowedSigners} -I ${SUPPLIER_IDENTITY} -n ${DECISION_NAMESPACE} -s ${f.sshsig} < ${f.decision}`,
  ];
}

export function decisionVerifyText(d: Decision): string {
  const [fp, openssl, ssh] = decisionCommands();
  return [
    `How to check this decision on claim ${d.claimId} with stock tools`,
    '================================================================',
    '',
    'Unpack this file (it is a ZIP file) and run the commands below inside the unpacked',
    'directory. Lines starting with "$ " are commands: type them without the "$ ".',
    '',
    "1. The key is your supplier's. It must print the fingerprint on your claim ticket",
    `   (${d.supplier.keyFingerprint}):`,
    `$ ${fp}`,
    '',
    '2. The supplier signed decision.json (OpenSSL 3, raw Ed25519).',
    '   It must print "Signature Verified Successfully":',
    `$ ${openssl}`,
    '',
    '3. The same signature in OpenSSH form (OpenSSH 8.1 or later). It must print',
    `   'Good "${DECISION_NAMESPACE}" signature for ${SUPPLIER_IDENTITY}':`,
    `$ ${ssh}`,
    '',
    '4. The decision is about the package you sent: sha256sum YOUR-PACKAGE.psdiag must print',
    `   ${d.package.sha256}`,
    '',
    'What this proves',
    '----------------',
    'Steps 1-3 prove that the holder of the key with that fingerprint signed decision.json and that',
    'nothing in it changed since. The key inside this file proves nothing by itself: step 1 ties it',
    'to the key that signed your claim ticket (or compare keys/supplier.pub.pem with the copy your',
    'supplier gave you). decision.json says what was decided: the kind, the policy clause of a',
    'denial, the note, the date, and the SHA-256 of the package it rests on.',
    '',
  ].join('\n');
}

export interface DecisionSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Every file of a decision, signed. */
export async function decisionFiles(d: Decision, signer: DecisionSigner): Promise<Map<string, Uint8Array>> {
  const parsed = DecisionSchema.parse(d);
  if (parsed.supplier.keyFingerprint !== sshFingerprint(signer.publicKey)) throw new Error('decision names a different supplier key than the signer');
  const body = utf8Encode(canonicalJson(parsed) + '\n');
  const f = DECISION_FILES;
  const files = new Map<string, Uint8Array>();
  files.set(f.decision, body);
  files.set(f.sig, await signer.sign(body));
  files.set(f.sshsig, utf8Encode(await sshsigSign(body, signer.publicKey, (m) => signer.sign(m), DECISION_NAMESPACE)));
  files.set(f.pubPem, utf8Encode(ed25519PublicKeyPem(signer.publicKey)));
  files.set(f.pubSsh, utf8Encode(ed25519OpenSsh(signer.publicKey, SUPPLIER_IDENTITY) + '\n'));
  files.set(f.allowedSigners, utf8Encode(`${SUPPLIER_IDENTITY} namespaces="${DECISION_NAMESPACE}" ${ed25519OpenSsh(signer.publicKey)}\n`));
  files.set(f.verify, utf8Encode(decisionVerifyText(parsed)));
  return files;
}
