/**
 * The claims database schema (DuckDB, one file) and its migrations. SCHEMA_VERSION is stored in
 * the `meta` table; opening a database runs every migration above its version, in order, inside
 * one transaction each, so an older desk file is brought forward and a newer one is refused
 * (a desk never writes a schema it does not know).
 *
 * Tables: packages (one row per package digest: verification result and verdict, device identity,
 * the verifier's own report), checks, findings, claims (claim fields and current status),
 * records (decoded black-box records, columnar: DuckDB stores each column apart), photos (names and
 * hashes, not images), decisions (each signed decision) and status_history (every status change).
 */
export const SCHEMA_VERSION = 1;

export const MIGRATIONS: { version: number; sql: string[] }[] = [
  {
    version: 1,
    sql: [
      `CREATE TABLE packages (
        sha256 VARCHAR PRIMARY KEY,
        file_name VARCHAR NOT NULL,
        bytes BIGINT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        claim_id VARCHAR NOT NULL,
        ok BOOLEAN NOT NULL,
        line VARCHAR NOT NULL,
        verdict VARCHAR,
        summary VARCHAR,
        excluded_by VARCHAR[] NOT NULL,
        serial VARCHAR,
        model VARCHAR,
        firmware VARCHAR,
        hardware VARCHAR,
        board_id VARCHAR,
        batch VARCHAR,
        source VARCHAR,
        created_at TIMESTAMP,
        log_from TIMESTAMP,
        log_to TIMESTAMP,
        records INTEGER NOT NULL,
        segments INTEGER NOT NULL,
        install_key VARCHAR,
        install_key_pinned BOOLEAN,
        freshness_proven BOOLEAN NOT NULL,
        freshness VARCHAR NOT NULL,
        extent VARCHAR,
        caveats VARCHAR[] NOT NULL,
        policy_id VARCHAR,
        policy_sha256 VARCHAR,
        package_policy_id VARCHAR,
        policy_differences INTEGER NOT NULL,
        customer_verdict VARCHAR,
        report VARCHAR
      )`,
      `CREATE TABLE checks (package_sha256 VARCHAR NOT NULL, n INTEGER NOT NULL, id VARCHAR NOT NULL, ok BOOLEAN NOT NULL, detail VARCHAR NOT NULL)`,
      `CREATE TABLE findings (
        package_sha256 VARCHAR NOT NULL,
        n INTEGER NOT NULL,
        clause VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        quantity VARCHAR NOT NULL,
        measured DOUBLE NOT NULL,
        unit VARCHAR NOT NULL,
        duration_s DOUBLE NOT NULL,
        from_ts TIMESTAMP,
        to_ts TIMESTAMP,
        first_record INTEGER NOT NULL,
        last_record INTEGER NOT NULL,
        segment_first INTEGER,
        segment_last INTEGER
      )`,
      `CREATE TABLE claims (
        claim_id VARCHAR PRIMARY KEY,
        package_sha256 VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,
        customer VARCHAR,
        contact VARCHAR,
        model VARCHAR,
        serial VARCHAR,
        purchase_date DATE,
        failure_date DATE,
        description VARCHAR,
        remedy VARCHAR,
        status VARCHAR NOT NULL,
        status_at TIMESTAMP NOT NULL,
        responded_at TIMESTAMP,
        resolved_at TIMESTAMP
      )`,
      `CREATE TABLE records (
        package_sha256 VARCHAR NOT NULL,
        idx INTEGER NOT NULL,
        segment INTEGER,
        t TIMESTAMP NOT NULL,
        pack_voltage DOUBLE NOT NULL,
        current DOUBLE NOT NULL,
        soc DOUBLE NOT NULL,
        cell_min DOUBLE NOT NULL,
        cell_max DOUBLE NOT NULL,
        temp_max DOUBLE NOT NULL,
        cell_voltages DOUBLE[] NOT NULL,
        temperatures DOUBLE[] NOT NULL,
        status INTEGER NOT NULL,
        alarms INTEGER NOT NULL,
        event INTEGER NOT NULL
      )`,
      `CREATE TABLE photos (package_sha256 VARCHAR NOT NULL, name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, bytes BIGINT NOT NULL)`,
      `CREATE TABLE decisions (
        claim_id VARCHAR NOT NULL,
        seq INTEGER NOT NULL,
        decided_at TIMESTAMP NOT NULL,
        kind VARCHAR NOT NULL,
        clause VARCHAR,
        note VARCHAR NOT NULL,
        package_sha256 VARCHAR NOT NULL,
        key_fingerprint VARCHAR NOT NULL,
        file_sha256 VARCHAR NOT NULL,
        file_path VARCHAR NOT NULL,
        PRIMARY KEY (claim_id, seq)
      )`,
      `CREATE TABLE status_history (claim_id VARCHAR NOT NULL, seq INTEGER NOT NULL, changed_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, note VARCHAR NOT NULL, PRIMARY KEY (claim_id, seq))`,
      // The fleet relations (fleet.ts): one row per claim, one per finding of a verified package.
      // Exported to Parquet as they are, so the fleet SQL runs unchanged on the export.
      `CREATE VIEW fleet_claims AS
       SELECT c.claim_id, strftime(c.received_at, '%Y-%m') AS month, c.received_at, coalesce(p.model, 'unknown') AS model,
              coalesce(p.firmware, 'unknown') AS firmware, coalesce(p.batch, 'unknown') AS batch,
              CASE WHEN p.ok THEN p.verdict ELSE 'failed' END AS verdict, c.status, p.excluded_by,
              (SELECT max(r.cell_max - r.cell_min) * 1000 FROM records r WHERE r.package_sha256 = p.sha256 AND abs(r.current) < 1) AS cell_drift_mv,
              (SELECT min(f.measured) FROM findings f WHERE f.package_sha256 = p.sha256 AND f.kind = 'capacity_fade') AS faded_capacity_ah
       FROM claims c JOIN packages p ON p.sha256 = c.package_sha256`,
      `CREATE VIEW fleet_findings AS
       SELECT c.claim_id, strftime(c.received_at, '%Y-%m') AS month, coalesce(p.model, 'unknown') AS model,
              coalesce(p.firmware, 'unknown') AS firmware, coalesce(p.batch, 'unknown') AS batch,
              f.clause, f.type, f.kind, f.measured, f.unit, f.duration_s
       FROM claims c JOIN packages p ON p.sha256 = c.package_sha256 JOIN findings f ON f.package_sha256 = p.sha256
       WHERE p.ok`,
    ],
  },
];
