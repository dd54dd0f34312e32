/**
 * The app's claims desk (Claims screen): the same DeskService as `packscope desk`, on the
 * supplier file and claims database the user opened. The database is opened for each request and
 * closed after it, so the command-line ingest can add packages while the app shows the queue
 * (DuckDB lets one process write a file at a time); requests run one after another. Adding
 * packages from the app runs the same ingest (desk/ingest.ts) as a host job.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { Params, Res } from '../../../shared/api/contract.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import { wallClock } from '../../../shared/desk/wall-clock.js';
import { ingest, type IngestItem } from '../desk/ingest.js';
import { DeskService } from '../desk/service.js';
import { DeskStore } from '../desk/store.js';
import { loadDecisionSigner, loadSupplier, type Supplier } from '../desk/supplier.js';
import { writeFileAtomic } from '../util/files.js';
import { recordsToSeries } from './series.js';

export class DeskApi {
  private opened: { supplier: Supplier; dbPath: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly clock: Clock = realClock) {}

  /** Runs fn with the desk's service on a freshly opened database, one request at a time. */
  private with<T>(fn: (s: DeskService) => Promise<T>, desk = this.opened): Promise<T> {
    const run = async () => {
      if (!desk) throw new PackscopeError('USAGE', 'no claims desk is open: choose the supplier file and the claims database first');
      const store = await DeskStore.open(desk.dbPath);
      try {
        return await fn(new DeskService(store, desk.supplier, wallClock(this.clock), join(dirname(desk.dbPath), 'decisions')));
      } finally {
        store.close();
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async info(s: DeskService): Promise<Res<'desk.open'>> {
    const distinct = async (col: string) =>
      (await s.store.all(`SELECT DISTINCT ${col} AS v FROM packages WHERE ${col} IS NOT NULL ORDER BY 1`)).map((r) => String(r.v));
    const n = await s.store.all('SELECT count(*) AS n FROM claims');
    return {
      supplier: s.supplier.name,
      supplierPath: s.supplier.path,
      dbPath: s.store.path,
      claims: Number(n[0]!.n),
      clauses: s.policyClauses(),
      models: await distinct('model'),
      firmwares: await distinct('firmware'),
      sla: {
        responseHours: s.supplier.sla.responseHours,
        resolutionHours: s.supplier.sla.resolutionHours,
        levels: s.supplier.sla.escalation.map((l) => ({ name: l.name, limitHours: l.limitHours, contacts: l.contacts })),
      },
      canDecide: s.supplier.signingKeyPath !== null,
    };
  }

  async open({ supplierPath, dbPath }: Params<'desk.open'>): Promise<Res<'desk.open'>> {
    const supplier = loadSupplier(supplierPath);
    const db = resolve(dbPath);
    try {
      if (statSync(db).isDirectory()) throw new PackscopeError('USAGE', `${dbPath} is a folder; choose or name a claims database file (.duckdb)`);
    } catch (e) {
      if (e instanceof PackscopeError) throw e;
      // Absent: the desk creates it.
    }
    const desk = { supplier, dbPath: db };
    const info = await this.with((s) => this.info(s), desk);
    this.opened = desk;
    return info;
  }

  /**
   * Adds packages (files, or every .psdiag under a folder) to the open desk: verified in this
   * process, one at a time, so the app's host needs no worker processes; a cancel keeps what was
   * stored. The result sorts every package into added, already there and failed, with the reason.
   */
  async ingest(paths: readonly string[], signal: AbortSignal, progress: (p: TransferProgress) => void): Promise<Res<'desk.ingest'>> {
    const r = await this.with((s) =>
      ingest({
        inputs: paths,
        store: s.store,
        trust: s.supplier.trust,
        jobs: 0,
        wall: s.wall,
        signal,
        progress: ({ file, ...p }) => progress({ ...p, phase: `${p.done} of ${p.total} packages: ${basename(file)}` }),
      }),
    );
    const entry = (i: IngestItem) => ({
      file: i.file,
      claimId: i.claimId,
      verdict: i.verdict,
      verified: i.ok,
      reason: i.outcome === 'duplicate' ? 'already in the desk' : i.line,
    });
    const of = (outcome: IngestItem['outcome']) => r.items.filter((i) => i.outcome === outcome).map(entry);
    return { added: of('stored'), alreadyThere: of('duplicate'), failed: of('error') };
  }

  async current(): Promise<Res<'desk.info'>> {
    return this.opened ? this.with((s) => this.info(s)) : null;
  }

  handlers() {
    return {
      'desk.open': (p: Params<'desk.open'>) => this.open(p),
      'desk.info': () => this.current(),
      'desk.queue': (f: Params<'desk.queue'>) => this.with(async (s) => ({ nowMs: s.wall.nowMs(), claims: await s.queue(f) })),
      'desk.claim': ({ claimId }: Params<'desk.claim'>) =>
        this.with(async (s) => {
          const detail = await s.show(claimId);
          const records = await s.records(claimId);
          return { detail, series: records.length ? recordsToSeries(records) : null };
        }),
      'desk.ack': ({ claimId, note }: Params<'desk.ack'>) => this.with((s) => s.acknowledge(claimId, note)),
      'desk.decide': ({ claimId, kind, clause, note }: Params<'desk.decide'>) =>
        this.with(async (s) => {
          if (!s.supplier.signingKeyPath) throw new PackscopeError('USAGE', `the supplier file ${s.supplier.path} names no signingKey to sign decisions with`);
          const r = await s.decide(claimId, { kind, clause, note }, loadDecisionSigner(s.supplier.signingKeyPath));
          return { path: r.path, sha256: r.sha256, keyFingerprint: r.decision.supplier.keyFingerprint, sequence: r.decision.sequence };
        }),
      'desk.report': ({ claimId, out }: Params<'desk.report'>) =>
        this.with(async (s) => {
          const report = await s.report(claimId);
          if (!report) throw new PackscopeError('VERIFY_FAILED', `no report for ${claimId}: its package's evidence did not decode`);
          writeFileAtomic(out, report);
          return { path: out, bytes: Buffer.byteLength(report) };
        }),
      'desk.digest': () => this.with((s) => s.digest()),
      'desk.fleet': () => this.with((s) => s.fleet() as Promise<Res<'desk.fleet'>>),
    };
  }
}
