import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostApi } from '../../../electron/host/api/index.js';
import { checkpointNonce } from '../../support/checkpoint-nonce.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { verifyPackageBytes } from '../../../electron/host/evidence/package-file.js';
import { contract } from '../../../shared/api/contract.js';
import type { CallContext } from '../../../shared/api/rpc-server.js';
import { contractCaller } from '../../support/contract-call.js';
import { codeFromNonce, encodeTicketFile, signTicket, ticketCode, type TicketFile } from '../../../shared/evidence/ticket.js';
import { openZip } from '../../../shared/codec/zip.js';

/**
 * Claim tickets through the app's API: log.pull seals the checkpoint over a typed code or a ticket
 * file (another pack's ticket refused by name before anything is read), claim.evaluate judges the
 * ticket against the log with the facts package.create signs, and package.create carries it.
 * Every answer must match the contract's response schema; no message names a command-line option.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-claim-ticket-api-'));
const state = path.join(dir, 'board');
const at = (name: string) => path.join(dir, name);
const host = createHostApi({ host: 'browser', version: '0.0.0-test', dataDir: dir, keyStore: new FileKeyStore(path.join(dir, 'customer')) });
const ctx: CallContext = { closed: false, onClose: () => () => undefined };

const call = contractCaller(host, ctx);

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const { code, message } = e as { code: string; message: string };
    expect(message).not.toMatch(/--[a-z]/);
    return { code, message };
  }
  throw new Error('expected a refusal');
}

const secret = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9));
const supplier = { publicKey: ed25519.getPublicKey(secret), sign: (m: Uint8Array) => ed25519.sign(m, secret) };
let serial = '';
let ticket: TicketFile;
let ticketPath = '';
const claim = (purchaseDate: string) => ({
  customer: 'Erika Mustermann',
  contact: 'erika@example.org',
  model: 'PS-LFP-100',
  serial,
  purchaseDate,
  description: 'The pack shuts off under light load.',
  remedy: 'repair' as const,
});

async function issue(
  name: string,
  fields: { serial: string; nonce: Uint8Array; claimId?: string; issuedAt?: Date; expiresAt?: Date },
): Promise<{ file: TicketFile; path: string }> {
  const now = Date.now();
  const file = await signTicket(
    {
      claimId: fields.claimId ?? 'C-20260603-a1b2c3',
      serial: fields.serial,
      nonce: fields.nonce,
      issuedAt: fields.issuedAt ?? new Date(now - 3_600_000),
      expiresAt: fields.expiresAt ?? new Date(now + 30 * 86_400_000),
    },
    supplier,
  );
  writeFileSync(at(name), encodeTicketFile(file));
  return { file, path: at(name) };
}

beforeAll(async () => {
  const connected = await call('device.connect', { path: `sim:?prefill=0.2&seed=11&unpaced&state=${state}` });
  serial = connected.device.serial;
  // Issued long before the pull: the warranty age is counted to this day, not to the pull.
  ({ file: ticket, path: ticketPath } = await issue('claim.psticket', {
    serial,
    nonce: Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
    issuedAt: new Date(Date.now() - 40 * 86_400_000),
  }));
});

afterAll(async () => {
  await host.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('log.pull with a claim ticket', () => {
  it('a typed code (loosely: lower case, spaces) seals the checkpoint over its nonce and comes back normalised', async () => {
    const code = ticketCode(ticket);
    const r = await call('log.pull', { opId: 'p1', out: at('code.pslog'), ticketCode: ` ${code.toLowerCase().replace(/-/g, ' ')} ` });
    expect(r.signaturesOk).toBe(true);
    expect(r.ticket).toEqual({ code, claimId: null, serial: null, expiresAt: null });
    expect(await checkpointNonce(r.path)).toBe(ticket.ticket.nonce);
  });

  it('a ticket file seals it too and names its claim; without a ticket the nonce is fresh', async () => {
    const r = await call('log.pull', { opId: 'p2', out: at('file.pslog'), ticketPath });
    expect(r.ticket).toEqual({ code: ticketCode(ticket), claimId: ticket.ticket.claimId, serial, expiresAt: ticket.ticket.expiresAt });
    expect(await checkpointNonce(r.path)).toBe(ticket.ticket.nonce);
    const plain = await call('log.pull', { opId: 'p3', out: at('plain.pslog') });
    expect(plain.ticket).toBeNull();
    expect(await checkpointNonce(plain.path)).not.toBe(ticket.ticket.nonce);
  });

  it("another pack's ticket is refused by name before anything is read", async () => {
    const other = await issue('other.psticket', { serial: 'PS-OTHER-0001', nonce: new Uint8Array(10).fill(3) });
    const e = await refusal(call('log.pull', { opId: 'p4', out: at('other.pslog'), ticketPath: other.path }));
    expect(e).toEqual({
      code: 'REFUSED',
      message: `This ticket is for pack PS-OTHER-0001, the connected pack is ${serial}. Nothing was read from the pack: connect the pack the ticket names, or ask your supplier for a ticket for pack ${serial}.`,
    });
    expect(() => readFileSync(at('other.pslog'))).toThrow();
    expect(() => readFileSync(`${at('other.pslog')}.partial`)).toThrow();
  });

  it('a mistyped code is told by its check character; a file that is no ticket, and both at once, are refused plainly', async () => {
    const code = ticketCode(ticket);
    const typo = code.replace(/^(.)/, (c) => (c === '7' ? '8' : '7'));
    expect(await refusal(call('log.pull', { opId: 'p5', ticketCode: typo }))).toEqual({
      code: 'USAGE',
      message: 'The claim code does not match its check character: a character was mistyped or two were swapped. Check it against what your supplier gave you.',
    });
    expect((await refusal(call('log.pull', { opId: 'p6', ticketCode: code.slice(0, -2) }))).message).toBe(
      'The claim code is missing its check character (the last one of XXXX-XXXX-XXXX-XXXX-C). Check it against what your supplier gave you.',
    );
    writeFileSync(at('notes.psticket'), 'my claim\n');
    expect(await refusal(call('log.pull', { opId: 'p7', ticketPath: at('notes.psticket') }))).toMatchObject({
      code: 'DECODE',
      message: expect.stringMatching(/^notes\.psticket is not a claim ticket from your supplier: not valid JSON/),
    });
    expect(contract.methods['log.pull'].request.safeParse({ opId: 'p8', ticketCode: code, ticketPath }).success).toBe(false);
  });
});

describe('claim.evaluate and package.create with the ticket file', () => {
  it('the preview uses the ticket issue time as the claim date, and the package signs that same evaluation with the ticket in it', async () => {
    const purchase = new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
    const preview = await call('claim.evaluate', { logPath: at('code.pslog'), claim: claim(purchase), ticketPath });
    expect(preview.ticket).toMatchObject({ claimId: ticket.ticket.claimId, serial, matchesLog: true, problem: null, pullAgain: false, expired: false });
    // Counted to the ticket's issue day (40 days ago), not to today.
    const issuedDays = Math.floor((Date.parse(ticket.ticket.issuedAt) - Date.parse(purchase)) / 86_400_000);
    expect(preview.evaluation.period.daysSincePurchase).toBe(issuedDays);
    const without = await call('claim.evaluate', { logPath: at('code.pslog'), claim: claim(purchase) });
    expect(without.ticket).toBeNull();
    expect(without.evaluation.period.daysSincePurchase).toBeGreaterThan(issuedDays);

    const created = await call('package.create', { logPath: at('code.pslog'), claim: claim(purchase), out: at('claim.psdiag'), ticketPath });
    expect(created.claimId).toBe(ticket.ticket.claimId);
    const zip = new Uint8Array(readFileSync(created.path));
    const files = openZip(zip);
    const read = (name: string) => new TextDecoder().decode(files.read(files.entries.find((e) => e.name === name)!));
    expect(read('ticket.psticket')).toBe(encodeTicketFile(ticket));
    const signed = JSON.parse(read('evaluation.json'));
    expect(signed.verdict).toBe(preview.evaluation.verdict);
    expect(signed.summary).toBe(preview.evaluation.summary);
    expect(signed.period).toEqual(preview.evaluation.period);
    expect(signed.findings).toEqual(preview.evaluation.findings);

    const v = await verifyPackageBytes(zip, { rootPem: readFileSync(path.join(state, 'manufacturing-root.pem'), 'utf8'), ticketKey: supplier.publicKey });
    expect(v.checks.find((c) => c.id === 'ticket')).toMatchObject({ ok: true });
    expect(v.freshness.proven).toBe(true);
  });

  it('a log pulled without the ticket: said plainly with the way out, and package.create refuses in the same words', async () => {
    const purchase = new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 10);
    const preview = await call('claim.evaluate', { logPath: at('plain.pslog'), claim: claim(purchase), ticketPath });
    const problem = `This log was not downloaded with claim ticket ${ticket.ticket.claimId}, so it cannot show your supplier that it was read after the claim was opened. Download the log again with the ticket, then use the new log.`;
    expect(preview.ticket).toMatchObject({ matchesLog: false, problem, pullAgain: true });
    expect(await refusal(call('package.create', { logPath: at('plain.pslog'), claim: claim(purchase), out: at('refused.psdiag'), ticketPath }))).toEqual({
      code: 'REFUSED',
      message: problem,
    });
    expect(() => readFileSync(at('refused.psdiag'))).toThrow();

    // A ticket for another pack: downloading again would not help, so it is not offered.
    const other = await issue('other-claim.psticket', { serial: 'PS-OTHER-0001', nonce: new Uint8Array(10).fill(4), claimId: 'C-20260603-ffeedd' });
    const misfit = await call('claim.evaluate', { logPath: at('code.pslog'), claim: claim(purchase), ticketPath: other.path });
    expect(misfit.ticket).toMatchObject({
      matchesLog: false,
      pullAgain: false,
      problem: expect.stringContaining(`Claim ticket C-20260603-ffeedd is for pack PS-OTHER-0001, but this log is from pack ${serial}.`),
    });

    // An expired ticket still fits the log it sealed; the screen warns.
    const expired = await issue('expired.psticket', {
      serial,
      nonce: new Uint8Array(10).fill(5),
      issuedAt: new Date(Date.now() - 60 * 86_400_000),
      expiresAt: new Date(Date.now() - 86_400_000),
    });
    await call('log.pull', { opId: 'p9', out: at('expired.pslog'), ticketCode: codeFromNonce(new Uint8Array(10).fill(5)) });
    expect((await call('claim.evaluate', { logPath: at('expired.pslog'), claim: claim(purchase), ticketPath: expired.path })).ticket).toMatchObject({
      matchesLog: true,
      expired: true,
    });
  });
});
