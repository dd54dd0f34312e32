import { readFileSync } from 'node:fs';
import { PackscopeError } from '../../../../shared/errors.js';
import { DEFAULT_POLICY } from '../../../../shared/evidence/default-policy.js';
import { checkPolicy, policyHash, policyJsonSchema, POLICY_SCHEMA_ID } from '../../../../shared/evidence/policy.js';
import { parseCommandArgs, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope policy check POLICY.json [--json]   validate a warranty policy; every problem is named by its path
  packscope policy schema                        print the policy's JSON Schema (draft 2020-12)
  packscope policy default                       print the default policy

Exit codes: 0 valid, 7 invalid policy, 3 file not found, 2 usage.
The format is documented in shared/evidence/POLICY.md.`;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${path}: no such file`);
    if (code === 'EACCES') throw new PackscopeError('PERMISSION', `${path}: permission denied`);
    throw new PackscopeError('IO', `${path}: ${(e as Error).message}`);
  }
}

export default {
  summary: 'Check a warranty policy file, or print the schema or the default policy',
  usage,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {}, true);
    const [sub, file, ...rest] = positionals;
    if (rest.length) throw new PackscopeError('USAGE', `unexpected argument '${rest[0]}'`);
    if (sub === 'schema') {
      ctx.out(JSON.stringify(policyJsonSchema(), null, 2));
      return EXIT.OK;
    }
    if (sub === 'default') {
      ctx.out(JSON.stringify({ $schema: './policy.schema.json', ...DEFAULT_POLICY }, null, 2));
      return EXIT.OK;
    }
    if (sub !== 'check') throw new PackscopeError('USAGE', sub ? `unknown subcommand '${sub}'\n${usage}` : usage);
    if (!file) throw new PackscopeError('USAGE', 'policy check needs a POLICY.json file');
    const text = readText(file);
    let json: unknown;
    let problems: { path: string; message: string }[] = [];
    try {
      json = JSON.parse(text);
    } catch (e) {
      problems = [{ path: '', message: `not valid JSON: ${(e as Error).message}` }];
    }
    let policy = null;
    if (!problems.length) {
      const r = checkPolicy(json);
      if (r.ok) policy = r.policy;
      else problems = r.problems;
    }
    if (values.json) {
      ctx.out(
        JSON.stringify(
          policy
            ? { valid: true, schema: POLICY_SCHEMA_ID, id: policy.id, sha256: policyHash(policy), voidConditions: policy.voidConditions.length, defectIndicators: policy.defectIndicators.length }
            : { valid: false, schema: POLICY_SCHEMA_ID, problems },
        ),
      );
    } else if (policy) {
      ctx.out(
        `${file}: valid ${POLICY_SCHEMA_ID} policy "${policy.id}": ${policy.warranty.periodDays}-day warranty, ${policy.warranty.doaDays}-day DOA, ` +
          `${policy.voidConditions.length} void condition(s), ${policy.defectIndicators.length} defect indicator(s); sha256 ${policyHash(policy)}`,
      );
    } else {
      ctx.out(`${file}: not a valid ${POLICY_SCHEMA_ID} policy (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
      for (const p of problems) ctx.out(`  ${p.path || '(document)'}: ${p.message}`);
    }
    return policy ? EXIT.OK : EXIT.REFUSED;
  },
} satisfies CommandModule;
