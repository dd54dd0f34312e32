import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { policyHash, policyJsonSchema, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { cli } from '../evidence/cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'packscope-policy-'));
// The default policy store lives in the config directory: keep it inside this test's directory.
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
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
    expect(r.out.endsWith(`; sha256 ${policyHash(DEFAULT_POLICY)}`)).toBe(true);
    const j = await cli('policy', 'check', file('ok.json', DEFAULT_POLICY), '--json');
    expect(JSON.parse(j.out)).toMatchObject({ valid: true, id: DEFAULT_POLICY.id, version: null, sha256: policyHash(DEFAULT_POLICY), inspections: 0 });
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

  it('usage names every subcommand', async () => {
    const r = await cli('policy');
    expect(r.code).toBe(2);
    for (const sub of ['check', 'add', 'list', 'schema', 'default']) expect(r.err).toContain(`packscope policy ${sub}`);
    expect((await cli('policy', 'list', 'extra')).code).toBe(2);
  });
});

describe('packscope policy: the policy store', () => {
  const acme = (version: number | undefined, periodDays = 365): WarrantyPolicy => {
    const p: WarrantyPolicy = { ...structuredClone(DEFAULT_POLICY), id: 'acme-lfp', title: 'ACME LFP warranty', warranty: { periodDays, doaDays: 30 } };
    if (version !== undefined) p.version = version;
    return p;
  };

  it('add, list, and a reused id and version with different content refused by check and add', async () => {
    const store = join(dir, 'store-a');
    expect((await cli('policy', 'list', '--store', store)).out).toBe(`no policies stored in ${store}`);
    const v1 = acme(1);
    const h1 = policyHash(v1);
    const added = await cli('policy', 'add', file('v1.json', v1), '--store', store);
    expect(added.code).toBe(0);
    expect(added.out).toContain(`added policy "acme-lfp" version 1`);
    expect(added.out).toContain(`sha256 ${h1}`);
    const again = await cli('policy', 'add', file('v1.json', v1), '--store', store, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ valid: true, added: false, sha256: h1, version: 1 });

    // Same id and version, different content: exit 7 naming both hashes.
    const changed = acme(1, 730);
    const h2 = policyHash(changed);
    for (const sub of ['check', 'add']) {
      const r = await cli('policy', sub, file('changed.json', changed), '--store', store);
      expect(r.code).toBe(7);
      expect(r.out).toContain(`conflicts with the policy store (1 problem)`);
      expect(r.out).toContain(`version: policy "acme-lfp" version 1 is already stored with different content (sha256 ${h1}); this one is sha256 ${h2}`);
    }
    const j = await cli('policy', 'check', file('changed.json', changed), '--store', store, '--json');
    expect(j.code).toBe(7);
    expect(JSON.parse(j.out)).toMatchObject({ valid: false, id: 'acme-lfp', sha256: h2, problems: [{ path: 'version' }] });

    // With a new version it is fine.
    const v2 = acme(2, 730);
    const ok = await cli('policy', 'check', file('v2.json', v2), '--store', store);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`sha256 ${policyHash(v2)}`);
    expect((await cli('policy', 'add', file('v2.json', v2), '--store', store)).code).toBe(0);

    const list = await cli('policy', 'list', '--store', store);
    expect(list.out.split('\n')).toEqual([`acme-lfp\t1\t${h1}\tACME LFP warranty`, `acme-lfp\t2\t${policyHash(v2)}\tACME LFP warranty`]);
    const lj = await cli('policy', 'list', '--store', store, '--json');
    expect(JSON.parse(lj.out)).toEqual([
      { id: 'acme-lfp', version: 1, sha256: h1, title: 'ACME LFP warranty' },
      { id: 'acme-lfp', version: 2, sha256: policyHash(v2), title: 'ACME LFP warranty' },
    ]);
  });

  it('without --store, the store in the config directory is used', async () => {
    const p = acme(undefined);
    expect((await cli('policy', 'add', file('plain.json', p))).code).toBe(0);
    const list = await cli('policy', 'list', '--json');
    expect(JSON.parse(list.out)).toEqual([{ id: 'acme-lfp', version: null, sha256: policyHash(p), title: 'ACME LFP warranty' }]);
    const r = await cli('policy', 'check', file('plain2.json', acme(undefined, 400)));
    expect(r.code).toBe(7);
    expect(r.out).toContain('id: policy "acme-lfp" (no version) is already stored with different content');
    // An invalid policy is refused by add before the store is touched.
    const bad = { ...acme(3), version: 0 };
    const b = await cli('policy', 'add', file('bad-version.json', bad));
    expect(b.code).toBe(7);
    expect(b.out).toContain('version: ');
    expect(JSON.parse((await cli('policy', 'list', '--json')).out)).toHaveLength(1);
  });
});
