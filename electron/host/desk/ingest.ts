/**
 * `desk ingest`: finds the packages (files, or every .psdiag under a folder), hashes each one and
 * skips digests already stored or seen twice in this run (a package is stored once), verifies the
 * rest in parallel (pool.ts) and stores each result as it arrives, with progress. The database is
 * written by this process alone, one package per transaction, so an interrupted ingest keeps
 * everything it finished and the next run picks up the rest.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import type { WallClock } from '../../../shared/desk/wall-clock.js';
import { readInput } from '../evidence/files.js';
import { MAX_PACKAGE_BYTES } from '../evidence/package-file.js';
import { ProgressMeter } from '../util/progress.js';
import { inProcessPool, processPool } from './pool.js';
import { DeskStore } from './store.js';
import type { DeskTrust } from './supplier.js';

export interface IngestItem {
  file: string;
  sha256: string | null;
  /** stored: verified and stored now; duplicate: this digest was stored already or earlier in this run; error: not read or not verified. */
  outcome: 'stored' | 'duplicate' | 'error';
  claimId: string | null;
  ok: boolean | null;
  verdict: string | null;
  line: string;
}

export interface IngestSummary {
  files: number;
  stored: number;
  duplicates: number;
  failedVerification: number;
  errors: number;
  workers: number;
  seconds: number;
  items: IngestItem[];
}

export interface IngestOptions {
  inputs: readonly string[];
  store: DeskStore;
  trust: DeskTrust;
  /** Worker processes (0: verify in this process). */
  jobs: number;
  wall: WallClock;
  /** When the packages reached the supplier (e.g. the e-mail's date), epoch ms; default: as each is stored. */
  receivedAtMs?: number;
  progress?: (p: TransferProgress & { file: string }) => void;
  signal?: AbortSignal;
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && e.name.toLowerCase().endsWith('.psdiag')) out.push(p);
  }
}

/** The package files named: files as given, folders searched for *.psdiag. Missing ones are an error before anything runs. */
export function packageFiles(inputs: readonly string[]): string[] {
  if (!inputs.length) throw new PackscopeError('USAGE', 'desk ingest needs at least one package file or folder');
  const out: string[] = [];
  for (const i of inputs) {
    let st;
    try {
      st = statSync(i);
    } catch {
      throw new PackscopeError('NOT_FOUND', `${i}: no such file or folder`);
    }
    if (st.isDirectory()) walk(i, out);
    else out.push(i);
  }
  return out;
}

export async function ingest(o: IngestOptions): Promise<IngestSummary> {
  const t0 = o.wall.clock.now();
  const files = packageFiles(o.inputs);
  const known = await o.store.knownDigests();
  const items: IngestItem[] = [];
  const todo: { file: string; sha256: string }[] = [];
  for (const file of files) {
    try {
      const sha256 = createHash('sha256')
        .update(readInput(file, 'package', MAX_PACKAGE_BYTES))
        .digest('hex');
      if (known.has(sha256)) {
        items.push({ file, sha256, outcome: 'duplicate', claimId: null, ok: null, verdict: null, line: 'already stored' });
      } else {
        known.add(sha256);
        todo.push({ file, sha256 });
      }
    } catch (e) {
      items.push({ file, sha256: null, outcome: 'error', claimId: null, ok: null, verdict: null, line: (e as Error).message });
    }
  }
  const recordsDir = mkdtempSync(join(tmpdir(), 'packscope-desk-'));
  const jobs = Math.max(0, Math.min(o.jobs, todo.length));
  const pool = jobs === 0 ? inProcessPool(o.trust, recordsDir) : processPool(jobs, o.trust, recordsDir);
  const meter = new ProgressMeter(files.length, 2000, o.wall.clock);
  let done = files.length - todo.length;
  let storing: Promise<void> = Promise.resolve();
  try {
    let next = 0;
    const lane = async () => {
      while (next < todo.length && !o.signal?.aborted) {
        const { file } = todo[next++]!;
        let item: IngestItem;
        try {
          const v = await pool.verify(file);
          // One writer: results are stored in the order they arrive, one transaction each.
          const stored = (storing = storing.then(async () => {
            await o.store.addPackage(v, basename(file), o.receivedAtMs ?? o.wall.nowMs());
            if (v.records) rmSync(v.records.path, { force: true });
          }));
          await stored;
          item = { file, sha256: v.sha256, outcome: 'stored', claimId: DeskStore.claimIdOf(v), ok: v.ok, verdict: v.verdict, line: v.line };
        } catch (e) {
          item = { file, sha256: null, outcome: 'error', claimId: null, ok: null, verdict: null, line: (e as Error).message };
        }
        items.push(item);
        done++;
        o.progress?.({ ...meter.update(done), file });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, pool.size) }, lane));
  } finally {
    await pool.close();
    rmSync(recordsDir, { recursive: true, force: true });
  }
  if (o.signal?.aborted) throw new PackscopeError('CANCELLED', `ingest interrupted after ${done} of ${files.length} packages; run it again to continue`);
  const order = new Map(files.map((f, i) => [f, i]));
  items.sort((a, b) => order.get(a.file)! - order.get(b.file)!);
  return {
    files: files.length,
    stored: items.filter((i) => i.outcome === 'stored').length,
    duplicates: items.filter((i) => i.outcome === 'duplicate').length,
    failedVerification: items.filter((i) => i.outcome === 'stored' && i.ok === false).length,
    errors: items.filter((i) => i.outcome === 'error').length,
    workers: jobs,
    seconds: (o.wall.clock.now() - t0) / 1000,
    items,
  };
}
