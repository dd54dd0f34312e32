import { generateKeyPairSync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DecodeError, PackscopeError } from '../../../../shared/errors.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, sshFingerprint } from '../../../../shared/codec/ed25519-keys.js';
import {
  CLAIM_ID_PATTERN,
  codeFromNonce,
  defaultClaimId,
  encodeTicketFile,
  parseTicketFile,
  signTicket,
  ticketNonce,
  TICKET_NONCE_BYTES,
  verifyTicket,
  type TicketFile,
} from '../../../../shared/evidence/ticket.js';
import { utf8Decode } from '../../../../shared/util/bytes.js';
import { readInput } from '../../evidence/files.js';
import { loadSupplierPrivateKey, rawEd25519PublicKey } from '../../evidence/supplier-key.js';
import { writeFileAtomic } from '../../util/files.js';
import { numberOption, parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const USAGE = `Usage:
  packscope claim keygen --out SUPPLIER-KEY.pem [--json]
  packscope claim ticket --key SUPPLIER-KEY.pem --serial SERIAL [--claim-id ID] [--expires DAYS]
                         [--out FILE.psticket] [--json]
  packscope claim show FILE.psticket [--key-pub SUPPLIER-KEY.pub.pem] [--json]

Claim tickets give a diagnosis package freshness that comes from the supplier: the ticket holds a
random nonce, signed with the supplier's key together with the claim id, the pack's serial and an
expiry. The customer's board seals its black-box checkpoint over that nonce, so the package
cannot have been read out before the ticket was issued. Customers get the ticket file or its
short code, XXXX-XXXX-XXXX-XXXX-C, which can be read out over the phone (case does not matter,
O reads as 0, I and L as 1; the last character is a check that catches a mistyped character).

keygen   Writes an Ed25519 private key (PKCS#8 PEM, mode 0600) and its public key beside it as
         SUPPLIER-KEY.pub.pem. Never overwrites. Keys made by
         'openssl genpkey -algorithm ed25519 -out SUPPLIER-KEY.pem' work as well.
ticket   Issues a ticket for the pack SERIAL: a fresh ${TICKET_NONCE_BYTES}-byte nonce, the claim id (default
         C-<yyyymmdd>-<6 hex>), valid for DAYS days (default 30, at most 365). Writes FILE.psticket
         (default <claim-id>.psticket; never overwrites) and prints the code to give the customer.
show     Prints a ticket's fields and code. With --key-pub (a PEM public key, an OpenSSH
         'ssh-ed25519' line, or the private key file), checks that the supplier key signed it:
         exit 0 when it does, 6 when it does not.

Exit codes: 2 bad arguments, 3 a file that does not exist, 6 signature does not verify,
7 refusing to overwrite, 8 a key or ticket file that does not decode.`;

const MAX_KEY_FILE_BYTES = 64 * 1024;

function publicPath(out: string): string {
  return /\.pem$/i.test(out) ? out.replace(/\.pem$/i, '.pub.pem') : `${out}.pub.pem`;
}

function readText(path: string, what: string, maxBytes: number): string {
  return utf8Decode(readInput(path, what, maxBytes));
}

const rawPublicKey = rawEd25519PublicKey;

/** The supplier's private key: PKCS#8 PEM as written by keygen or by openssl genpkey. */
function loadPrivateKey(path: string): KeyObject {
  return loadSupplierPrivateKey(path, 'claim tickets', ' (it is a public key; --key takes the private key)');
}

/** The supplier's public key from a PEM public key, an OpenSSH line, or the private key file. */
function loadPublicKey(path: string): Uint8Array {
  const text = readText(path, 'supplier public key', MAX_KEY_FILE_BYTES);
  try {
    if (/-----BEGIN PUBLIC KEY-----/.test(text)) return ed25519PublicKeyFromPem(text);
    // A bare OpenSSH line or an allowed_signers line ("principal ssh-ed25519 AAAA… comment").
    const ssh = /ssh-ed25519 [A-Za-z0-9+/=]+/.exec(text);
    if (ssh) return ed25519FromOpenSsh(ssh[0]);
  } catch (e) {
    throw new DecodeError(`${path}: ${(e as Error).message}`);
  }
  if (/-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/.test(text)) return rawPublicKey(loadPrivateKey(path));
  throw new DecodeError(`${path} holds no Ed25519 public key (PEM "PUBLIC KEY", an OpenSSH ssh-ed25519 line, or the private key)`);
}

function expiryNote(expiresAt: string, now: Date): string {
  const left = Date.parse(expiresAt) - now.getTime();
  if (left <= 0) return 'EXPIRED';
  const days = left / 86_400_000;
  const whole = Math.round(days);
  return days >= 1 ? `in ${whole} day${whole === 1 ? '' : 's'}` : `in ${Math.ceil(left / 3_600_000)} h`;
}

function printTicket(ctx: CliContext, file: TicketFile, now: Date, extra: Array<[string, string]> = []): void {
  const t = file.ticket;
  const rows: Array<[string, string]> = [
    ['Code', codeFromNonce(ticketNonce(file))],
    ['Claim id', t.claimId],
    ['Serial', t.serial],
    ['Issued', t.issuedAt],
    ['Expires', `${t.expiresAt} (${expiryNote(t.expiresAt, now)})`],
    ['Nonce', t.nonce],
    ['Signed by', file.key],
    ...extra,
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
}

async function keygen(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { out: { type: 'string', short: 'o' } }, true);
  if (positionals.length) throw new PackscopeError('USAGE', `claim keygen: unexpected argument '${positionals[0]}'`);
  const out = requireOption(values.out, 'out');
  const pub = publicPath(out);
  // Check both names first, so a refusal never leaves half a key pair behind.
  for (const f of [out, pub]) if (existsSync(f)) throw new PackscopeError('REFUSED', `${f} already exists; refusing to overwrite it`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileAtomic(out, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600, exclusive: true });
  try {
    writeFileAtomic(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644, exclusive: true });
  } catch (e) {
    throw new PackscopeError((e as PackscopeError).code ?? 'IO', `${(e as Error).message} (the private key ${out} was written; its public key was not)`);
  }
  const raw = rawPublicKey(publicKey);
  const fingerprint = sshFingerprint(raw);
  if (values.json) ctx.out(JSON.stringify({ privateKey: out, publicKey: pub, fingerprint, openssh: ed25519OpenSsh(raw, 'packscope-supplier') }));
  else {
    ctx.out(`wrote ${out} (Ed25519 private key, PKCS#8, mode 0600) and ${pub} (public key)`);
    ctx.out(`  fingerprint ${fingerprint}`);
    ctx.err(`Keep ${out} on the host that issues tickets; give ${pub} to whoever checks them.`);
  }
  return EXIT.OK;
}

async function ticket(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { key: { type: 'string' }, serial: { type: 'string' }, 'claim-id': { type: 'string' }, expires: { type: 'string' }, out: { type: 'string', short: 'o' } },
    true,
  );
  if (positionals.length) throw new PackscopeError('USAGE', `claim ticket: unexpected argument '${positionals[0]}'`);
  const keyPath = requireOption(values.key, 'key');
  const serial = requireOption(values.serial, 'serial');
  const days = numberOption(values.expires, 'expires', 30, 1, 365);
  if (!Number.isInteger(days)) throw new PackscopeError('USAGE', `--expires takes whole days, got '${values.expires}'`);
  const claimIdOption = values['claim-id'];
  if (claimIdOption !== undefined && !CLAIM_ID_PATTERN.test(claimIdOption)) {
    throw new PackscopeError('USAGE', `--claim-id '${claimIdOption}': 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  if (values.out !== undefined && values.out === '') throw new PackscopeError('USAGE', '--out must name a file');
  const key = loadPrivateKey(keyPath);
  const publicKey = rawPublicKey(key);
  const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const claimId = claimIdOption ?? defaultClaimId(issuedAt, new Uint8Array(randomBytes(3)));
  const out = values.out ?? `${claimId}.psticket`;
  if (existsSync(out)) throw new PackscopeError('REFUSED', `${out} already exists; refusing to overwrite it`);
  const file = await signTicket(
    { claimId, serial, nonce: new Uint8Array(randomBytes(TICKET_NONCE_BYTES)), issuedAt, expiresAt: new Date(issuedAt.getTime() + days * 86_400_000) },
    { publicKey, sign: (m) => new Uint8Array(nodeSign(null, m, key)) },
  );
  const text = encodeTicketFile(file);
  // Self-check before anything is written: the file verifies with the key's public half.
  const check = verifyTicket(text, publicKey);
  if (!check.ok) throw new PackscopeError('INTERNAL', `the new ticket does not verify: ${check.problems.join('; ')}`);
  writeFileAtomic(out, text, { mode: 0o644, exclusive: true });
  const code = codeFromNonce(ticketNonce(file));
  if (values.json) ctx.out(JSON.stringify({ file: out, code, ...file.ticket, key: file.key }));
  else {
    ctx.out(`wrote ${out}`);
    printTicket(ctx, file, issuedAt);
    ctx.err(`Give the customer the code ${code} (or the file ${out}) for claim ${claimId}.`);
  }
  return EXIT.OK;
}

async function show(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'key-pub': { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'claim show takes one FILE.psticket');
  const path = positionals[0]!;
  // Read a little more than a ticket can hold, so an oversized file is a bad ticket (exit 8).
  const bytes = readInput(path, 'ticket', 1 << 20);
  let file: TicketFile;
  try {
    file = parseTicketFile(bytes);
  } catch (e) {
    throw new DecodeError(`${path}: ${(e as Error).message}`);
  }
  const now = new Date();
  const keyPath = values['key-pub'];
  const verification = keyPath !== undefined ? verifyTicket(bytes, loadPublicKey(requireOption(keyPath, 'key-pub'))) : null;
  const expired = Date.parse(file.ticket.expiresAt) <= now.getTime();
  const code = codeFromNonce(ticketNonce(file));
  if (values.json) {
    ctx.out(
      JSON.stringify(
        { file: path, code, ...file.ticket, key: file.key, expired, ...(verification ? { verified: verification.ok, problems: verification.problems } : {}) },
        null,
        2,
      ),
    );
  } else {
    const extra: Array<[string, string]> = verification
      ? [['Signature', verification.ok ? `VERIFIED with ${keyPath}` : `NOT VERIFIED with ${keyPath}`]]
      : [['Signature', 'not checked (give --key-pub SUPPLIER-KEY.pub.pem)']];
    printTicket(ctx, file, now, extra);
    for (const p of verification?.problems ?? []) ctx.out(`  ! ${p}`);
  }
  return verification && !verification.ok ? EXIT.VERIFY_FAILED : EXIT.OK;
}

export default {
  summary: 'Claim tickets (supplier): keygen, issue a signed ticket with a phone code, show/verify one',
  usage: USAGE,
  run: subcommands('claim', USAGE, { keygen, ticket, show }),
} satisfies CommandModule;
