import { PackscopeError } from '../../../../shared/errors.js';
import { parseClaim } from '../../../../shared/warranty/claim.js';
import { DEFAULT_POLICY } from '../../../../shared/warranty/default-policy.js';
import { describeMeasurement } from '../../../../shared/warranty/engine.js';
import type { Evaluation } from '../../../../shared/warranty/evaluation.js';
import type { PackageVerification } from '../../../../shared/evidence/package.js';
import { parsePolicy } from '../../../../shared/warranty/policy.js';
import { extractPackage } from '../../evidence/extract.js';
import { readInput } from '../../evidence/files.js';
import { writeFileAtomic } from '../../util/files.js';
import { ed25519FromOpenSsh, ed25519PublicKeyFromPem } from '../../../../shared/codec/ed25519-keys.js';
import { MAX_TICKET_FILE_BYTES, parseTicketFile, ticketNonce } from '../../../../shared/evidence/ticket.js';
import { PolicyStore } from '../../evidence/policy-store.js';
import { configDir } from '../../evidence/keystore.js';
import { chooseInstallationKeyStore } from '../../evidence/key-protection.js';
import { createPackageFile, readPhotos, readRootPem, verifyPackageFile } from '../../evidence/package-file.js';
import { fileSource } from '../../evidence/file-io.js';
import { PACKAGE_ZIP_LIMITS } from '../../../../shared/evidence/package-verify.js';
import { evidenceFromPort, streamedEvidenceFromPslog } from '../../evidence/sources.js';
import { parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope package create (--port PATH | --log FILE.pslog) --claim CLAIM.json [--policy POLICY.json]
                           [--ticket FILE.psticket] [--photo FILE …] --out FILE.psdiag [--json]
      Build a signed diagnosis package and print the warranty verdict (covered, excluded, inconclusive).
      --port pulls the black box from a connected pack first; --log uses a log pulled earlier.
      CLAIM.json: customer, contact, model, serial, purchaseDate (YYYY-MM-DD), description,
      remedy (repair | replacement | consultation), optional failureDate.
      --ticket: the claim ticket your supplier sent; the log must have been pulled with it
      (log pull --ticket, or --port here, which pulls with it).
      The package is signed with this installation's key (created on first use in
      $PACKSCOPE_CONFIG_DIR, $XDG_CONFIG_HOME/packscope or ~/.config/packscope).
  packscope package verify FILE.psdiag --root ROOT.pem [--policy POLICY.json] [--policy-store DIR]
                           [--ticket-key SUPPLIER.pub.pem] [--ticket FILE.psticket]
                           [--install-key KEY.pub …] [--allowed-signers FILE] [--report OUT.html] [--json]
      Check everything: hashes, both signatures, device certificate chain to ROOT.pem, the
      extent the board attested (every segment present), segment signatures and chain, dates,
      CSVs, manifest, report and the customer's evaluation recomputed; then decide with YOUR
      policy (--policy, else your store's copy of the package's policy, else PackScope's default).
      --ticket-key requires the claim ticket you issued to be the checkpoint's nonce (fresh pull).
      --install-key / --allowed-signers: installation keys you know; another key fails.
      --report writes the verifier's own report of its decision.
      Prints one verdict line first, then the details. Exit 0 verified, 6 failed.
  packscope package extract FILE.psdiag --to DIR
      Unpack into a new directory (after the same safety checks) to run the commands in VERIFY.txt.

Exit codes: 0 ok, 2 usage, 3 file or port not found, 6 verification failed, 7 refused (bad policy,
unsafe archive), 8 file does not decode, 9 cannot write.`;

function printEvaluation(ctx: CliContext, e: Evaluation): void {
  for (const m of e.missing) ctx.out(`  missing: ${m.message}`);
  for (const f of e.findings) {
    ctx.out(
      `  ${f.type === 'void' ? 'misuse ' : 'defect '} ${f.clause}: ${describeMeasurement(f)} for ${f.durationS} s, ` +
        `${f.from} – ${f.to}, records ${f.records.first}–${f.records.last} (extreme ${f.records.extreme})` +
        (f.segments.first === null ? '' : `, device segments ${f.segments.first}${f.segments.last !== f.segments.first ? `–${f.segments.last}` : ''}`),
    );
  }
}

async function create(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    port: { type: 'string' },
    log: { type: 'string' },
    claim: { type: 'string' },
    policy: { type: 'string' },
    photo: { type: 'string', multiple: true },
    out: { type: 'string' },
    baud: { type: 'string' },
    ticket: { type: 'string' },
  });
  if ((values.port === undefined) === (values.log === undefined)) throw new PackscopeError('USAGE', 'give exactly one of --port PATH or --log FILE.pslog');
  const out = requireOption(values.out, 'out');
  const claimFile = requireOption(values.claim, 'claim');
  const claim = parseClaim(readInput(claimFile, 'claim', 1 << 20), claimFile);
  const policy = values.policy ? parsePolicy(readInput(values.policy, 'policy', 1 << 20)) : DEFAULT_POLICY;
  const photos = readPhotos(values.photo ?? []);
  const ticket = values.ticket ? readInput(values.ticket, 'claim ticket', MAX_TICKET_FILE_BYTES) : null;
  const nonce = ticket ? ticketNonce(parseTicketFile(ticket)) : undefined;
  const parts = values.log
    ? await streamedEvidenceFromPslog(values.log)
    : await evidenceFromPort(values.port!, {
        signal: ctx.signal,
        ...(values.baud ? { baud: Number(values.baud) } : {}),
        ...(nonce ? { nonce } : {}),
        progress: (line) => ctx.err(line),
      });
  // The CLI keeps the key in a mode-0600 file (no keyring here) and says what that means.
  const { store: keyStore, protection } = chooseInstallationKeyStore({ dir: configDir(), host: 'cli' });
  const r = await createPackageFile({ parts, claim, policy, photos, out, keyStore, ticket });
  const e = r.evaluation;
  if (values.json) {
    ctx.out(
      JSON.stringify({
        verdict: e.verdict,
        summary: e.summary,
        excludedBy: e.excludedBy,
        defects: e.defects,
        missing: e.missing,
        findings: e.findings,
        package: { path: r.path, bytes: r.bytes, sha256: r.sha256 },
        device: r.manifest.device,
        installKey: { ...r.manifest.installKey, protection: { kind: protection.kind, location: protection.location, headline: protection.headline } },
      }),
    );
  } else {
    ctx.out(e.summary);
    printEvaluation(ctx, e);
    ctx.out(`package: ${r.path} (${r.bytes} bytes, sha256 ${r.sha256})`);
    ctx.out(`signed by installation key ${r.manifest.installKey.fingerprint} (${keyStore.location})`);
    ctx.out(`note: ${protection.headline} ${protection.meaning}`);
  }
  return EXIT.OK;
}

function printVerification(ctx: CliContext, v: PackageVerification): void {
  ctx.out(v.line);
  for (const c of v.checks) ctx.out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.detail}`);
  if (v.extent) ctx.out(`  extent: ${v.extent}`);
  ctx.out(`  freshness: ${v.freshness.detail}`);
  if (v.manifest) ctx.out(`  device ${v.manifest.device.model} ${v.manifest.device.serial}, created ${v.manifest.createdAt} (customer's clock)`);
  const d = v.policy.decidedBy;
  if (d) ctx.out(`  decided by policy ${d.id} (sha256 ${d.sha256}${d.source === 'default' ? ", PackScope's default" : ', yours'})`);
  if (v.policy.package) {
    ctx.out(
      `  the customer saw policy ${v.policy.package.id} (sha256 ${v.policy.package.sha256})${v.customerEvaluation ? `: ${v.customerEvaluation.verdict}` : ''}`,
    );
    for (const diff of v.policy.differences.slice(0, 20)) ctx.out(`    differs: ${diff}`);
    if (v.policy.differences.length > 20) ctx.out(`    … and ${v.policy.differences.length - 20} more`);
  }
  for (const c of v.caveats) ctx.out(`  note: ${c}`);
  if (v.evaluation) {
    ctx.out(`  decided verdict: ${v.evaluation.verdict}`);
    printEvaluation(ctx, v.evaluation);
  }
}

/** Ed25519 public keys from PEM, OpenSSH lines or allowed_signers files (every ssh-ed25519 key in it). */
function readEd25519Keys(path: string, what: string): Uint8Array[] {
  const text = new TextDecoder().decode(readInput(path, what, 1 << 20));
  try {
    if (text.includes('-----BEGIN PUBLIC KEY-----')) return [ed25519PublicKeyFromPem(text)];
    const keys: Uint8Array[] = [];
    for (const line of text.split('\n')) {
      const m = /(ssh-ed25519 [A-Za-z0-9+/=]+)/.exec(line.trim().startsWith('#') ? '' : line);
      if (m) keys.push(ed25519FromOpenSsh(m[1]!));
    }
    if (keys.length) return keys;
  } catch (e) {
    throw new PackscopeError('DECODE', `${path}: ${(e as Error).message}`);
  }
  throw new PackscopeError('DECODE', `${path} holds no Ed25519 public key (PEM, OpenSSH or allowed_signers)`);
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      root: { type: 'string' },
      policy: { type: 'string' },
      'policy-store': { type: 'string' },
      'ticket-key': { type: 'string' },
      ticket: { type: 'string' },
      'install-key': { type: 'string', multiple: true },
      'allowed-signers': { type: 'string' },
      report: { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'package verify needs exactly one FILE.psdiag');
  const rootPem = readRootPem(requireOption(values.root, 'root'));
  const policy = values.policy ? parsePolicy(readInput(values.policy, 'policy', 1 << 20)) : null;
  const store = new PolicyStore(values['policy-store']);
  const installKeys = [
    ...(values['install-key'] ?? []).flatMap((p) => readEd25519Keys(p, 'installation key')),
    ...(values['allowed-signers'] ? readEd25519Keys(values['allowed-signers'], 'allowed_signers file') : []),
  ];
  const ticketKey = values['ticket-key'] ? readEd25519Keys(values['ticket-key'], 'ticket key')[0]! : null;
  const ticket = values.ticket ? readInput(values.ticket, 'claim ticket', MAX_TICKET_FILE_BYTES) : null;
  const v = await verifyPackageFile(positionals[0]!, {
    rootPem,
    policy,
    policyBySha256: (sha) => store.get(sha),
    ticketKey,
    ticket,
    installKeys,
  });
  if (values.report) {
    if (!v.report) throw new PackscopeError('VERIFY_FAILED', `${v.line}\nno report written: the package's evidence could not be evaluated`);
    writeFileAtomic(values.report, v.report);
  }
  if (values.json) {
    ctx.out(
      JSON.stringify({
        ok: v.ok,
        line: v.line,
        verdict: v.evaluation?.verdict ?? null,
        checks: v.checks,
        manifest: v.manifest,
        evaluation: v.evaluation,
        customerEvaluation: v.customerEvaluation,
        policy: v.policy,
        installKey: v.installKey,
        freshness: v.freshness,
        extent: v.extent,
        caveats: v.caveats,
        ...(values.report ? { report: values.report } : {}),
      }),
    );
  } else printVerification(ctx, v);
  return v.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
}

async function extract(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { to: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'package extract needs exactly one FILE.psdiag');
  const to = requireOption(values.to, 'to');
  const names = extractPackage(fileSource(positionals[0]!, 'package'), to, PACKAGE_ZIP_LIMITS);
  if (values.json) ctx.out(JSON.stringify({ directory: values.to, files: names }));
  else ctx.out(`${names.length} files extracted to ${values.to}; see VERIFY.txt there`);
  return EXIT.OK;
}

export default {
  summary: 'Create, verify or extract a signed diagnosis package (.psdiag) for a warranty claim',
  usage,
  run: subcommands('package', usage, { create, verify, extract }),
} satisfies CommandModule;
