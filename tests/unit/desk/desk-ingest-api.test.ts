import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contract } from '../../../shared/api/contract.js';
import { DeskApi } from '../../../electron/host/api/desk.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { makeDeskInbox, type DeskFixture } from '../../support/desk-packages.js';

/**
 * The app's "Add packages" (desk.ingest): the same ingest as the command line, run on the open
 * desk, sorts every package into added, already there and failed, each with its reason; a folder
 * is searched for packages; progress names the package; a cancel stops it; the request is
 * validated at the boundary.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-desk-ingest-'));
let fx: DeskFixture;
const desk = new DeskApi();
const never = new AbortController().signal;

beforeAll(async () => {
  fx = await makeDeskInbox(dir, { count: 3, minutes: 5, forgeEvery: 0, duplicateEvery: 0 });
  await desk.open({ supplierPath: fx.supplier, dbPath: join(dir, 'claims.duckdb') });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('desk.ingest', () => {
  it('validates its request: at least one path and an operation id', () => {
    const req = contract.methods['desk.ingest'].request;
    expect(req.safeParse({ opId: 'a', paths: [] }).success).toBe(false);
    expect(req.safeParse({ paths: ['/x.psdiag'] }).success).toBe(false);
    expect(req.safeParse({ opId: 'a', paths: ['/x.psdiag'], extra: 1 }).success).toBe(false);
    expect(req.safeParse({ opId: 'a', paths: ['/x.psdiag'] }).success).toBe(true);
  });

  it('stops when cancelled, storing nothing it did not finish, and names a missing path', async () => {
    const cancelled = new AbortController();
    cancelled.abort();
    await expect(desk.ingest([fx.packages[1]!.path], cancelled.signal, () => undefined)).rejects.toThrow(/interrupted after 0 of 1/);
    expect((await desk.current())!.claims).toBe(0);
    await expect(desk.ingest([join(dir, 'nowhere')], never, () => undefined)).rejects.toThrow(/no such file or folder/);
  });

  it('adds files and folders once, says what was there already and why one failed', async () => {
    const [first, second, third] = fx.packages.map((p) => p.path);
    const folder = join(dir, 'more');
    mkdirSync(folder);
    writeFileSync(join(folder, 'broken.psdiag'), 'not a package');
    const progress: TransferProgress[] = [];
    // /dev/null: named, but not a file, so it cannot be read; broken.psdiag: read, but no package.
    const r = await desk.ingest([first!, first!, '/dev/null', folder], never, (p) => progress.push(p));
    expect(r.added.map((e) => [e.file, e.verified])).toEqual([
      [first, true],
      [join(folder, 'broken.psdiag'), false],
    ]);
    expect(r.added[0]).toMatchObject({ claimId: expect.stringMatching(/^C-/), verdict: expect.any(String) });
    expect(r.added[1]!.reason).toMatch(/^FAILED/);
    expect(r.alreadyThere).toEqual([expect.objectContaining({ file: first, reason: 'already in the desk' })]);
    expect(r.failed).toEqual([expect.objectContaining({ file: '/dev/null', reason: expect.stringMatching(/not a file/) })]);
    expect(progress.at(-1)).toMatchObject({ done: 4, total: 4 });
    expect(progress.map((p) => p.phase).join('\n')).toMatch(/of 4 packages: /);

    const again = await desk.ingest([first!, second!, third!], never, () => undefined);
    expect(again.added.map((e) => e.file)).toEqual([second, third]);
    expect(again.alreadyThere.map((e) => e.file)).toEqual([first]);
    expect(again.failed).toEqual([]);
    expect((await desk.current())!.claims).toBe(4);
  }, 120_000);

  it('needs an open desk', async () => {
    await expect(new DeskApi().ingest([fx.packages[0]!.path], never, () => undefined)).rejects.toThrow(/no claims desk is open/);
  });
});
