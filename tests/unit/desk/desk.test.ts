import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ed25519 } from '@noble/curves/ed25519.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { wallClock } from '../../../shared/desk/wall-clock.js';
import { DECISION_FILES, DecisionSchema } from '../../../shared/desk/decision.js';
import { ed25519PublicKeyFromPem } from '../../../shared/codec/ed25519-keys.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { ingest } from '../../../electron/host/desk/ingest.js';
import { DeskService } from '../../../electron/host/desk/service.js';
import { DeskStore } from '../../../electron/host/desk/store.js';
import { loadDecisionSigner, loadSupplier } from '../../../electron/host/desk/supplier.js';
import { exportParquet, FLEET_SQL, parquetViews } from '../../../electron/host/desk/fleet.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../electron/host/desk/schema.js';
import { makeDeskInbox, type DeskFixture } from '../../support/desk-packages.js';

/**
 * The claims desk in one process (verification in-process, DuckDB embedded): ingest is idempotent
 * by digest and flags forgeries, the queue follows SLA urgency on a fake clock, decisions are
 * signed and kept with the status history, and the fleet SQL over the Parquet export gives the
 * same numbers as the fleet view over the database.
 */
const H = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'packscope-desk-'));
let fx: DeskFixture;
let store: DeskStore;
let svc: DeskService;
const clock = new VirtualClock(Date.now());
const wall = wallClock(clock, 0);

beforeAll(async () => {
  // 12 packages: 4 and 9 forged (a fabricated log, an edited segment), 5 and 11 duplicates.
  fx = await makeDeskInbox(dir, { count: 12, minutes: 20, forgeEvery: 5, duplicateEvery: 6 });
  store = await DeskStore.open(join(dir, 'claims.duckdb'));
  svc = new DeskService(store, loadSupplier(fx.supplier), wall, join(dir, 'decisions'));
}, 120_000);
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('claims desk', () => {
  it('ingests each package once by digest, stores failures as such, and flags forgeries', async () => {
    const progress: number[] = [];
    const r = await ingest({ inputs: [join(dir, 'inbox')], store, trust: svc.supplier.trust, jobs: 0, wall, progress: (p) => progress.push(p.done) });
    expect(r).toMatchObject({ files: 12, stored: 10, duplicates: 2, errors: 0 });
    const failed = r.items.filter((i) => i.ok === false).length;
    expect(r.failedVerification).toBe(failed);
    expect(progress.at(-1)).toBe(12);
    const byFile = new Map(r.items.map((i) => [i.file, i]));
    for (const p of fx.packages) {
      const item = byFile.get(p.path)!;
      if (p.duplicateOf) expect(item.outcome).toBe('duplicate');
      else if (p.forgery === 'fabricated') expect(item).toMatchObject({ outcome: 'stored', ok: false, line: expect.stringMatching(/^FAILED/) });
      // An edited segment: refused, or a verdict that says misuse cannot be ruled out; never COVERED.
      else if (p.forgery === 'edited') expect(item.ok === false || item.verdict !== 'covered', item.line).toBe(true);
      else expect(item).toMatchObject({ outcome: 'stored', ok: true });
    }
    // Claims come from the verified tickets; the failed package gets a claim of its own.
    const q = await svc.queue();
    expect(q).toHaveLength(10);
    const failedClaims = q.filter((c) => c.verdict === 'failed');
    expect(failedClaims).toHaveLength(failed);
    for (const c of failedClaims) expect(c.claimId).toMatch(/^P-[0-9a-f]{12}$/);
    expect(q.filter((c) => c.claimId.startsWith('C-'))).toHaveLength(10 - failed);
    // Records are stored in columns, one row per decoded record of each verified package.
    const rec = await store.all('SELECT count(*) AS n, count(DISTINCT package_sha256) AS p FROM records');
    expect(rec[0]).toEqual({ n: expect.any(Number), p: 10 - failed });
    expect(Number(rec[0]!.n)).toBeGreaterThan((10 - failed) * 1200);
    const photos = await store.all('SELECT count(*) AS n FROM photos');
    expect(Number(photos[0]!.n)).toBeGreaterThan(0);

    // Again: nothing new, nothing changed.
    const again = await ingest({ inputs: [join(dir, 'inbox')], store, trust: svc.supplier.trust, jobs: 0, wall });
    expect(again).toMatchObject({ stored: 0, duplicates: 12 });
    expect(await svc.queue()).toHaveLength(10);
  });

  it('keeps a schema version and refuses a database from a newer PackScope', async () => {
    expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(MIGRATIONS.at(-1)!.version).toBe(SCHEMA_VERSION);
    const other = join(dir, 'newer.duckdb');
    const s = await DeskStore.open(other);
    await s.run(`UPDATE meta SET value = '${SCHEMA_VERSION + 1}' WHERE key = 'schema_version'`);
    s.close();
    await expect(DeskStore.open(other)).rejects.toThrow(/schema 2; this PackScope knows up to 1/);
  });

  it('sorts the queue by SLA urgency as the fake clock runs, and filters it', async () => {
    const ids = (await svc.queue()).map((c) => c.claimId);
    await svc.acknowledge(ids[0]!, 'looking into it');
    await clock.advance(5 * H);
    let q = await svc.queue();
    // Everything but the acknowledged claim missed its 4-hour response target and comes first.
    expect(q.at(-1)!.claimId).toBe(ids[0]);
    expect(q.slice(0, -1).every((c) => c.clock.responseOverdue)).toBe(true);
    await clock.advance(70 * H);
    q = await svc.queue();
    expect(q.every((c) => c.clock.level === 1 && c.clock.levelName === 'Quality manager')).toBe(true);
    expect((await svc.queue({ verdict: ['failed'] })).every((c) => c.verdict === 'failed')).toBe(true);
    expect((await svc.queue({ model: 'PS-LFP-50' })).every((c) => c.model === 'PS-LFP-50')).toBe(true);
    expect(await svc.queue({ maxAgeHours: 10 })).toEqual([]);
    const d = await svc.digest();
    expect(d.byLevel.map((l) => [l.level, l.claims.length])).toEqual([[1, 10]]);
  });

  it('signs decisions with the supplier key, keeps the status history, and closes the clock on a final one', async () => {
    const signer = loadDecisionSigner(fx.signingKey);
    const q = await svc.queue({ verdict: ['excluded'] });
    const claim = q[0]!;
    const detail = await svc.show(claim.claimId);
    const clause = String(detail.findings.find((f) => f.type === 'void')!.clause);
    await expect(svc.decide(claim.claimId, { kind: 'denied', note: 'no clause' }, signer)).rejects.toThrow(/names the policy clause/);
    await expect(svc.decide(claim.claimId, { kind: 'denied', clause: 'not-a-clause' }, signer)).rejects.toThrow(/not in the policy/);
    await expect(svc.decide(claim.claimId, { kind: 'more-info-requested' }, signer)).rejects.toThrow(/what information/);

    const more = await svc.decide(claim.claimId, { kind: 'more-info-requested', note: 'Photos of the terminals, please.' }, signer);
    expect((await svc.queue()).find((c) => c.claimId === claim.claimId)!.clock.open).toBe(true);
    await clock.advance(H);
    const denied = await svc.decide(claim.claimId, { kind: 'denied', clause, note: 'The log shows the abuse.' }, signer);
    expect(denied.decision).toMatchObject({ sequence: 2, kind: 'denied', clause, package: { sha256: claim.packageSha256 } });
    const after = (await svc.queue()).find((c) => c.claimId === claim.claimId)!;
    expect(after).toMatchObject({ status: 'denied', clock: { open: false } });

    // The decision file: decision.json signed raw and as SSHSIG by the supplier key.
    const files = readZipFiles(new Uint8Array(readFileSync(denied.path)));
    const body = files.get(DECISION_FILES.decision)!;
    expect(DecisionSchema.parse(JSON.parse(utf8Decode(body)))).toEqual(denied.decision);
    const pub = ed25519PublicKeyFromPem(readFileSync(fx.ticketKeyPub, 'utf8'));
    expect(ed25519.verify(files.get(DECISION_FILES.sig)!, body, pub)).toBe(true);
    expect(utf8Decode(files.get(DECISION_FILES.verify)!)).toContain(denied.decision.supplier.keyFingerprint);
    expect(more.path).not.toBe(denied.path);

    const shown = await svc.show(claim.claimId);
    expect(shown.decisions.map((d) => d.kind)).toEqual(['more-info-requested', 'denied']);
    const statuses = shown.history.map((h) => h.status);
    expect(statuses[0]).toBe('new');
    expect(statuses.slice(-2)).toEqual(['more-info-requested', 'denied']);
    expect(shown.hasReport).toBe(true);
    expect(await svc.report(claim.claimId)).toMatch(/<html/i);
    expect((await svc.records(claim.claimId)).length).toBeGreaterThan(1000);
    const covered = (await svc.queue({ verdict: ['covered'] }))[0]!;
    await svc.decide(covered.claimId, { kind: 'covered', note: 'Replacement ships this week.' }, signer);
    expect((await svc.show(covered.claimId)).summary.clock.open).toBe(false);
  });

  it('the fleet SQL over the Parquet export gives the same numbers as the fleet view', async () => {
    const view = await svc.fleet();
    expect(view.model.map((r) => r.key).sort()).toEqual(['PS-LFP-100', 'PS-LFP-12V', 'PS-LFP-50']);
    expect(view.model.reduce((a, r) => a + Number(r.claims), 0)).toBe(10);
    expect(view.misuse.length).toBeGreaterThan(0);
    const out = join(dir, 'export');
    const r = await exportParquet(store, out);
    expect(r.rows.claims).toBe(10);
    await expect(exportParquet(store, out)).rejects.toThrow(/already exists/);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      for (const s of parquetViews(out)) await c.run(s);
      for (const [name, sql] of Object.entries(FLEET_SQL)) {
        const rows = (await c.runAndReadAll(sql))
          .getRowObjectsJS()
          .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
        expect(rows, name).toEqual(view[name as keyof typeof view]);
      }
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });
});
