/**
 * The claims database: one DuckDB file (no server) holding packages, verification results,
 * verdicts, findings, claims, decoded records, photo hashes, decisions and status history
 * (schema.ts). One process writes it at a time (DuckDB locks the file); ingestion workers never
 * touch it, they hand their results to the process that holds it.
 */
import { existsSync } from 'node:fs';
import { DuckDBInstance, DuckDBListValue, LIST, listValue, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { PackscopeError } from '../../../shared/errors.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { FINAL_DECISIONS, type DecisionKind } from '../../../shared/desk/decision.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import type { VerifiedPackage } from './verify-one.js';

export type Row = Record<string, unknown>;

/** Milliseconds as a DuckDB TIMESTAMP in SQL: make_timestamp takes microseconds. */
const TS = 'make_timestamp(CAST(? AS BIGINT) * 1000)';
/** A TIMESTAMP column read back as epoch milliseconds (a JS number). */
export const ms = (col: string, as = col) => `CAST(epoch_ms(${col}) AS DOUBLE) AS ${as}`;
const isoMs = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};
const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface ClaimStatusChange {
  status: string;
  note: string;
  atMs: number;
}

export class DeskStore {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    readonly db: DuckDBConnection,
  ) {}

  /** Opens (creating and migrating) the database; readOnly opens an existing one for queries only. */
  static async open(path: string, o: { readOnly?: boolean } = {}): Promise<DeskStore> {
    let instance: DuckDBInstance;
    try {
      if (o.readOnly && !existsSync(path)) throw new PackscopeError('NOT_FOUND', `claims database ${path}: no such file`);
      instance = await DuckDBInstance.create(path, o.readOnly ? { access_mode: 'READ_ONLY' } : {});
    } catch (e) {
      if (e instanceof PackscopeError) throw e;
      const msg = (e as Error).message;
      throw new PackscopeError(/lock/i.test(msg) ? 'REFUSED' : 'IO', `cannot open the claims database ${path}: ${msg}`);
    }
    const store = new DeskStore(path, instance, await instance.connect());
    if (o.readOnly) {
      const v = await store.all(`SELECT value FROM meta WHERE key = 'schema_version'`).catch(() => []);
      if (!v.length) {
        store.close();
        throw new PackscopeError('DECODE', `${path} is not a PackScope claims database`);
      }
    } else await store.migrate();
    return store;
  }

  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
  }

  async all(sql: string, values: DuckDBValue[] = []): Promise<Row[]> {
    const r = await this.db.runAndReadAll(sql, values);
    const rows = r.getRowObjectsJS() as Row[];
    // Counts are BIGINT: as JS numbers they are exact far beyond any desk's size.
    for (const row of rows) for (const k of Object.keys(row)) if (typeof row[k] === 'bigint') row[k] = Number(row[k]);
    return rows;
  }

  async run(sql: string, values: DuckDBValue[] = []): Promise<void> {
    // Lists bound here are lists of text; an empty one has no item type of its own.
    await this.db.run(
      sql,
      values,
      // The binding reads an absent entry as "infer the type"; its typings ask for a full array.
      values.map((v) => (v instanceof DuckDBListValue ? LIST(VARCHAR) : undefined)) as DuckDBType[],
    );
  }

  /** Runs fn in one transaction: all of it lands, or none of it. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const r = await fn();
      await this.run('COMMIT');
      return r;
    } catch (e) {
      await this.run('ROLLBACK');
      throw e;
    }
  }

  async schemaVersion(): Promise<number> {
    await this.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)');
    const r = await this.all(`SELECT value FROM meta WHERE key = 'schema_version'`);
    return r.length ? Number(r[0]!.value) : 0;
  }

  private async migrate(): Promise<void> {
    const have = await this.schemaVersion();
    if (have > SCHEMA_VERSION)
      throw new PackscopeError('REFUSED', `${this.path} has claims database schema ${have}; this PackScope knows up to ${SCHEMA_VERSION}. Update PackScope.`);
    for (const m of MIGRATIONS) {
      if (m.version <= have) continue;
      await this.transaction(async () => {
        for (const s of m.sql) await this.run(s);
        await this.run(`INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)`, [String(m.version)]);
      });
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.all('SELECT 1 FROM packages WHERE sha256 = ?', [sha256])).length > 0;
  }

  async knownDigests(): Promise<Set<string>> {
    return new Set((await this.all('SELECT sha256 FROM packages')).map((r) => String(r.sha256)));
  }

  /** The claim a package belongs to: its verified ticket's claim id, else one of its own. */
  static claimIdOf(p: VerifiedPackage): string {
    return p.ticketClaimId ?? `P-${p.sha256.slice(0, 12)}`;
  }

  /**
   * Stores one verified (or failed) package and opens or updates its claim, in one transaction.
   * Returns false when a package with this digest is already stored (nothing changes).
   */
  async addPackage(p: VerifiedPackage, fileName: string, receivedAtMs: number): Promise<boolean> {
    if (await this.has(p.sha256)) return false;
    const claimId = DeskStore.claimIdOf(p);
    await this.transaction(async () => {
      await this.run(
        `INSERT INTO packages VALUES (?, ?, ?, ${TS}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${TS}, ${TS}, ${TS}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          p.sha256,
          fileName,
          p.bytes,
          receivedAtMs,
          claimId,
          p.ok,
          p.line,
          p.verdict,
          p.summary,
          listValue(p.excludedBy),
          p.device.serial,
          p.device.model,
          p.device.firmware,
          p.device.hardware,
          p.device.boardId,
          p.device.batch,
          p.device.source,
          isoMs(p.createdAt),
          isoMs(p.log.from),
          isoMs(p.log.to),
          p.log.records,
          p.log.segments,
          p.installKey?.fingerprint ?? null,
          p.installKey?.pinned ?? null,
          p.freshness.proven,
          p.freshness.detail,
          p.extent,
          listValue(p.caveats),
          p.policy.id,
          p.policy.sha256,
          p.policy.packageId,
          p.policy.differences,
          p.customerVerdict,
          p.report ? utf8Decode(p.report) : null,
        ].map(nullable),
      );
      for (const [n, c] of p.checks.entries()) await this.run('INSERT INTO checks VALUES (?, ?, ?, ?, ?)', [p.sha256, n, c.id, c.ok, c.detail]);
      for (const [n, f] of p.findings.entries()) {
        await this.run(
          `INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${TS}, ${TS}, ?, ?, ?, ?)`,
          [
            p.sha256,
            n,
            f.clause,
            f.type,
            f.kind,
            f.title,
            f.measured.quantity,
            f.measured.value,
            f.measured.unit,
            f.durationS,
            isoMs(f.from),
            isoMs(f.to),
            f.records.first,
            f.records.last,
            f.segments.first,
            f.segments.last,
          ].map(nullable),
        );
      }
      for (const ph of p.photos) await this.run('INSERT INTO photos VALUES (?, ?, ?, ?)', [p.sha256, ph.name, ph.sha256, ph.bytes]);
      if (p.records) await this.loadRecords(p.sha256, p.records.path, p.records.columns);
      const existing = await this.all('SELECT claim_id FROM claims WHERE claim_id = ?', [claimId]);
      if (existing.length) {
        await this.run(`UPDATE claims SET package_sha256 = ? WHERE claim_id = ?`, [p.sha256, claimId]);
        await this.addHistory(claimId, { status: 'package-received', note: `another package: ${p.line}`, atMs: receivedAtMs });
      } else {
        const c = p.claim;
        await this.run(
          `INSERT INTO claims VALUES (?, ?, ${TS}, ?, ?, ?, ?, CAST(? AS DATE), CAST(? AS DATE), ?, ?, 'new', ${TS}, NULL, NULL)`,
          [
            claimId,
            p.sha256,
            receivedAtMs,
            c?.customer ?? null,
            c?.contact ?? null,
            p.device.model ?? c?.model ?? null,
            p.device.serial ?? c?.serial ?? null,
            c?.purchaseDate ?? null,
            c?.failureDate ?? null,
            c?.description ?? null,
            c?.remedy ?? null,
            receivedAtMs,
          ].map(nullable),
        );
        await this.addHistory(claimId, { status: 'new', note: p.line, atMs: receivedAtMs });
      }
    });
    return true;
  }

  /** Bulk-loads a verified records CSV (shared/blackbox/export.ts columns) into the columnar records table. */
  private async loadRecords(sha256: string, path: string, columns: string[]): Promise<void> {
    const cells = columns.filter((c) => /^cell\d+_V$/.test(c)).map((c) => `CAST(${quoteIdent(c)} AS DOUBLE)`);
    const temps = columns.filter((c) => /^temp_[A-Za-z0-9_]*_C$/.test(c)).map((c) => `CAST(${quoteIdent(c)} AS DOUBLE)`);
    const list = (xs: string[]) => (xs.length ? `list_value(${xs.join(', ')})` : 'CAST([] AS DOUBLE[])');
    await this.run(
      `INSERT INTO records
       SELECT ?, CAST("index" AS INTEGER), TRY_CAST(segment AS INTEGER), make_timestamp(CAST(time_ms AS BIGINT) * 1000),
              CAST(pack_voltage_V AS DOUBLE), CAST(current_A AS DOUBLE), CAST(soc_pct AS DOUBLE),
              coalesce(list_min(${list(cells)}), 0), coalesce(list_max(${list(cells)}), 0), coalesce(list_max(${list(temps)}), 0),
              ${list(cells)}, ${list(temps)},
              CAST(status AS INTEGER), CAST(alarms AS INTEGER), coalesce(TRY_CAST(event_code AS INTEGER), 0)
       FROM read_csv(${quoteLiteral(path)}, header = true, all_varchar = true, delim = ',', quote = '', escape = '')`,
      [sha256],
    );
  }

  async addHistory(claimId: string, c: ClaimStatusChange): Promise<void> {
    const seq = await this.all('SELECT coalesce(max(seq), 0) + 1 AS n FROM status_history WHERE claim_id = ?', [claimId]);
    await this.run(`INSERT INTO status_history VALUES (?, ?, ${TS}, ?, ?)`, [claimId, Number(seq[0]!.n), c.atMs, c.status, c.note]);
  }

  /** Records a status change on a claim: its answer and resolution times follow from the kind. */
  async setStatus(claimId: string, kind: DecisionKind | 'acknowledged', note: string, atMs: number): Promise<void> {
    const final = (FINAL_DECISIONS as readonly string[]).includes(kind);
    await this.run(
      `UPDATE claims SET status = ?, status_at = ${TS}, responded_at = coalesce(responded_at, ${TS}),
         resolved_at = CASE WHEN ? THEN ${TS} ELSE NULL END WHERE claim_id = ?`,
      [kind, atMs, atMs, final, atMs, claimId],
    );
    await this.addHistory(claimId, { status: kind, note, atMs });
  }
}

/** DuckDB binds JS undefined as nothing: every absent value is an explicit NULL. */
function nullable(v: unknown): DuckDBValue {
  return (v === undefined ? null : v) as DuckDBValue;
}
