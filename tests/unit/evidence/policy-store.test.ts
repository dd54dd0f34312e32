import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { defaultPolicyDir, PolicyStore } from '../../../electron/host/evidence/policy-store.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { policyHash, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { PackscopeError } from '../../../shared/errors.js';

const fresh = () => new PolicyStore(join(mkdtempSync(join(tmpdir(), 'packscope-policies-')), 'policies'));
const v = (version: number | undefined, periodDays = 365): WarrantyPolicy => {
  const p: WarrantyPolicy = { ...structuredClone(DEFAULT_POLICY), id: 'acme-lfp', warranty: { periodDays, doaDays: 30 } };
  if (version !== undefined) p.version = version;
  return p;
};

describe('policy store', () => {
  it('lives in the config directory, found as for the installation key', () => {
    expect(defaultPolicyDir({ PACKSCOPE_CONFIG_DIR: '/x', XDG_CONFIG_HOME: '/y' })).toBe('/x/policies');
    expect(defaultPolicyDir({ XDG_CONFIG_HOME: '/y' })).toBe('/y/packscope/policies');
    expect(defaultPolicyDir({})).toMatch(/\.config\/packscope\/policies$/);
  });

  it('an absent directory is an empty store', () => {
    const s = fresh();
    expect(s.list()).toEqual([]);
    expect(s.byId('acme-lfp')).toEqual([]);
    expect(s.get(policyHash(DEFAULT_POLICY))).toBeNull();
    expect(s.get('not-a-hash')).toBeNull();
    expect(s.check(DEFAULT_POLICY)).toEqual([]);
  });

  it('keeps each policy as <sha256>.json holding exactly the hashed bytes', () => {
    const s = fresh();
    const a = s.add(v(1));
    expect(a).toMatchObject({ added: true, id: 'acme-lfp', version: 1, sha256: policyHash(v(1)), title: DEFAULT_POLICY.title });
    const files = readdirSync(s.dir);
    expect(files).toEqual([`${a.sha256}.json`]);
    const bytes = readFileSync(join(s.dir, files[0]!));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(v(1));
    expect(s.get(a.sha256)).toEqual(v(1));
    expect(s.get(a.sha256.toUpperCase())).toEqual(v(1));
    expect(s.entry(a.sha256)).toMatchObject({ sha256: a.sha256, version: 1 });
  });

  it('adding the same policy again is a no-op; new versions are kept side by side', () => {
    const s = fresh();
    s.add(v(1));
    expect(s.add(v(1)).added).toBe(false);
    expect(s.add(v(2, 730)).added).toBe(true);
    s.add(DEFAULT_POLICY);
    expect(s.list().map((p) => [p.id, p.version])).toEqual([
      ['acme-lfp', 1],
      ['acme-lfp', 2],
      [DEFAULT_POLICY.id, null],
    ]);
    expect(s.byId('acme-lfp').map((p) => p.version)).toEqual([1, 2]);
    expect(readdirSync(s.dir)).toHaveLength(3);
  });

  it('refuses an id and version reused for different content, naming both hashes', () => {
    const s = fresh();
    const first = s.add(v(1)).sha256;
    const changed = v(1, 730);
    const problems = s.check(changed);
    expect(problems).toEqual([
      {
        path: 'version',
        message: `policy "acme-lfp" version 1 is already stored with different content (sha256 ${first}); this one is sha256 ${policyHash(changed)}. A changed policy needs a new version.`,
      },
    ]);
    try {
      s.add(changed);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PackscopeError);
      expect((e as PackscopeError).code).toBe('REFUSED');
      expect((e as Error).message).toContain(first);
      expect((e as Error).message).toContain(policyHash(changed));
    }
    expect(s.list()).toHaveLength(1);
    // A new version, or a policy without a version beside versioned ones, is fine.
    expect(s.check(v(2, 730))).toEqual([]);
    expect(s.check(v(undefined, 730))).toEqual([]);
    // Both without a version count as the same version.
    s.add(v(undefined));
    expect(s.check(v(undefined, 730))).toEqual([
      expect.objectContaining({ path: 'id', message: expect.stringMatching(/^policy "acme-lfp" \(no version\) is already stored with different content/) }),
    ]);
  });

  it('skips files that are not named by a hash, and refuses a file whose content is not its name', () => {
    const s = fresh();
    const a = s.add(v(1));
    writeFileSync(join(s.dir, 'notes.txt'), 'hello');
    writeFileSync(join(s.dir, `.${a.sha256}.123.tmp`), '{');
    expect(s.list()).toHaveLength(1);
    const wrong = '0'.repeat(64);
    writeFileSync(join(s.dir, `${wrong}.json`), readFileSync(join(s.dir, `${a.sha256}.json`)));
    expect(() => s.list()).toThrow(/holds a policy whose sha256 is [0-9a-f]{64}, not the one its name says/);
    writeFileSync(join(s.dir, `${wrong}.json`), '{"schema":1}');
    expect(() => s.get(wrong)).toThrow(/is not a valid policy/);
  });

  it('property: whatever is added, no id and version ever names two contents', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ version: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), days: fc.integer({ min: 365, max: 367 }) }), {
          maxLength: 12,
        }),
        (adds) => {
          const s = fresh();
          for (const a of adds) {
            const p = v(a.version, a.days);
            const ok = s.check(p).length === 0;
            try {
              s.add(p);
              expect(ok).toBe(true);
            } catch (e) {
              expect(ok).toBe(false);
              expect((e as PackscopeError).code).toBe('REFUSED');
            }
          }
          const seen = new Map<string, string>();
          for (const p of s.list()) {
            const key = `${p.id}/${p.version}`;
            expect(seen.get(key) ?? p.sha256).toBe(p.sha256);
            seen.set(key, p.sha256);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
