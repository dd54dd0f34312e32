import { readFileSync } from 'node:fs';
import { PackscopeError } from '../../../../shared/errors.js';
import { DEFAULT_POLICY } from '../../../../shared/warranty/default-policy.js';
import { checkPolicy, policyHash, policyJsonSchema, POLICY_SCHEMA_ID, type PolicyProblem, type WarrantyPolicy } from '../../../../shared/warranty/policy.js';
import { PolicyStore } from '../../evidence/policy-store.js';
import { parseCommandArgs, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope policy check POLICY.json [--store DIR] [--json]   validate a warranty policy; every problem is named by its path
  packscope policy add POLICY.json [--store DIR] [--json]     check a policy and keep it in the policy store
  packscope policy list [--store DIR] [--json]                list stored policies: id, version, sha256, title
  packscope policy schema                                      print the policy's JSON Schema (draft 2020-12)
  packscope policy default                                     print the default policy

A policy is identified by the full SHA-256 of its canonical JSON. check and add also refuse a
policy whose id (and version, or both without one) is already stored with different content: a
changed policy needs a new version. The store is DIR, default $PACKSCOPE_CONFIG_DIR/policies (else
$XDG_CONFIG_HOME/packscope/policies, else ~/.config/packscope/policies).

Exit codes: 0 valid (added), 7 invalid policy or reused id and version, 3 file not found, 2 usage.
The format is documented in shared/warranty/POLICY.md.`;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${path}: no such file`);
    if (code === 'EISDIR') throw new PackscopeError('NOT_FOUND', `${path} is a directory, not a policy file`);
    if (code === 'EACCES') throw new PackscopeError('PERMISSION', `${path}: permission denied`);
    throw new PackscopeError('IO', `${path}: ${(e as Error).message}`);
  }
}

/** Reads and validates a policy file, then checks it against the store. */
function examine(file: string, store: PolicyStore): { policy: WarrantyPolicy | null; problems: PolicyProblem[] } {
  const text = readText(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { policy: null, problems: [{ path: '', message: `not valid JSON: ${(e as Error).message}` }] };
  }
  const r = checkPolicy(json);
  if (!r.ok) return { policy: null, problems: r.problems };
  return { policy: r.policy, problems: store.check(r.policy) };
}

function describePolicy(p: WarrantyPolicy): string {
  return (
    `"${p.id}"${p.version !== undefined ? ` version ${p.version}` : ''}: ${p.warranty.periodDays}-day warranty, ${p.warranty.doaDays}-day DOA, ` +
    `${p.voidConditions.length} void condition(s), ${p.defectIndicators.length} defect indicator(s), ${(p.inspections ?? []).length} inspection(s)`
  );
}

function summaryJson(p: WarrantyPolicy, sha256: string) {
  return {
    schema: POLICY_SCHEMA_ID,
    id: p.id,
    version: p.version ?? null,
    sha256,
    voidConditions: p.voidConditions.length,
    defectIndicators: p.defectIndicators.length,
    inspections: (p.inspections ?? []).length,
  };
}

function reportProblems(ctx: CliContext, file: string, policy: WarrantyPolicy | null, problems: PolicyProblem[], json: boolean): void {
  if (json) {
    ctx.out(JSON.stringify({ valid: false, schema: POLICY_SCHEMA_ID, ...(policy ? { id: policy.id, sha256: policyHash(policy) } : {}), problems }));
    return;
  }
  const what = policy
    ? `policy ${describePolicy(policy)} (sha256 ${policyHash(policy)}) conflicts with the policy store`
    : `not a valid ${POLICY_SCHEMA_ID} policy`;
  ctx.out(`${file}: ${what} (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
  for (const p of problems) ctx.out(`  ${p.path || '(document)'}: ${p.message}`);
}

export default {
  summary: 'Check, store and list warranty policies, or print the schema or the default policy',
  usage,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { store: { type: 'string' } }, true);
    const [sub, file, ...rest] = positionals;
    if (rest.length) throw new PackscopeError('USAGE', `unexpected argument '${rest[0]}'`);
    if (sub === 'schema' || sub === 'default' || sub === 'list') {
      if (file !== undefined) throw new PackscopeError('USAGE', `unexpected argument '${file}'`);
    }
    if (values.store === '') throw new PackscopeError('USAGE', '--store needs a directory');
    if (sub === 'schema') {
      ctx.out(JSON.stringify(policyJsonSchema(), null, 2));
      return EXIT.OK;
    }
    if (sub === 'default') {
      ctx.out(JSON.stringify({ $schema: './policy.schema.json', ...DEFAULT_POLICY }, null, 2));
      return EXIT.OK;
    }
    const store = new PolicyStore(values.store);
    if (sub === 'list') {
      const all = store.list();
      if (values.json) {
        ctx.out(JSON.stringify(all.map((p) => ({ id: p.id, version: p.version, sha256: p.sha256, title: p.title }))));
      } else if (all.length === 0) {
        ctx.out(`no policies stored in ${store.dir}`);
      } else {
        for (const p of all) ctx.out(`${p.id}\t${p.version ?? '-'}\t${p.sha256}\t${p.title}`);
      }
      return EXIT.OK;
    }
    if (sub !== 'check' && sub !== 'add') throw new PackscopeError('USAGE', sub ? `unknown subcommand '${sub}'\n${usage}` : usage);
    if (!file) throw new PackscopeError('USAGE', `policy ${sub} needs a POLICY.json file`);
    const { policy, problems } = examine(file, store);
    if (!policy || problems.length) {
      reportProblems(ctx, file, policy, problems, values.json === true);
      return EXIT.REFUSED;
    }
    const sha256 = policyHash(policy);
    if (sub === 'check') {
      if (values.json) ctx.out(JSON.stringify({ valid: true, ...summaryJson(policy, sha256) }));
      else ctx.out(`${file}: valid ${POLICY_SCHEMA_ID} policy ${describePolicy(policy)}; sha256 ${sha256}`);
      return EXIT.OK;
    }
    const added = store.add(policy);
    if (values.json) ctx.out(JSON.stringify({ valid: true, added: added.added, store: store.dir, ...summaryJson(policy, sha256) }));
    else {
      ctx.out(
        added.added
          ? `${file}: added policy ${describePolicy(policy)} to ${store.dir}; sha256 ${sha256}`
          : `${file}: policy ${describePolicy(policy)} is already stored in ${store.dir}; sha256 ${sha256}`,
      );
    }
    return EXIT.OK;
  },
} satisfies CommandModule;
