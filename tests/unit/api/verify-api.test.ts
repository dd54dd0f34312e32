import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHostApi } from '../../../electron/host/api/index.js';
import { InstallKeyStore, parseEd25519Keys } from '../../../electron/host/evidence/install-keys.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { createPackageFile } from '../../../electron/host/evidence/package-file.js';
import { PolicyStore } from '../../../electron/host/evidence/policy-store.js';
import { contract, type MethodName, type Req, type Res } from '../../../shared/api/contract.js';
import type { CallContext } from '../../../shared/api/rpc-server.js';
import { contractCaller } from '../../support/contract-call.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { ed25519OpenSsh, ed25519PublicKeyPem, sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import { INSTALL_IDENTITY } from '../../../shared/evidence/package.js';
import { policyHash } from '../../../shared/warranty/policy.js';
import { SSHSIG_NAMESPACE } from '../../../shared/codec/sshsig.js';
import { makeDeviceLog, values } from '../evidence/device-log.js';
import { CLAIM, stream } from '../warranty/stream.js';

/**
 * The Verify screen's host methods: package.verify with the verifier's policy store, ticket key
 * and known installation keys; policies.* and installKeys.*. Every answer must match the
 * contract's response schema, as the bridge checks it when asked to.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-verify-api-'));
const file = (name: string, content: string | Uint8Array) => {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
};
const policies = new PolicyStore(path.join(dir, 'config', 'policies'));
const installKeys = new InstallKeyStore(path.join(dir, 'config', 'known-install-keys'));
const host = createHostApi({ host: 'browser', version: '0.0.0-test', dataDir: dir, policyStore: policies, installKeys });
const ctx: CallContext = { closed: false, onClose: () => () => undefined };

/** Calls a host method the way the RPC server does: request parsed, response checked against the contract. */
const call = contractCaller(host, ctx);

let pkg: string;
let root: string;
let customerKey: Uint8Array;
const supplierPolicy = { ...structuredClone(DEFAULT_POLICY), id: 'acme-lfp', version: 3, title: 'ACME warranty for LiFePO4 packs' };
supplierPolicy.voidConditions[0] = { ...supplierPolicy.voidConditions[0]!, title: 'Discharged above 1.5C for more than 10 s', thresholdC: 1.5 } as never;

beforeAll(async () => {
  // A board-signed log with a 30 s discharge far above the limit, packaged by a customer.
  const log = makeDeviceLog(
    values(
      stream(600, (r, i) => {
        if (i > 200 && i < 230) r.current = -250;
      }),
    ),
  );
  const keyStore = new FileKeyStore(path.join(dir, 'customer'));
  customerKey = (await keyStore.load()).publicKey;
  pkg = path.join(dir, 'claim.psdiag');
  await createPackageFile({ parts: log, claim: CLAIM, policy: DEFAULT_POLICY, photos: [], out: pkg, keyStore, createdAt: new Date('2026-06-03T10:00:00Z') });
  root = file('root.pem', log.ca.pem);
});

const noOptionWords = (texts: string[]) => {
  for (const t of texts) expect(t, t).not.toMatch(/(^|\s)--[a-z]/);
};

describe('policies.list and policies.add', () => {
  it('adds a policy file, lists it by id and version, and refuses a reused id and version plainly', async () => {
    expect(await call('policies.list', {})).toEqual([]);
    const added = await call('policies.add', { path: file('acme.json', JSON.stringify(supplierPolicy)) });
    expect(added).toEqual({ sha256: policyHash(supplierPolicy as never), id: 'acme-lfp', version: 3, title: 'ACME warranty for LiFePO4 packs', added: true });
    expect((await call('policies.add', { path: path.join(dir, 'acme.json') })).added).toBe(false);
    const changed = { ...supplierPolicy, title: 'ACME, edited' };
    await expect(call('policies.add', { path: file('acme-edited.json', JSON.stringify(changed)) })).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(/^policy "acme-lfp" version 3 is already stored with different content .*A changed policy needs a new version\.$/),
    });
    await expect(call('policies.add', { path: file('not-a-policy.json', '{"id": 1}') })).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(/^policy does not match/),
    });
    await expect(call('policies.add', { path: path.join(dir, 'absent.json') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await call('policies.list', {})).toEqual([{ sha256: added.sha256, id: 'acme-lfp', version: 3, title: 'ACME warranty for LiFePO4 packs' }]);
  });
});

describe('installKeys.list, add and remove', () => {
  const a = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  const b = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  const c = ed25519.getPublicKey(ed25519.utils.randomSecretKey());

  it('takes PEM files, OpenSSH lines and allowed_signers files, with labels, and forgets a key', async () => {
    const store = new InstallKeyStore(path.join(dir, 'keys-test', 'known-install-keys'));
    const own = createHostApi({ host: 'browser', version: '0', dataDir: dir, policyStore: policies, installKeys: store });
    const run = <M extends MethodName>(m: M, p: Req<M>) =>
      (own.handlers[m] as (p: unknown, c: CallContext) => Promise<Res<M>>)(contract.methods[m].request.parse(p), ctx);
    expect(await run('installKeys.list', {})).toEqual([]);
    // A PEM file without a label: named after the file.
    expect(await run('installKeys.add', { path: file('erika.pub.pem', ed25519PublicKeyPem(a)) })).toEqual([
      { fingerprint: sshFingerprint(a), label: 'erika.pub.pem' },
    ]);
    // A pasted OpenSSH line: its comment names it, unless it is PackScope's generic identity.
    expect(await run('installKeys.add', { key: ed25519OpenSsh(b, 'workshop PC') })).toEqual([{ fingerprint: sshFingerprint(b), label: 'workshop PC' }]);
    expect((await run('installKeys.add', { key: ed25519OpenSsh(c, INSTALL_IDENTITY), label: '  Hans\n Meier\t' }))[0]!.label).toBe('Hans Meier');
    // A known key takes its new label and keeps its place.
    await run('installKeys.add', { path: file('erika-again.pub', ed25519OpenSsh(a) + '\n'), label: 'Erika Mustermann' });
    expect((await run('installKeys.list', {})).map((k) => k.label)).toEqual(['Erika Mustermann', 'workshop PC', 'Hans Meier']);
    expect(await run('installKeys.remove', { fingerprint: sshFingerprint(b) })).toEqual({ removed: true });
    expect(await run('installKeys.remove', { fingerprint: sshFingerprint(b) })).toEqual({ removed: false });
    // The file is an allowed_signers file: the CLI's reader and a package's own line read it.
    const text = readFileSync(store.path, 'utf8');
    expect(text).toBe(
      `${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(a)} Erika Mustermann\n` +
        `${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(c)} Hans Meier\n`,
    );
    expect(parseEd25519Keys(text, 'list').map((k) => sshFingerprint(k.publicKey))).toEqual([sshFingerprint(a), sshFingerprint(c)]);
    // Hand edits are kept; a broken line is named, not skipped (a dropped pin would weaken the check).
    writeFileSync(store.path, `# our customers\n${text}`);
    await run('installKeys.remove', { fingerprint: sshFingerprint(c) });
    expect(readFileSync(store.path, 'utf8')).toBe(
      `# our customers\n${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(a)} Erika Mustermann\n`,
    );
    writeFileSync(store.path, `${text}ssh-rsa AAAAB3NzaC1yc2E= someone\n`);
    await expect(run('installKeys.list', {})).rejects.toMatchObject({ code: 'DECODE', message: expect.stringContaining('line 3') });
  });

  it('refuses files and text without an Ed25519 key, and requests outside the schema', async () => {
    await expect(call('installKeys.add', { path: file('junk.pub', 'hello\n') })).rejects.toMatchObject({
      code: 'DECODE',
      message: expect.stringContaining('holds no ssh-ed25519 public key'),
    });
    await expect(call('installKeys.add', { key: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n' })).rejects.toMatchObject({
      code: 'DECODE',
    });
    expect(contract.methods['installKeys.add'].request.safeParse({ path: '/x', key: 'y' }).success).toBe(false);
    expect(contract.methods['installKeys.remove'].request.safeParse({ fingerprint: 'MD5:aa' }).success).toBe(false);
    expect(await call('installKeys.list', {})).toEqual([]);
  });
});

describe('package.verify with what the verifier brings', () => {
  it("without a chosen policy: PackScope's default decides, and the answer says so in its own fields, without option names", async () => {
    const v = await call('package.verify', { path: pkg, rootKeyPath: root });
    expect(v.policy.decidedBy).toEqual({ id: DEFAULT_POLICY.id, sha256: policyHash(DEFAULT_POLICY), source: 'default' });
    expect(v.policy.package).toEqual({ id: DEFAULT_POLICY.id, sha256: policyHash(DEFAULT_POLICY) });
    expect(v.policy.differences).toEqual([]);
    expect(v.customerEvaluation?.verdict).toBe('excluded');
    expect(v.evaluation?.verdict).toBe('excluded');
    expect(v.installKey).toEqual({ fingerprint: sshFingerprint(customerKey), pinned: null });
    expect(v.freshness).toEqual({ proven: false, detail: 'freshness not proven: no claim ticket was checked' });
    // Restated by policy, installKey and freshness: not repeated as caveats.
    expect(v.caveats.filter((c) => /default policy|not pinned|freshness/.test(c))).toEqual([]);
    noOptionWords([v.line, v.freshness.detail, ...v.caveats, ...v.checks.map((c) => c.detail)]);
  });

  it("a chosen policy from the store decides; where the package's policy differs is listed", async () => {
    const sha = policyHash(supplierPolicy as never);
    const v = await call('package.verify', { path: pkg, rootKeyPath: root, policySha256: sha.toUpperCase() });
    expect(v.policy.decidedBy).toEqual({ id: 'acme-lfp', sha256: sha, source: 'verifier' });
    expect(v.policy.differences).toContain("voidConditions[over-discharge-current].thresholdC: the package's policy has 2, the deciding policy 1.5");
    // Stated by policy.differences, so not repeated among the caveats.
    expect(v.caveats.filter((c) => c.includes('differs from the deciding policy'))).toEqual([]);
    await expect(call('package.verify', { path: pkg, rootKeyPath: root, policySha256: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("none chosen, but the store holds the package's policy: the verifier's copy decides", async () => {
    const dflt = await call('policies.add', { path: file('default.json', JSON.stringify(DEFAULT_POLICY)) });
    const v = await call('package.verify', { path: pkg, rootKeyPath: root });
    expect(v.policy.decidedBy).toEqual({ id: DEFAULT_POLICY.id, sha256: dflt.sha256, source: 'verifier' });
  });

  it('known installation keys: another key fails the package, its own key is known', async () => {
    const other = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    await call('installKeys.add', { key: ed25519OpenSsh(other), label: 'someone else' });
    const v = await call('package.verify', { path: pkg, rootKeyPath: root });
    expect(v.installKey).toEqual({ fingerprint: sshFingerprint(customerKey), pinned: false });
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.id === 'install-key-known')).toMatchObject({ ok: false });
    await call('installKeys.add', { key: ed25519PublicKeyPem(customerKey), label: 'Erika' });
    const w = await call('package.verify', { path: pkg, rootKeyPath: root });
    expect(w.installKey).toEqual({ fingerprint: sshFingerprint(customerKey), pinned: true });
    expect(w.checks.find((c) => c.id === 'install-key-known')).toMatchObject({ ok: true });
    for (const k of await call('installKeys.list', {})) await call('installKeys.remove', { fingerprint: k.fingerprint });
  });

  it('a ticket key (PEM or OpenSSH line) requires a claim ticket; a key file that is no key is refused', async () => {
    const supplier = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    for (const key of [file('ticket.pub.pem', ed25519PublicKeyPem(supplier)), file('ticket.pub', ed25519OpenSsh(supplier, 'ACME claims') + '\n')]) {
      const v = await call('package.verify', { path: pkg, rootKeyPath: root, ticketKeyPath: key });
      expect(v.checks.find((c) => c.id === 'ticket')).toMatchObject({
        ok: false,
        detail: expect.stringContaining('the package holds no claim ticket and none was given'),
      });
      expect(v.freshness.proven).toBe(false);
    }
    await expect(call('package.verify', { path: pkg, rootKeyPath: root, ticketKeyPath: root })).rejects.toMatchObject({ code: 'DECODE' });
    await expect(call('package.verify', { path: pkg, rootKeyPath: root, ticketPath: path.join(dir, 'absent.psticket') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
