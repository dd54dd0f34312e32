import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PackscopeError } from '../../../../shared/errors.js';
import { DECISION_KINDS } from '../../../../shared/desk/decision.js';
import { QUEUE_VERDICTS, type ClaimSummary, type QueueFilter } from '../../../../shared/desk/queue.js';
import { digestText } from '../../../../shared/desk/sla.js';
import { wallClock } from '../../../../shared/desk/wall-clock.js';
import { exportParquet, FLEET_SQL, fleetView } from '../../desk/fleet.js';
import { ingest } from '../../desk/ingest.js';
import { runVerifyWorker } from '../../desk/pool.js';
import { DeskService } from '../../desk/service.js';
import { DeskStore, type Row } from '../../desk/store.js';
import { loadDecisionSigner, loadSupplier } from '../../desk/supplier.js';
import { writeFileAtomic } from '../../util/files.js';
import { numberOption, parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope desk ingest DIR|FILE.psdiag … --supplier SUPPLIER.json [--db CLAIMS.duckdb] [--jobs N]
                        [--received-at ISO-TIME] [--json]
      Verify every package (files, or every .psdiag under DIR) with the supplier's roots, policy,
      policy store, ticket key and known installation keys, in parallel (--jobs worker processes,
      default one per core; 0 verifies in this process), and store each once by its SHA-256.
      Packages that fail verification are stored as such: their claim's verdict is "failed".
      The SLA clocks start when a package is stored, or at --received-at (the e-mail's date).
  packscope desk list --supplier SUPPLIER.json [--verdict covered,excluded,inconclusive,failed]
                      [--model M] [--firmware V] [--min-age HOURS] [--max-age HOURS] [--open] [--json]
      The queue, most urgent first: overdue claims (highest escalation level first), then by the
      time left to their next deadline.
  packscope desk show CLAIM --supplier SUPPLIER.json [--report OUT.html] [--json]
      One claim: fields, SLA clock, the verifier's checks and findings, photos' hashes, decisions
      and status history; --report writes the verifier's own report.
  packscope desk ack CLAIM --supplier SUPPLIER.json [--note TEXT] [--json]
      Acknowledge a claim (stops its response clock).
  packscope desk decide CLAIM --decision covered|denied|return-requested|more-info-requested
                        --supplier SUPPLIER.json [--clause ID] [--note TEXT] [--out-dir DIR] [--json]
      Sign a decision with the supplier file's signingKey into CLAIM-NN-KIND.psdecision (default in
      decisions/ beside the database). A denial names its policy clause; asking for more
      information says what (--note). The customer checks it with openssl or ssh-keygen as its
      VERIFY.txt says.
  packscope desk digest --supplier SUPPLIER.json [--json]
      The daily digest: overdue claims by escalation level with contacts, what falls due within 24 h.
  packscope desk fleet [--db CLAIMS.duckdb] [--sql] [--json]
      Claims and exclusions by model, firmware, batch and month; misuse rate per clause; monthly
      trends. --sql prints the queries instead (they run on the Parquet export too).
  packscope desk sql "SELECT …" [--db CLAIMS.duckdb] [--json]
      Any read-only SQL over the claims database (tables packages, checks, findings, claims,
      records, photos, decisions, status_history; views fleet_claims, fleet_findings).
  packscope desk export --out DIR [--db CLAIMS.duckdb] [--json]
      Parquet, partitioned by month: DIR/{claims,findings,records,decisions}/month=YYYY-MM/*.parquet.

--db defaults to $PACKSCOPE_DESK_DB, else claims.duckdb in the current folder; --supplier to
$PACKSCOPE_DESK_SUPPLIER.

Exit codes: 0 ok, 2 usage, 3 file not found, 7 refused (database in use or newer, existing output),
8 a file that does not decode, 9 cannot write.`;

function dbPath(v: string | undefined): string {
  return v ?? process.env.PACKSCOPE_DESK_DB ?? 'claims.duckdb';
}

async function withService<T>(values: { db?: string; supplier?: string }, ctx: CliContext, fn: (s: DeskService) => Promise<T>): Promise<T> {
  const supplierPath = values.supplier ?? process.env.PACKSCOPE_DESK_SUPPLIER;
  const supplier = loadSupplier(requireOption(supplierPath, 'supplier'));
  const path = dbPath(values.db);
  const store = await DeskStore.open(path);
  try {
    return await fn(new DeskService(store, supplier, wallClock(ctx.clock), join(dirname(resolve(path)), 'decisions')));
  } finally {
    store.close();
  }
}

async function withStore<T>(db: string | undefined, fn: (s: DeskStore) => Promise<T>): Promise<T> {
  const store = await DeskStore.open(dbPath(db));
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

const hours = (msLeft: number) => {
  const h = Math.abs(msLeft) / 3_600_000;
  const t = h >= 48 ? `${(h / 24).toFixed(1)} d` : `${h.toFixed(1)} h`;
  return msLeft < 0 ? `overdue ${t}` : `${t} left`;
};

function sla(c: ClaimSummary): string {
  if (!c.clock.open) return 'closed';
  const parts = [];
  if (c.clock.responseOverdue && c.respondedAtMs === null) parts.push('RESPONSE OVERDUE');
  if (c.clock.resolutionOverdue) parts.push(`OVERDUE L${c.clock.level} ${c.clock.levelName}`);
  parts.push(hours(c.clock.slackMs));
  return parts.join(', ');
}

function printTable(ctx: CliContext, rows: Row[]): void {
  if (!rows.length) return ctx.out('(no rows)');
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join('|') : String(v));
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  ctx.out(cols.map((c, i) => c.padEnd(w[i]!)).join('  '));
  for (const r of rows) ctx.out(cols.map((c, i) => cell(r[c]).padEnd(w[i]!)).join('  '));
}

async function ingestCmd(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { supplier: { type: 'string' }, db: { type: 'string' }, jobs: { type: 'string' }, 'received-at': { type: 'string' } },
    true,
  );
  const jobs = numberOption(values.jobs, 'jobs', availableParallelism(), 0, 256);
  if (!Number.isInteger(jobs)) throw new PackscopeError('USAGE', '--jobs must be a whole number');
  const receivedAtMs = values['received-at'] === undefined ? undefined : Date.parse(values['received-at']);
  if (receivedAtMs !== undefined && (!Number.isFinite(receivedAtMs) || receivedAtMs > Date.now() + 60_000))
    throw new PackscopeError('USAGE', `--received-at must be a past date and time (ISO 8601, e.g. 2026-12-07T09:30:00Z), got '${values['received-at']}'`);
  return withService(values, ctx, async (s) => {
    const r = await ingest({
      inputs: positionals,
      store: s.store,
      trust: s.supplier.trust,
      jobs,
      wall: s.wall,
      ...(receivedAtMs !== undefined ? { receivedAtMs } : {}),
      signal: ctx.signal,
      progress: (p) =>
        ctx.err(`${p.done}/${p.total} packages, ${p.rate.toFixed(1)}/s${p.etaSeconds !== null ? `, ETA ${Math.ceil(p.etaSeconds)} s` : ''}: ${p.file}`),
    });
    if (values.json) ctx.out(JSON.stringify(r));
    else {
      for (const i of r.items) ctx.out(`${i.outcome.padEnd(9)} ${i.claimId ?? '-'}  ${i.file}: ${i.line}`);
      ctx.out(
        `${r.files} packages: ${r.stored} stored (${r.failedVerification} failed verification), ${r.duplicates} already stored, ${r.errors} errors; ` +
          `${r.seconds.toFixed(1)} s with ${r.workers || 'no'} worker${r.workers === 1 ? '' : 's'}`,
      );
    }
    return r.errors ? EXIT.VERIFY_FAILED : EXIT.OK;
  });
}

function filterOf(values: Record<string, string | boolean | undefined>): QueueFilter {
  const f: QueueFilter = {};
  if (typeof values.verdict === 'string') {
    const vs = values.verdict.split(',').map((v) => v.trim());
    for (const v of vs)
      if (!(QUEUE_VERDICTS as readonly string[]).includes(v)) throw new PackscopeError('USAGE', `--verdict: '${v}' is not one of ${QUEUE_VERDICTS.join(', ')}`);
    f.verdict = vs as QueueFilter['verdict'];
  }
  if (typeof values.model === 'string') f.model = values.model;
  if (typeof values.firmware === 'string') f.firmware = values.firmware;
  if (typeof values['min-age'] === 'string') f.minAgeHours = numberOption(values['min-age'], 'min-age', 0, 0);
  if (typeof values['max-age'] === 'string') f.maxAgeHours = numberOption(values['max-age'], 'max-age', 0, 0);
  if (values.open) f.openOnly = true;
  return f;
}

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    supplier: { type: 'string' },
    db: { type: 'string' },
    verdict: { type: 'string' },
    model: { type: 'string' },
    firmware: { type: 'string' },
    'min-age': { type: 'string' },
    'max-age': { type: 'string' },
    open: { type: 'boolean' },
  });
  const filter = filterOf(values);
  return withService(values, ctx, async (s) => {
    const q = await s.queue(filter);
    if (values.json) ctx.out(JSON.stringify(q));
    else
      printTable(
        ctx,
        q.map((c) => ({
          claim: c.claimId,
          sla: sla(c),
          status: c.status,
          verdict: c.verdict,
          model: c.model,
          firmware: c.firmware,
          serial: c.serial,
          received: new Date(c.receivedAtMs).toISOString().slice(0, 16).replace('T', ' '),
        })),
      );
    return EXIT.OK;
  });
}

async function show(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { supplier: { type: 'string' }, db: { type: 'string' }, report: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'desk show needs exactly one CLAIM id');
  return withService(values, ctx, async (s) => {
    const d = await s.show(positionals[0]!);
    if (values.report) {
      const report = await s.report(d.summary.claimId);
      if (!report) throw new PackscopeError('VERIFY_FAILED', `no report: the package of ${d.summary.claimId} did not decode (${d.summary.line})`);
      writeFileAtomic(values.report, report);
    }
    if (values.json) {
      ctx.out(JSON.stringify(d));
      return EXIT.OK;
    }
    const c = d.summary;
    ctx.out(c.line);
    ctx.out(
      `claim ${c.claimId}: ${c.status}; SLA ${sla(c)} (level ${c.clock.level}, ${c.clock.levelName}${c.clock.contacts.length ? ': ' + c.clock.contacts.join(', ') : ''})`,
    );
    ctx.out(
      `  customer ${d.claim.customer ?? '?'} <${d.claim.contact ?? '?'}>, ${c.model ?? '?'} ${c.serial ?? '?'}, firmware ${c.firmware ?? '?'}, batch ${c.batch ?? '?'}`,
    );
    ctx.out(
      `  purchased ${d.claim.purchaseDate ?? '?'}, failed ${d.claim.failureDate ?? '?'}, asks for ${d.claim.remedy ?? '?'}: ${d.claim.description ?? ''}`,
    );
    for (const k of d.checks) ctx.out(`  ${k.ok ? 'ok  ' : 'FAIL'} ${k.id}: ${k.detail}`);
    for (const f of d.findings) ctx.out(`  ${f.type === 'void' ? 'misuse' : 'defect'} ${f.clause}: ${f.quantity} ${f.measured} ${f.unit} for ${f.durationS} s`);
    for (const p of d.photos) ctx.out(`  photo ${p.name} sha256 ${p.sha256}`);
    for (const x of d.decisions) ctx.out(`  decision ${x.seq} ${x.kind}${x.clause ? ` (${x.clause})` : ''}: ${x.note} → ${x.filePath}`);
    for (const h of d.history) ctx.out(`  ${new Date(h.atMs).toISOString()} ${h.status}: ${h.note}`);
    return EXIT.OK;
  });
}

async function ack(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { supplier: { type: 'string' }, db: { type: 'string' }, note: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'desk ack needs exactly one CLAIM id');
  return withService(values, ctx, async (s) => {
    const c = await s.acknowledge(positionals[0]!, values.note ?? '');
    ctx.out(values.json ? JSON.stringify(c) : `${c.claimId} acknowledged; SLA ${sla(c)}`);
    return EXIT.OK;
  });
}

async function decide(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      supplier: { type: 'string' },
      db: { type: 'string' },
      decision: { type: 'string' },
      clause: { type: 'string' },
      note: { type: 'string' },
      'out-dir': { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'desk decide needs exactly one CLAIM id');
  const kind = requireOption(values.decision, 'decision');
  if (!(DECISION_KINDS as readonly string[]).includes(kind)) throw new PackscopeError('USAGE', `--decision must be one of ${DECISION_KINDS.join(', ')}`);
  return withService(values, ctx, async (s) => {
    if (!s.supplier.signingKeyPath) throw new PackscopeError('USAGE', `the supplier file ${s.supplier.path} names no signingKey to sign decisions with`);
    const signer = loadDecisionSigner(s.supplier.signingKeyPath);
    const svc = values['out-dir'] ? new DeskService(s.store, s.supplier, s.wall, values['out-dir']) : s;
    const r = await svc.decide(positionals[0]!, { kind, clause: values.clause ?? null, note: values.note ?? '' }, signer);
    ctx.out(values.json ? JSON.stringify(r) : `${r.decision.claimId}: ${r.decision.kind} signed by ${r.decision.supplier.keyFingerprint} → ${r.path}`);
    return EXIT.OK;
  });
}

async function digest(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, { supplier: { type: 'string' }, db: { type: 'string' } });
  return withService(values, ctx, async (s) => {
    const d = await s.digest();
    ctx.out(values.json ? JSON.stringify(d) : digestText(d));
    return EXIT.OK;
  });
}

async function fleet(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, { db: { type: 'string' }, sql: { type: 'boolean' } });
  if (values.sql) {
    if (values.json) ctx.out(JSON.stringify(FLEET_SQL));
    else for (const [k, q] of Object.entries(FLEET_SQL)) ctx.out(`-- ${k}\n${q.replace(/\s+/g, ' ')};`);
    return EXIT.OK;
  }
  return withStore(values.db, async (store) => {
    const v = await fleetView(store);
    if (values.json) ctx.out(JSON.stringify(v));
    else
      for (const [k, rows] of Object.entries(v)) {
        ctx.out(`\n${k}`);
        printTable(ctx, rows);
      }
    return EXIT.OK;
  });
}

async function sql(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { db: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'desk sql needs exactly one query (quote it)');
  const store = await DeskStore.open(dbPath(values.db), { readOnly: true });
  try {
    const rows = await store.all(positionals[0]!).catch((e: Error) => {
      throw new PackscopeError('USAGE', `query failed: ${e.message}`);
    });
    if (values.json) ctx.out(JSON.stringify(rows));
    else printTable(ctx, rows);
    return EXIT.OK;
  } finally {
    store.close();
  }
}

async function exportCmd(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, { db: { type: 'string' }, out: { type: 'string' } });
  const out = requireOption(values.out, 'out');
  return withStore(values.db, async (store) => {
    const r = await exportParquet(store, out);
    if (values.json) ctx.out(JSON.stringify(r));
    else
      ctx.out(
        `${r.files} Parquet files in ${r.dir}: ${Object.entries(r.rows)
          .map(([k, n]) => `${k} ${n} rows`)
          .join(', ')}`,
      );
    return EXIT.OK;
  });
}

export default {
  summary: 'Claims desk for suppliers: ingest and verify packages, SLA queue, signed decisions, fleet view, Parquet export',
  usage,
  run: subcommands('desk', usage, {
    ingest: ingestCmd,
    list,
    show,
    ack,
    decide,
    digest,
    fleet,
    sql,
    export: exportCmd,
    // Internal: one verification worker of desk ingest (electron/host/desk/pool.ts).
    worker: () => runVerifyWorker(),
  }),
} satisfies CommandModule;
