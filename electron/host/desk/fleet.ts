/**
 * The fleet view: claims and exclusions by model, firmware, production batch and month, misuse
 * rates per policy clause, and monthly trends (exclusions, cell drift at rest, capacity fade). Each
 * table is one SQL query over two relations, fleet_claims and fleet_findings: views in the claims
 * database, and the same relations as Parquet files after `desk export` (partitioned by month), so
 * the queries the app shows run unchanged on DuckDB, Spark SQL or Trino over object storage.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { DeskStore, Row } from './store.js';

export const FLEET_DIMENSIONS = ['model', 'firmware', 'batch', 'month'] as const;
export type FleetDimension = (typeof FLEET_DIMENSIONS)[number];

const counts = `count(*) AS claims,
  count(*) FILTER (WHERE verdict = 'covered') AS covered,
  count(*) FILTER (WHERE verdict = 'excluded') AS excluded,
  count(*) FILTER (WHERE verdict = 'inconclusive') AS inconclusive,
  count(*) FILTER (WHERE verdict = 'failed') AS failed,
  round(count(*) FILTER (WHERE verdict = 'excluded') / nullif(count(*) FILTER (WHERE verdict <> 'failed'), 0), 4) AS exclusion_rate`;

/** The fleet queries, as SQL text (documented in README.md; tests run them on the Parquet export). */
export const FLEET_SQL = {
  ...(Object.fromEntries(FLEET_DIMENSIONS.map((d) => [d, `SELECT ${d} AS key, ${counts} FROM fleet_claims GROUP BY ${d} ORDER BY ${d}`])) as Record<
    FleetDimension,
    string
  >),
  misuse: `SELECT clause, count(DISTINCT claim_id) AS claims,
    round(count(DISTINCT claim_id) / (SELECT nullif(count(*), 0) FROM fleet_claims WHERE verdict <> 'failed'), 4) AS rate
    FROM fleet_findings WHERE type = 'void' GROUP BY clause ORDER BY claims DESC, clause`,
  trends: `SELECT month, count(*) AS claims, count(*) FILTER (WHERE verdict = 'excluded') AS excluded,
    round(avg(cell_drift_mv), 1) AS avg_cell_drift_mv, round(max(cell_drift_mv), 1) AS max_cell_drift_mv,
    count(faded_capacity_ah) AS capacity_fade_claims, round(min(faded_capacity_ah), 2) AS min_capacity_ah
    FROM fleet_claims GROUP BY month ORDER BY month`,
} as const;
export type FleetTable = keyof typeof FLEET_SQL;

export type FleetView = Record<FleetTable, Row[]>;

export async function fleetView(store: Pick<DeskStore, 'all'>): Promise<FleetView> {
  const out: Partial<FleetView> = {};
  for (const [k, sql] of Object.entries(FLEET_SQL)) out[k as FleetTable] = await store.all(sql);
  return out as FleetView;
}

/** What `desk export` writes: each relation as Parquet under <out>/<name>/month=YYYY-MM/. */
export const EXPORT_RELATIONS: Record<string, string> = {
  claims: 'SELECT * FROM fleet_claims',
  findings: 'SELECT * FROM fleet_findings',
  records: `SELECT p.claim_id, p.model, coalesce(p.firmware, 'unknown') AS firmware, r.*, strftime(r.t, '%Y-%m') AS month
    FROM records r JOIN packages p ON p.sha256 = r.package_sha256`,
  decisions: `SELECT d.*, strftime(d.decided_at, '%Y-%m') AS month FROM decisions d`,
};

/** SQL that makes the fleet relations over an export (for DuckDB; Spark and Trino read the same folders). */
export function parquetViews(dir: string): string[] {
  const d = resolve(dir).replace(/'/g, "''");
  return ['claims', 'findings'].map(
    (n) =>
      `CREATE OR REPLACE VIEW fleet_${n} AS SELECT * FROM read_parquet('${d}/${n}/*/*.parquet', hive_partitioning = true, hive_types = {'month': VARCHAR}, union_by_name = true)`,
  );
}

/**
 * Writes the export to a temporary folder beside `out`, then renames it: a reader never sees half
 * an export, and an existing folder is never overwritten.
 */
export async function exportParquet(store: DeskStore, out: string): Promise<{ dir: string; files: number; rows: Record<string, number> }> {
  const target = resolve(out);
  try {
    statSync(target);
    throw new PackscopeError('REFUSED', `${out} already exists; export writes a new folder`);
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const rows: Record<string, number> = {};
  try {
    for (const [name, sql] of Object.entries(EXPORT_RELATIONS)) {
      const n = await store.all(`SELECT count(*) AS n FROM (${sql})`);
      rows[name] = Number(n[0]!.n);
      const dest = join(tmp, name).replace(/'/g, "''");
      // An empty relation still gets its folder, so readers find every relation.
      if (rows[name] === 0) mkdirSync(join(tmp, name));
      else await store.run(`COPY (${sql}) TO '${dest}' (FORMAT PARQUET, PARTITION_BY (month))`);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let files = 0;
  const count = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) count(join(d, e.name));
      else files++;
    }
  };
  count(target);
  return { dir: target, files, rows };
}
