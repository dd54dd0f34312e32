/**
 * Claim tickets: freshness that comes from the supplier. Before a customer makes a diagnosis
 * package, the supplier issues a ticket for the pack's serial: a random 10-byte nonce with a claim
 * id and an expiry, signed with the supplier's Ed25519 key. The customer gets the nonce as a short
 * code (read out over the phone) or as the `.psticket` file; the board seals its black-box
 * checkpoint over that nonce, so a package built on it cannot have been read out before the
 * supplier issued the ticket.
 *
 *   ticket      { schema: 'packscope-claim-ticket/1', claimId, serial, nonce (hex, 10 bytes),
 *                 issuedAt, expiresAt (ISO 8601 UTC, whole seconds) }
 *   signed      Ed25519 over UTF-8 'packscope-claim-ticket/1\n' ‖ canonicalJson(ticket)
 *   .psticket   canonicalJson({ ticket, signature: hex, key: OpenSSH fingerprint of the signing key })
 *   code        the nonce in Crockford base32, XXXX-XXXX-XXXX-XXXX, and a check character
 *               (value mod 37, Crockford's check symbols): XXXX-XXXX-XXXX-XXXX-C
 *
 * A ticket file is verified byte for byte: it must be exactly the canonical form of what it holds,
 * so any edit after signing, even to whitespace, fails verification.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { DecodeError, PackscopeError } from '../errors.js';
import { bytesEqual, fromHex, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { sshFingerprint } from '../codec/ed25519-keys.js';
import { formatPath } from '../util/json-path.js';

export const TICKET_SCHEMA = 'packscope-claim-ticket/1';
/** Domain separation: a ticket signature can never be taken for a signature over anything else. */
export const TICKET_SIGNING_PREFIX = 'packscope-claim-ticket/1\n';
export const TICKET_NONCE_BYTES = 10;
/** A ticket file is a few hundred bytes; anything much larger is not one. */
export const MAX_TICKET_FILE_BYTES = 4096;
/** Claim ids name the default ticket file, so they are file-name safe. */
export const CLAIM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const isoSeconds = z
  .string()
  .max(20)
  .regex(ISO_SECONDS, 'expected a UTC date-time in whole seconds, YYYY-MM-DDTHH:MM:SSZ')
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isFinite(t) && new Date(t).toISOString() === s.replace('Z', '.000Z');
  }, 'not a calendar date-time');

const TicketObjectSchema = z.strictObject({
  schema: z.literal(TICKET_SCHEMA, { error: () => `schema must be "${TICKET_SCHEMA}"` }),
  claimId: z.string().max(64).regex(CLAIM_ID_PATTERN, 'claim id: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  serial: z
    .string()
    .min(1, 'must not be empty')
    .max(100, 'at most 100 characters')
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.trim() === s, 'no control characters or surrounding spaces'),
  nonce: z.string().regex(new RegExp(`^[0-9a-f]{${2 * TICKET_NONCE_BYTES}}$`), `expected ${TICKET_NONCE_BYTES} bytes as lowercase hex`),
  issuedAt: isoSeconds,
  expiresAt: isoSeconds,
});

export const ClaimTicketSchema = TicketObjectSchema.refine((t) => Date.parse(t.expiresAt) > Date.parse(t.issuedAt), {
  message: 'expiresAt must be after issuedAt',
  path: ['expiresAt'],
});
export type ClaimTicket = z.infer<typeof TicketObjectSchema>;

export const TicketFileSchema = z.strictObject({
  ticket: ClaimTicketSchema,
  signature: z.string().regex(/^[0-9a-f]{128}$/, 'expected a 64-byte Ed25519 signature as lowercase hex'),
  key: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'expected an OpenSSH key fingerprint (SHA256:…)'),
});
export type TicketFile = z.infer<typeof TicketFileSchema>;

/** What the supplier chooses; schema and encodings are filled in by signTicket. */
export interface TicketFields {
  claimId: string;
  serial: string;
  /** TICKET_NONCE_BYTES random bytes. */
  nonce: Uint8Array;
  /** Dates are cut to whole seconds; strings must already be YYYY-MM-DDTHH:MM:SSZ. */
  issuedAt: Date | string;
  expiresAt: Date | string;
}

/** The supplier's Ed25519 key: raw 32-byte public key and a signer (an HSM, node:crypto, noble). */
export interface TicketSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

export interface TicketVerification {
  ok: boolean;
  problems: string[];
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`);
}

function isoOf(d: Date | string): string {
  if (typeof d === 'string') return d;
  if (Number.isNaN(d.getTime())) throw new PackscopeError('USAGE', 'ticket date is not a valid date');
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The bytes the supplier signs: the domain prefix, then the ticket's canonical JSON. */
export function ticketMessage(ticket: ClaimTicket): Uint8Array {
  return utf8Encode(TICKET_SIGNING_PREFIX + canonicalJson(ticket));
}

/** The default claim id: C-<yyyymmdd>-<6 hex> from the issue date and 3 random bytes. */
export function defaultClaimId(issuedAt: Date, random: Uint8Array): string {
  if (random.length < 3) throw new RangeError('defaultClaimId needs 3 random bytes');
  return `C-${issuedAt.toISOString().slice(0, 10).replace(/-/g, '')}-${toHex(random.subarray(0, 3))}`;
}

/** Builds and signs a ticket. Invalid fields are a usage error naming each of them. */
export async function signTicket(fields: TicketFields, signer: TicketSigner): Promise<TicketFile> {
  if (fields.nonce.length !== TICKET_NONCE_BYTES)
    throw new PackscopeError('USAGE', `a ticket nonce is ${TICKET_NONCE_BYTES} bytes, got ${fields.nonce.length}`);
  if (signer.publicKey.length !== 32) throw new PackscopeError('USAGE', 'the supplier key is not an Ed25519 key (32-byte public key)');
  const candidate = {
    schema: TICKET_SCHEMA,
    claimId: fields.claimId,
    serial: fields.serial,
    nonce: toHex(fields.nonce),
    issuedAt: isoOf(fields.issuedAt),
    expiresAt: isoOf(fields.expiresAt),
  };
  const r = ClaimTicketSchema.safeParse(candidate);
  if (!r.success) {
    const problems = problemsOf(r.error);
    throw new PackscopeError('USAGE', `ticket is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`, problems);
  }
  const ticket = r.data;
  const signature = await signer.sign(ticketMessage(ticket));
  if (signature.length !== 64) throw new PackscopeError('INTERNAL', 'the signer did not return a 64-byte Ed25519 signature');
  return { ticket, signature: toHex(signature), key: sshFingerprint(signer.publicKey) };
}

/** The `.psticket` form: canonical JSON of the whole file. */
export function encodeTicketFile(file: TicketFile): string {
  return canonicalJson({ ticket: file.ticket, signature: file.signature, key: file.key });
}

/**
 * Parses a `.psticket` strictly (unknown or missing fields, bad encodings and sizes are errors).
 * Throws only DecodeError. Does not check the signature: use verifyTicket.
 */
export function parseTicketFile(input: string | Uint8Array): TicketFile {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > MAX_TICKET_FILE_BYTES) throw new DecodeError(`not a claim ticket: ${size} bytes, more than the ${MAX_TICKET_FILE_BYTES} a ticket file can hold`);
  const text = typeof input === 'string' ? input : utf8Decode(input);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`not a claim ticket: not valid JSON (${(e as Error).message})`);
  }
  const r = TicketFileSchema.safeParse(json);
  if (!r.success) {
    const problems = problemsOf(r.error);
    throw new DecodeError(`not a valid claim ticket:\n${problems.map((p) => `  ${p}`).join('\n')}`, problems);
  }
  return r.data;
}

/**
 * Checks a ticket against the supplier's raw Ed25519 public key (32 bytes): form, key fingerprint,
 * signature and, when `now` is given, expiry. Given the file's bytes or text, the file must also be
 * exactly the canonical form, so no byte of it can change unnoticed. Never throws for bad input.
 */
export function verifyTicket(file: TicketFile | string | Uint8Array, supplierPublicKey: Uint8Array, now?: Date): TicketVerification {
  const problems: string[] = [];
  let parsed: TicketFile;
  if (typeof file === 'string' || file instanceof Uint8Array) {
    try {
      parsed = parseTicketFile(file);
    } catch (e) {
      return { ok: false, problems: [(e as Error).message] };
    }
    const canonical = encodeTicketFile(parsed);
    const same = typeof file === 'string' ? canonical === file : bytesEqual(utf8Encode(canonical), file);
    if (!same) problems.push('the ticket file is not in its canonical form: it was edited after it was written');
  } else {
    const r = TicketFileSchema.safeParse(file);
    if (!r.success) return { ok: false, problems: problemsOf(r.error) };
    parsed = r.data;
  }
  if (supplierPublicKey.length !== 32) {
    problems.push('the supplier key is not a 32-byte Ed25519 public key');
    return { ok: false, problems };
  }
  const expectedKey = sshFingerprint(supplierPublicKey);
  if (parsed.key !== expectedKey) problems.push(`the ticket names signing key ${parsed.key}, not the supplier key ${expectedKey}`);
  let valid = false;
  try {
    valid = ed25519.verify(fromHex(parsed.signature), ticketMessage(parsed.ticket), supplierPublicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) problems.push(`the signature does not verify with the supplier key ${expectedKey}`);
  if (now && now.getTime() >= Date.parse(parsed.ticket.expiresAt)) problems.push(`the ticket expired at ${parsed.ticket.expiresAt}`);
  return { ok: problems.length === 0, problems };
}

/** The ticket's nonce (the bytes the board seals its checkpoint over). */
export function ticketNonce(file: TicketFile): Uint8Array {
  const hex = file.ticket.nonce;
  if (!/^[0-9a-f]*$/.test(hex) || hex.length !== 2 * TICKET_NONCE_BYTES) throw new DecodeError('ticket nonce is not 10 bytes of hex');
  return fromHex(hex);
}

/** The short code of a ticket's nonce. */
export function ticketCode(file: TicketFile): string {
  return codeFromNonce(ticketNonce(file));
}

// ---------------------------------------------------------------------------------------------
// The short code

/** Crockford's base32 alphabet (no I, L, O, U), then the five extra check symbols for 32–36. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CHECK_ALPHABET = CODE_ALPHABET + '*~$=U';
const CODE_DIGITS = (TICKET_NONCE_BYTES * 8) / 5;
/** Longest input accepted before normalising (spaces and hyphens included). */
const MAX_CODE_INPUT = 64;

function checkValue(digits: readonly number[]): number {
  let r = 0;
  for (const d of digits) r = (r * 32 + d) % 37;
  return r;
}

/**
 * The nonce as the customer reads it: 16 Crockford base32 characters in groups of four, then a
 * check character, e.g. `7Z3K-0QMB-W1XH-D4RT-5`. Any one mistyped character and any swap of two
 * neighbours changes the value mod 37, so the check catches them.
 */
export function codeFromNonce(nonce: Uint8Array): string {
  if (nonce.length !== TICKET_NONCE_BYTES) throw new RangeError(`a claim code holds a ${TICKET_NONCE_BYTES}-byte nonce, got ${nonce.length} bytes`);
  const digits: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of nonce) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      digits.push((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  const body = digits.map((d) => CODE_ALPHABET[d]!).join('');
  return `${body.match(/.{4}/g)!.join('-')}-${CHECK_ALPHABET[checkValue(digits)]!}`;
}

/**
 * Reads a typed code back into the nonce. Case does not matter, O reads as 0, I and L as 1,
 * hyphens and spaces are ignored. Throws DecodeError naming the problem: a character that is not
 * in the code, the wrong length, or a check character that does not match (a typo).
 */
export function nonceFromCode(code: string): Uint8Array {
  if (typeof code !== 'string') throw new DecodeError('the claim code is not text');
  if (code.length > MAX_CODE_INPUT) throw new DecodeError(`the claim code is too long (${code.length} characters); it has the form XXXX-XXXX-XXXX-XXXX-C`);
  const typed = code.replace(/[\s-]/g, '');
  if (typed.length === 0) throw new DecodeError('the claim code is empty');
  const odd = /[^\x21-\x7e]/.exec(typed);
  if (odd)
    throw new DecodeError(
      `'${printableChar(odd[0])}' (character ${odd.index + 1} of the code) is not a claim code character (codes use the digits and the letters A–Z except U)`,
    );
  const clean = typed.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
  const digits: number[] = [];
  for (let i = 0; i < Math.min(clean.length, CODE_DIGITS + 1); i++) {
    const last = i === CODE_DIGITS;
    const v = (last ? CHECK_ALPHABET : CODE_ALPHABET).indexOf(clean[i]!);
    if (v < 0) {
      throw new DecodeError(
        `'${typed[i]!}' (character ${i + 1} of the code) is not a claim code character` +
          (last ? ' (the check character is a digit, a letter, or one of * ~ $ =)' : ' (codes use the digits and the letters A–Z except U)'),
      );
    }
    digits.push(v);
  }
  if (clean.length === CODE_DIGITS) throw new DecodeError('the claim code is missing its check character (the last one of XXXX-XXXX-XXXX-XXXX-C)');
  if (clean.length !== CODE_DIGITS + 1) {
    throw new DecodeError(`the claim code has ${clean.length} characters; it has ${CODE_DIGITS} and a check character (XXXX-XXXX-XXXX-XXXX-C)`);
  }
  const check = digits.pop()!;
  if (checkValue(digits) !== check) {
    throw new DecodeError('the claim code does not match its check character: a character was mistyped or two were swapped');
  }
  const out = new Uint8Array(TICKET_NONCE_BYTES);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const d of digits) {
    acc = (acc << 5) | d;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function printableChar(ch: string): string {
  return /[\u0000-\u001f\u007f]/.test(ch) ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
}
