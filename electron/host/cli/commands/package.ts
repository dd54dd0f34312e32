import { PackscopeError } from '../../../../shared/errors.js';
import { parseClaim } from '../../../../shared/evidence/claim.js';
import { DEFAULT_POLICY } from '../../../../shared/evidence/default-policy.js';
import { describeMeasurement, type Evaluation } from '../../../../shared/evidence/engine.js';
import type { PackageVerification } from '../../../../shared/evidence/package.js';
import { parsePolicy } from '../../../../shared/evidence/policy.js';
import { extractPackage } from '../../evidence/extract.js';
import { readInput } from '../../evidence/files.js';
import { FileKeyStore } from '../../evidence/keystore.js';
import { createPackageFile, MAX_PACKAGE_BYTES, readPhotos, verifyPackageFile } from '../../evidence/package-file.js';
import { evidenceFromPort, evidenceFromPslog } from '../../evidence/sources.js';
import { parseCommandArgs, requireOption, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope package create (--port PATH | --log FILE.pslog) --claim CLAIM.json [--policy POLICY.json]
                           [--photo FILE …] --out FILE.psdiag [--json]
      Build a signed diagnosis package and print the warranty verdict (covered, excluded, inconclusive).
      --port pulls the black box from a connected pack first; --log uses a log pulled earlier.
      CLAIM.json: customer, contact, model, serial, purchaseDate (YYYY-MM-DD), description,
      remedy (repair | replacement | consultation), optional failureDate.
      The package is signed with this installation's key (created on first use in
      $PACKSCOPE_CONFIG_DIR, $XDG_CONFIG_HOME/packscope or ~/.config/packscope).
  packscope package verify FILE.psdiag --root ROOT.pem [--json]
      Check everything: hashes, both signatures, device certificate chain to ROOT.pem, segment
      signatures and chain, CSVs against a fresh decode, and the evaluation recomputed.
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
        `${f.from} – ${f.to}, records ${f.records.first}–${f.records.last} (extreme ${f.records.extreme})`,
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
  });
  if ((values.port === undefined) === (values.log === undefined)) throw new PackscopeError('USAGE', 'give exactly one of --port PATH or --log FILE.pslog');
  const out = requireOption(values.out, 'out');
  const claim = parseClaim(readInput(requireOption(values.claim, 'claim'), 'claim', 1 << 20));
  const policy = values.policy ? parsePolicy(readInput(values.policy, 'policy', 1 << 20)) : DEFAULT_POLICY;
  const photos = readPhotos(values.photo ?? []);
  const parts = values.log
    ? await evidenceFromPslog(values.log)
    : await evidenceFromPort(values.port!, { signal: ctx.signal, ...(values.baud ? { baud: Number(values.baud) } : {}), progress: (line) => ctx.err(line) });
  const keyStore = new FileKeyStore();
  const r = await createPackageFile({ parts, claim, policy, photos, out, keyStore });
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
        installKey: r.manifest.installKey,
      }),
    );
  } else {
    ctx.out(e.summary);
    printEvaluation(ctx, e);
    ctx.out(`package: ${r.path} (${r.bytes} bytes, sha256 ${r.sha256})`);
    ctx.out(`signed by installation key ${r.manifest.installKey.fingerprint} (${keyStore.location})`);
  }
  return EXIT.OK;
}

function printVerification(ctx: CliContext, v: PackageVerification): void {
  ctx.out(v.line);
  for (const c of v.checks) ctx.out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.detail}`);
  if (v.manifest) ctx.out(`  device ${v.manifest.device.model} ${v.manifest.device.serial}, created ${v.manifest.createdAt}, policy ${v.manifest.policy.id}`);
  if (v.evaluation) {
    ctx.out(`  recomputed verdict: ${v.evaluation.verdict}`);
    printEvaluation(ctx, v.evaluation);
  }
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { root: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'package verify needs exactly one FILE.psdiag');
  const v = await verifyPackageFile(positionals[0]!, requireOption(values.root, 'root'));
  if (values.json) {
    ctx.out(
      JSON.stringify({
        ok: v.ok,
        line: v.line,
        verdict: v.evaluation?.verdict ?? null,
        checks: v.checks,
        manifest: v.manifest,
        evaluation: v.evaluation,
      }),
    );
  } else printVerification(ctx, v);
  return v.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
}

async function extract(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { to: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'package extract needs exactly one FILE.psdiag');
  const names = extractPackage(readInput(positionals[0]!, 'package', MAX_PACKAGE_BYTES), requireOption(values.to, 'to'));
  if (values.json) ctx.out(JSON.stringify({ directory: values.to, files: names }));
  else ctx.out(`${names.length} files extracted to ${values.to}; see VERIFY.txt there`);
  return EXIT.OK;
}

export default {
  summary: 'Create, verify or extract a signed diagnosis package (.psdiag) for a warranty claim',
  usage,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === 'create') return create(rest, ctx);
    if (sub === 'verify') return verify(rest, ctx);
    if (sub === 'extract') return extract(rest, ctx);
    throw new PackscopeError('USAGE', sub ? `unknown subcommand '${sub}'\n${usage}` : usage);
  },
} satisfies CommandModule;

