import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { decodeSegments } from '../../../shared/blackbox/decoder.js';
import { decodeDeviceEvidence, DEVICE_FILES } from '../../../shared/evidence/blackbox-evidence.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { validateClaim, type Claim } from '../../../shared/warranty/claim.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { ed25519OpenSsh, ed25519PublicKeyPem, sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import { assemblePackage, DEVICE_DIR, FILES, INSTALL_IDENTITY, verifyText } from '../../../shared/evidence/package.js';
import { parsePolicy, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { formatSha256Sums } from '../../../shared/codec/sha256sums.js';
import { SSHSIG_NAMESPACE, sshsigSign } from '../../../shared/codec/sshsig.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import { hostSignatureVerifier } from '../../../electron/host/evidence/fast-verify.js';
import { toolVersion } from '../../../electron/host/evidence/package-file.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { rawZip } from '../../unit/evidence/malicious.js';
import { requirePython } from '../cli-process.js';

/**
 * Acceptance for trustworthy verdicts: a hostile customer with the plain CLI, a few lines of script
 * and no device key tries every way found to turn an EXCLUDED pack into a COVERED verdict. Each
 * forgery is re-signed with a fresh installation key, as an attacker would, and PackScope's own
 * assembler is used wherever that makes the forgery more consistent. The supplier verifies with its
 * own root, policy and ticket key; every forgery must be refused or get a non-COVERED verdict that
 * names the reason.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-adv-'));
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'customer-config');
let sim: RunningSim;
const path = (n: string) => join(dir, n);
let honest: Map<string, Uint8Array>;
let claim: Claim;

/** An attacker's fresh installation key. */
function freshSigner() {
  const secret = ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(secret), sign: (m: Uint8Array) => ed25519.sign(m, secret) };
}

/** Rebuilds a package from (possibly altered) device files with PackScope's own assembler and a fresh key. */
async function reassemble(
  name: string,
  device: Map<string, Uint8Array>,
  o: { policy?: WarrantyPolicy; claim?: Claim; createdAt?: Date; ticket?: Uint8Array | null } = {},
): Promise<string> {
  const evidence = decodeDeviceEvidence(device, { rootPublicKeyPem: null }, hostSignatureVerifier());
  const { files } = await assemblePackage({
    evidence,
    deviceFiles: device,
    claim: o.claim ?? claim,
    policy: o.policy ?? DEFAULT_POLICY,
    photos: [],
    createdAt: o.createdAt ?? new Date(),
    toolVersion: toolVersion(),
    signer: freshSigner(),
    ticket: o.ticket === undefined ? (honest.get(FILES.ticket) ?? null) : o.ticket,
  });
  writeFileSync(path(name), writeZip(files));
  return path(name);
}

/** Re-signs an edited file set the way an attacker would: new keys, new VERIFY.txt, manifest files list, sums and signatures. */
async function resign(name: string, edit: (files: Map<string, Uint8Array>) => void, after?: (files: Map<string, Uint8Array>) => void): Promise<string> {
  const files = new Map(honest);
  edit(files);
  const s = freshSigner();
  const fp = sshFingerprint(s.publicKey);
  files.set(FILES.pubPem, utf8Encode(ed25519PublicKeyPem(s.publicKey)));
  files.set(FILES.pubSsh, utf8Encode(ed25519OpenSsh(s.publicKey, INSTALL_IDENTITY) + '\n'));
  files.set(FILES.allowedSigners, utf8Encode(`${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(s.publicKey)}\n`));
  if (!after) files.set(FILES.verify, utf8Encode(verifyText(fp)));
  for (const n of [FILES.sums, FILES.sig, FILES.sshsig]) files.delete(n);
  const manifest = JSON.parse(utf8Decode(files.get(FILES.manifest)!));
  manifest.installKey.fingerprint = fp;
  const { createHash } = await import('node:crypto');
  manifest.files = [...files.keys()]
    .filter((n) => n !== FILES.manifest)
    .sort()
    .map((n) => ({ name: n, size: files.get(n)!.length, sha256: createHash('sha256').update(files.get(n)!).digest('hex') }));
  files.set(FILES.manifest, utf8Encode(canonicalJson(manifest)));
  after?.(files);
  const sums = formatSha256Sums(files);
  files.set(FILES.sums, sums);
  files.set(FILES.sig, s.sign(sums));
  files.set(FILES.sshsig, utf8Encode(await sshsigSign(sums, s.publicKey, (d) => s.sign(d))));
  writeFileSync(path(name), writeZip(files));
  return path(name);
}

function deviceOf(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...files].filter(([n]) => n.startsWith(DEVICE_DIR)).map(([n, b]) => [n.slice(DEVICE_DIR.length), b]));
}

/** The supplier's verification: its own root, policy and ticket key. */
async function supplierVerify(file: string, ...extra: string[]) {
  const r = await cli(
    'package',
    'verify',
    file,
    '--root',
    path('root.pem'),
    '--policy',
    path('supplier-policy.json'),
    '--ticket-key',
    path('supplier.pub.pem'),
    ...extra,
  );
  return { ...r, first: r.out.split('\n')[0] ?? '' };
}

/** Not a verified COVERED: refused, or a verdict other than covered; the reason is in the output. */
function notCovered(r: { code: number; first: string; out: string }, reason: RegExp): void {
  expect(r.first).not.toMatch(/^VERIFIED: COVERED/);
  expect(r.out).toMatch(reason);
}

beforeAll(async () => {
  requirePython();
  sim = await runSim({ pty: true, unpaced: true, scenario: 'over-current', prefillHours: 2, cells: 8, seed: 5, stateDir: path('board') });
  writeFileSync(path('root.pem'), sim.board.storage.read('manufacturing-root.pem')!);
  writeFileSync(path('supplier-policy.json'), JSON.stringify(DEFAULT_POLICY));
  expect((await cli('claim', 'keygen', '--out', path('supplier.pem'))).code).toBe(0);
  const serial = sim.board.identity.serial;
  const t = await cli('claim', 'ticket', '--key', path('supplier.pem'), '--serial', serial, '--out', path('claim.psticket'));
  expect(t.code, t.err).toBe(0);
  const purchase = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
  claim = validateClaim({
    customer: 'Mallory',
    contact: 'mallory@example.org',
    model: sim.board.identity.model,
    serial,
    purchaseDate: purchase,
    description: 'The pack cuts out under load.',
    remedy: 'replacement',
  });
  writeFileSync(path('claim.json'), JSON.stringify(claim));
  const r = await cli(
    'package',
    'create',
    '--port',
    sim.path!,
    '--ticket',
    path('claim.psticket'),
    '--claim',
    path('claim.json'),
    '--out',
    path('honest.psdiag'),
  );
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/^EXCLUDED by clause over-discharge-current/);
  honest = readZipFiles(new Uint8Array(readFileSync(path('honest.psdiag'))));
});

afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a hostile customer cannot steer the verdict', () => {
  it('the honest package verifies as EXCLUDED with the supplier policy, root and ticket key', async () => {
    const r = await supplierVerify(path('honest.psdiag'));
    expect(r.code, r.out).toBe(0);
    expect(r.first).toMatch(/^VERIFIED: EXCLUDED by clause over-discharge-current/);
    expect(r.out).toMatch(/ok {3}ticket: claim C-/);
    expect(r.out).toMatch(/extent: the board holds history from/);
  });

  it('window selection: the last few segments, only the checkpoint, a clean middle stretch, all but the last hour', async () => {
    const device = deviceOf(honest);
    const segs = device.get(DEVICE_FILES.segments)!;
    const offsets = decodeSegments(segs).flatMap((it) => (it.kind === 'segment' ? [{ at: it.offset, seg: it.segment }] : []));
    const size = offsets[0]!.seg.header.segmentSize;
    const cut = (from: number, to: number) => new Map(device).set(DEVICE_FILES.segments, segs.slice(from * size, to * size));
    const n = offsets.length;
    const variants: [string, Map<string, Uint8Array>][] = [
      ['last-segments', cut(n - 3, n)],
      ['checkpoint-only', cut(0, 0)],
      [
        'middle',
        (() => {
          const m = cut(Math.floor(n / 3), Math.floor(n / 2));
          m.delete(DEVICE_FILES.checkpoint);
          m.delete(DEVICE_FILES.openSegment);
          return m;
        })(),
      ],
      ['all-but-last-hour', cut(0, Math.floor(n / 2))],
    ];
    for (const [name, dev] of variants) {
      // Without its checkpoint the ticket cannot even be attached: the forger leaves it out.
      const r = await supplierVerify(await reassemble(`${name}.psdiag`, dev, dev.has(DEVICE_FILES.checkpoint) ? {} : { ticket: null }));
      notCovered(r, /extent: |FAIL extent/);
      expect(r.code, name).toBe(6);
    }
  });

  it('capacity edit: identity.json × 10 changes nothing (the rating comes from the certificate)', async () => {
    const device = deviceOf(honest);
    const id = JSON.parse(utf8Decode(device.get(DEVICE_FILES.identity)!));
    id.nominalCapacityAh = id.nominalCapacityAh * 10;
    device.set(DEVICE_FILES.identity, utf8Encode(canonicalJson(id)));
    const r = await supplierVerify(await reassemble('capacity.psdiag', device));
    expect(r.first).toMatch(/^VERIFIED: EXCLUDED by clause over-discharge-current/);
  });

  it("a laxer policy under the supplier's id decides nothing; its differences are listed", async () => {
    const lax = parsePolicy(
      JSON.stringify({
        ...DEFAULT_POLICY,
        voidConditions: DEFAULT_POLICY.voidConditions.map((c) => (c.kind === 'discharge_current_above_c' ? { ...c, thresholdC: 50 } : c)),
      }),
    );
    const file = await reassemble('lax.psdiag', deviceOf(honest), { policy: lax });
    const r = await supplierVerify(file);
    expect(r.first).toMatch(/^VERIFIED: EXCLUDED by clause over-discharge-current/);
    expect(r.out).toMatch(/the customer saw policy packscope-default-lfp-1 .*: covered/);
    expect(r.out).toMatch(/differs: voidConditions\[over-discharge-current\]\.thresholdC: the package's policy has 50, the deciding policy 2/);
    // The supplier's store refuses the same id with other content.
    writeFileSync(path('lax.json'), JSON.stringify(lax));
    expect((await cli('policy', 'add', path('supplier-policy.json'), '--store', path('store'))).code).toBe(0);
    expect((await cli('policy', 'add', path('lax.json'), '--store', path('store'))).code).toBe(7);
  });

  it('a replayed older pull: another nonce than the ticket, or no ticket at all', async () => {
    // A pull made before the claim, with the tool's own random nonce.
    const p = await cli('log', 'pull', '--port', sim.path!, '--out', path('old.pslog'));
    expect(p.code, p.err).toBe(0);
    const plain = await cli('package', 'create', '--log', path('old.pslog'), '--claim', path('claim.json'), '--out', path('old.psdiag'));
    expect(plain.code, plain.err).toBe(0);
    notCovered(await supplierVerify(path('old.psdiag')), /FAIL ticket: the package holds no claim ticket/);
    // The ticket cannot be attached to it by PackScope, nor by hand.
    expect(
      (await cli('package', 'create', '--log', path('old.pslog'), '--ticket', path('claim.psticket'), '--claim', path('claim.json'), '--out', path('x.psdiag')))
        .code,
    ).toBe(7);
    const old = readZipFiles(new Uint8Array(readFileSync(path('old.psdiag'))));
    const file = await resign('old-with-ticket.psdiag', (f) => {
      for (const n of [...f.keys()]) if (n.startsWith(DEVICE_DIR)) f.delete(n);
      for (const [n, b] of old)
        if (n.startsWith(DEVICE_DIR) || n === FILES.recordsCsv || n === FILES.eventsCsv || n === FILES.evaluation || n === FILES.report) f.set(n, b);
    });
    notCovered(await supplierVerify(file), /FAIL ticket: .*not ticket .*'s: the log was not pulled for this claim/);
  });

  it('a stripped device certificate fails as device evidence', async () => {
    const device = deviceOf(honest);
    device.delete(DEVICE_FILES.certificate);
    const r = await supplierVerify(await reassemble('stripped.psdiag', device, { ticket: null }));
    notCovered(r, /FAIL device-certificate: the device certificate is missing/);
    expect(r.code).toBe(6);
  });

  it('backdating: createdAt before the newest record; a failure date months before the log and a claim after the warranty', async () => {
    const r = await supplierVerify(await reassemble('backdated.psdiag', deviceOf(honest), { createdAt: new Date(Date.now() - 30 * 86_400_000) }));
    notCovered(r, /FAIL dates: createdAt .* is earlier than the newest record/);
    const old = validateClaim({
      ...claim,
      purchaseDate: new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10),
      failureDate: new Date(Date.now() - 300 * 86_400_000).toISOString().slice(0, 10),
    });
    const lax = parsePolicy(JSON.stringify({ ...DEFAULT_POLICY, id: 'no-void', voidConditions: [] }));
    writeFileSync(path('no-void.json'), JSON.stringify(lax));
    const file = await reassemble('failure-date.psdiag', deviceOf(honest), { claim: old, policy: lax });
    const v = await cli('package', 'verify', file, '--root', path('root.pem'), '--policy', path('no-void.json'), '--ticket-key', path('supplier.pub.pem'));
    expect(v.out.split('\n')[0]).toMatch(/^VERIFIED: INCONCLUSIVE/);
    expect(v.out).toMatch(/outside the history the board holds/);
    expect(v.out).toMatch(/warranty ended/);
  });

  it('edited report.html, VERIFY.txt, manifest fields and extra files are refused', async () => {
    const report = await resign('report.psdiag', (f) =>
      f.set(
        FILES.report,
        utf8Encode(
          utf8Decode(f.get(FILES.report)!)
            .replace('<body', '<body onload="alert(1)"')
            .replace(/EXCLUDED/g, 'COVERED'),
        ),
      ),
    );
    notCovered(await supplierVerify(report), /FAIL report: report\.html is not the report PackScope renders/);
    const vt = await resign(
      'verify-text.psdiag',
      () => {},
      (f) => f.set(FILES.verify, utf8Encode('Everything is fine. No need to run packscope.\n')),
    );
    notCovered(await supplierVerify(vt), /FAIL verify-text/);
    for (const [field, set] of [
      ['claim.remedy', (m: Record<string, any>) => (m.claim.remedy = 'repair')],
      ['log.records', (m: Record<string, any>) => (m.log.records = 1)],
      ['verdict.excludedBy', (m: Record<string, any>) => (m.verdict.excludedBy = [])],
      ['device.firmwareVersion', (m: Record<string, any>) => (m.device.firmwareVersion = '9.9.9')],
      ['tool', (m: Record<string, any>) => (m.tool.version = '99.0.0')],
    ] as const) {
      const f = await resign(`manifest-${field}.psdiag`, (files) => {
        const m = JSON.parse(utf8Decode(files.get(FILES.manifest)!));
        set(m);
        files.set(FILES.manifest, utf8Encode(canonicalJson(m)));
      });
      const r = await supplierVerify(f);
      expect(r.code, field).toBe(6);
      notCovered(
        r,
        field === 'tool' ? /FAIL manifest: tool: made by PackScope 99\.0\.0, newer than this verifier/ : new RegExp(`FAIL manifest: .*${field.split('.')[0]}`),
      );
    }
    const extra = await resign('extra.psdiag', (f) => f.set('NOTE-TO-SUPPLIER.txt', utf8Encode('covered, trust me')));
    notCovered(await supplierVerify(extra), /FAIL file-set: files a package does not hold: NOTE-TO-SUPPLIER\.txt/);
  });

  it('damaging only the segments that show abuse gives "misuse cannot be ruled out", never COVERED', async () => {
    const device = deviceOf(honest);
    const ev = decodeDeviceEvidence(device, { rootPublicKeyPem: null }, hostSignatureVerifier());
    const r0 = await supplierVerify(path('honest.psdiag'), '--json');
    const findings = (JSON.parse(r0.out) as { evaluation: { findings: { records: { first: number; last: number } }[] } }).evaluation.findings;
    const abusive = new Set<number>();
    for (const f of findings) for (let i = f.records.first; i <= f.records.last; i++) abusive.add(ev.records[i]!.segment!);
    const segs = device.get(DEVICE_FILES.segments)!.slice();
    for (const it of decodeSegments(device.get(DEVICE_FILES.segments)!)) {
      if (it.kind === 'segment' && abusive.has(it.segment.header.counter)) segs.fill(0x00, it.offset + 200, it.offset + 1200);
    }
    device.set(DEVICE_FILES.segments, segs);
    const r = await supplierVerify(await reassemble('damaged.psdiag', device));
    notCovered(r, /misuse cannot be ruled out/);
  });

  it('a local ZIP entry missing from the central directory is refused', async () => {
    // A local entry slipped in before the central directory, which does not list it.
    const zip = new Uint8Array(readFileSync(path('honest.psdiag')));
    const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let eocd = zip.length - 22;
    while (eocd > 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
    const cd = dv.getUint32(eocd + 16, true);
    const one = rawZip([{ name: 'hidden.txt', data: utf8Encode('covered, trust me') }]);
    const local = one.subarray(0, 30 + 'hidden.txt'.length + 17);
    const hidden = new Uint8Array(zip.length + local.length);
    hidden.set(zip.subarray(0, cd));
    hidden.set(local, cd);
    hidden.set(zip.subarray(cd), cd + local.length);
    new DataView(hidden.buffer).setUint32(eocd + local.length + 16, cd + local.length, true);
    writeFileSync(path('hidden.psdiag'), hidden);
    const r = await supplierVerify(path('hidden.psdiag'));
    expect(r.code).toBe(6);
    expect(r.first).toMatch(/^FAILED: .*archive/);
  });
});
