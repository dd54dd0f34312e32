import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '../../../shared/evidence/default-policy.js';
import { policyJsonSchema } from '../../../shared/evidence/policy.js';
import { cli } from './cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'packscope-policy-'));
const file = (name: string, content: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

describe('packscope policy', () => {
  it('check: a valid policy exits 0 and names it', async () => {
    const r = await cli('policy', 'check', file('ok.json', DEFAULT_POLICY));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid packscope-warranty-policy\/1 policy "packscope-default-lfp-1": 365-day warranty, 90-day DOA/);
  });

  it('check: an invalid policy exits 7 and explains every problem', async () => {
    const bad = structuredClone(DEFAULT_POLICY) as any;
    bad.voidConditions[0].thresholdC = 0;
    delete bad.warranty.periodDays;
    const r = await cli('policy', 'check', file('bad.json', bad));
    expect(r.code).toBe(7);
    expect(r.out).toContain('(2 problems)');
    expect(r.out).toContain('warranty.periodDays: Invalid input: expected number, received undefined');
    expect(r.out).toContain('voidConditions[0].thresholdC: Too small: expected number to be >0');
    const j = await cli('policy', 'check', file('bad.json', bad), '--json');
    expect(j.code).toBe(7);
    expect(JSON.parse(j.out)).toMatchObject({ valid: false, problems: expect.arrayContaining([{ path: 'warranty.periodDays', message: expect.any(String) }]) });
    const notJson = await cli('policy', 'check', file('nojson.json', '{"a":'));
    expect(notJson.code).toBe(7);
    expect(notJson.out).toMatch(/\(document\): not valid JSON/);
  });

  it('check: a missing file exits 3; a missing argument is a usage error', async () => {
    expect((await cli('policy', 'check', join(dir, 'absent.json'))).code).toBe(3);
    expect((await cli('policy', 'check')).code).toBe(2);
    expect((await cli('policy', 'frobnicate')).code).toBe(2);
  });

  it('schema and default print the published documents', async () => {
    expect(JSON.parse((await cli('policy', 'schema')).out)).toEqual(policyJsonSchema());
    const d = JSON.parse((await cli('policy', 'default')).out);
    expect(d.id).toBe(DEFAULT_POLICY.id);
  });
});
