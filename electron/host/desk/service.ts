/**
 * The claims desk as one service, shared by `packscope desk …` and the app's Claims screen: the
 * queue with SLA clocks, one claim's evidence (the verifier's own report, checks, findings,
 * decisions, status history), acknowledging and deciding a claim (a signed decision file), the
 * daily digest and the fleet view. Time comes from the injected wall clock.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { sshFingerprint } from '../../../shared/codec/ed25519-keys.js';
import {
  DECISION_SCHEMA_ID,
  DecisionInputSchema,
  decisionFiles,
  type Decision,
  type DecisionInput,
  type DecisionSigner,
} from '../../../shared/desk/decision.js';
import { buildQueue, type ClaimRow, type ClaimSummary, type QueueFilter } from '../../../shared/desk/queue.js';
import type { ClaimDetail } from '../../../shared/desk/detail.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { buildDigest, type Digest } from '../../../shared/desk/sla.js';
import type { WallClock } from '../../../shared/desk/wall-clock.js';
import { formatPath } from '../../../shared/util/json-path.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { parsePolicy } from '../../../shared/warranty/policy.js';
import { writeFileAtomic } from '../util/files.js';
import { fleetView, type FleetView } from './fleet.js';
import { ms, type DeskStore, type Row } from './store.js';
import type { Supplier } from './supplier.js';

const CLAIM_ROWS = `SELECT c.claim_id, ${ms('c.received_at', 'received_at')}, ${ms('c.responded_at', 'responded_at')}, ${ms('c.resolved_at', 'resolved_at')},
  c.status, c.customer, c.model, c.serial, p.firmware, p.batch, CASE WHEN p.ok THEN p.verdict ELSE 'failed' END AS verdict, p.line, c.package_sha256
  FROM claims c JOIN packages p ON p.sha256 = c.package_sha256`;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function claimRow(r: Row): ClaimRow {
  return {
    claimId: String(r.claim_id),
    receivedAtMs: Number(r.received_at),
    respondedAtMs: num(r.responded_at),
    resolvedAtMs: num(r.resolved_at),
    status: String(r.status),
    customer: str(r.customer),
    model: str(r.model),
    serial: str(r.serial),
    firmware: str(r.firmware),
    batch: str(r.batch),
    verdict: (r.verdict ?? 'failed') as ClaimRow['verdict'],
    line: String(r.line),
    packageSha256: String(r.package_sha256),
  };
}

export interface DecisionResult {
  decision: Decision;
  path: string;
  sha256: string;
}

export class DeskService {
  constructor(
    readonly store: DeskStore,
    readonly supplier: Supplier,
    readonly wall: WallClock,
    /** Where decision files go (default: beside the database). */
    readonly decisionsDir: string,
  ) {}

  async queue(filter: QueueFilter = {}): Promise<ClaimSummary[]> {
    const rows = (await this.store.all(CLAIM_ROWS)).map(claimRow);
    return buildQueue(rows, this.supplier.sla, this.wall.nowMs(), filter);
  }

  private async summary(claimId: string): Promise<ClaimSummary> {
    const rows = (await this.store.all(`${CLAIM_ROWS} WHERE c.claim_id = ?`, [claimId])).map(claimRow);
    if (!rows.length) throw new PackscopeError('NOT_FOUND', `no claim ${claimId} in ${this.store.path}`);
    return buildQueue(rows, this.supplier.sla, this.wall.nowMs())[0]!;
  }

  async show(claimId: string): Promise<ClaimDetail> {
    const summary = await this.summary(claimId);
    const sha = summary.packageSha256;
    const [c] = await this.store.all(
      `SELECT customer, contact, model, serial, CAST(purchase_date AS VARCHAR) AS purchase_date, CAST(failure_date AS VARCHAR) AS failure_date,
         description, remedy FROM claims WHERE claim_id = ?`,
      [claimId],
    );
    const [p] = await this.store.all(
      `SELECT sha256, file_name, bytes, ${ms('received_at')}, ok, line, verdict, summary, excluded_by, board_id, hardware, source,
         ${ms('created_at')}, ${ms('log_from')}, ${ms('log_to')}, records, segments, install_key, install_key_pinned, freshness_proven, freshness, extent,
         caveats, policy_id, policy_sha256, package_policy_id, policy_differences, customer_verdict, report IS NOT NULL AS has_report
       FROM packages WHERE sha256 = ?`,
      [sha],
    );
    const count = await this.store.all('SELECT count(*) AS n FROM packages WHERE claim_id = ?', [claimId]);
    const checks = await this.store.all('SELECT id, ok, detail FROM checks WHERE package_sha256 = ? ORDER BY n', [sha]);
    const findings = await this.store.all(
      `SELECT clause, type, title, quantity, measured, unit, duration_s, ${ms('from_ts', 'from_ms')}, ${ms('to_ts', 'to_ms')}, first_record, last_record
       FROM findings WHERE package_sha256 = ? ORDER BY n`,
      [sha],
    );
    const photos = await this.store.all('SELECT name, sha256, bytes FROM photos WHERE package_sha256 = ? ORDER BY name', [sha]);
    const decisions = await this.store.all(
      `SELECT seq, ${ms('decided_at')}, kind, clause, note, key_fingerprint, file_sha256, file_path FROM decisions WHERE claim_id = ? ORDER BY seq`,
      [claimId],
    );
    const history = await this.store.all(`SELECT seq, ${ms('changed_at')}, status, note FROM status_history WHERE claim_id = ? ORDER BY seq`, [claimId]);
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    return {
      summary,
      claim: {
        customer: str(c!.customer),
        contact: str(c!.contact),
        model: str(c!.model),
        serial: str(c!.serial),
        purchaseDate: str(c!.purchase_date),
        failureDate: str(c!.failure_date),
        description: str(c!.description),
        remedy: str(c!.remedy),
      },
      package: {
        sha256: String(p!.sha256),
        fileName: String(p!.file_name),
        bytes: Number(p!.bytes),
        receivedAtMs: Number(p!.received_at),
        ok: Boolean(p!.ok),
        line: String(p!.line),
        verdict: str(p!.verdict),
        summary: str(p!.summary),
        excludedBy: list(p!.excluded_by),
        boardId: str(p!.board_id),
        hardware: str(p!.hardware),
        source: str(p!.source),
        createdAtMs: num(p!.created_at),
        logFromMs: num(p!.log_from),
        logToMs: num(p!.log_to),
        records: Number(p!.records),
        segments: Number(p!.segments),
        installKey: str(p!.install_key),
        installKeyPinned: p!.install_key_pinned === null ? null : Boolean(p!.install_key_pinned),
        freshnessProven: Boolean(p!.freshness_proven),
        freshness: String(p!.freshness),
        extent: str(p!.extent),
        caveats: list(p!.caveats),
        policyId: str(p!.policy_id),
        policySha256: str(p!.policy_sha256),
        packagePolicyId: str(p!.package_policy_id),
        policyDifferences: Number(p!.policy_differences),
        customerVerdict: str(p!.customer_verdict),
      },
      packageCount: Number(count[0]!.n),
      checks: checks.map((k) => ({ id: String(k.id), ok: Boolean(k.ok), detail: String(k.detail) })),
      findings: findings.map((f) => ({
        clause: String(f.clause),
        type: String(f.type),
        title: String(f.title),
        quantity: String(f.quantity),
        measured: Number(f.measured),
        unit: String(f.unit),
        durationS: Number(f.duration_s),
        fromMs: num(f.from_ms),
        toMs: num(f.to_ms),
        firstRecord: Number(f.first_record),
        lastRecord: Number(f.last_record),
      })),
      photos: photos.map((x) => ({ name: String(x.name), sha256: String(x.sha256), bytes: Number(x.bytes) })),
      decisions: decisions.map((d) => ({
        seq: Number(d.seq),
        decidedAtMs: Number(d.decided_at),
        kind: String(d.kind),
        clause: str(d.clause),
        note: String(d.note),
        keyFingerprint: String(d.key_fingerprint),
        fileSha256: String(d.file_sha256),
        filePath: String(d.file_path),
      })),
      history: history.map((h) => ({ seq: Number(h.seq), atMs: Number(h.changed_at), status: String(h.status), note: String(h.note) })),
      hasReport: Boolean(p!.has_report),
    };
  }

  /** The verifier's own report (HTML) of the claim's latest package, or null when its evidence did not decode. */
  async report(claimId: string): Promise<string | null> {
    const s = await this.summary(claimId);
    const r = await this.store.all('SELECT report FROM packages WHERE sha256 = ?', [s.packageSha256]);
    return str(r[0]?.report);
  }

  /** The decoded records of the claim's latest package, in record order (empty when it did not verify). */
  async records(claimId: string): Promise<LogRecord[]> {
    const s = await this.summary(claimId);
    const rows = await this.store.all(
      `SELECT idx, segment, ${ms('t')}, pack_voltage, current, soc, cell_voltages, temperatures, status, alarms, event
       FROM records WHERE package_sha256 = ? ORDER BY idx`,
      [s.packageSha256],
    );
    return rows.map((r) => ({
      index: Number(r.idx),
      segment: r.segment === null ? null : Number(r.segment),
      t: Number(r.t),
      packVoltage: Number(r.pack_voltage),
      current: Number(r.current),
      soc: Number(r.soc),
      cellVoltages: (r.cell_voltages as number[]).map(Number),
      temperatures: (r.temperatures as number[]).map(Number),
      status: Number(r.status),
      alarms: Number(r.alarms),
      event: Number(r.event),
    }));
  }

  /** The first answer without a decision: stops the response clock. */
  async acknowledge(claimId: string, note = ''): Promise<ClaimSummary> {
    await this.summary(claimId);
    await this.store.transaction(() => this.store.setStatus(claimId, 'acknowledged', note, this.wall.nowMs()));
    return this.summary(claimId);
  }

  /** Clause ids a denial may name: the supplier's policy (or PackScope's default). */
  policyClauses(): string[] {
    const p = this.supplier.trust.policyText ? parsePolicy(this.supplier.trust.policyText) : DEFAULT_POLICY;
    return [...p.voidConditions, ...p.defectIndicators].map((c) => c.id);
  }

  /**
   * Decides a claim: validates the input, signs decision.json with the supplier key, and in one
   * transaction records it and the new status and writes the decision file (temp name, then rename).
   */
  async decide(claimId: string, input: unknown, signer: DecisionSigner): Promise<DecisionResult> {
    const parsed = DecisionInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new PackscopeError('USAGE', parsed.error.issues.map((i) => `${formatPath(i.path) || 'decision'}: ${i.message}`).join('; '));
    }
    const d: DecisionInput = parsed.data;
    if (d.clause !== null && !this.policyClauses().includes(d.clause)) {
      throw new PackscopeError('USAGE', `clause '${d.clause}' is not in the policy; one of: ${this.policyClauses().join(', ')}`);
    }
    const s = await this.summary(claimId);
    const seqRows = await this.store.all('SELECT coalesce(max(seq), 0) + 1 AS n FROM decisions WHERE claim_id = ?', [claimId]);
    const sequence = Number(seqRows[0]!.n);
    const nowMs = this.wall.nowMs();
    const decision: Decision = {
      schema: DECISION_SCHEMA_ID,
      claimId,
      sequence,
      kind: d.kind,
      clause: d.clause,
      note: d.note,
      decidedAt: new Date(nowMs).toISOString(),
      package: { sha256: s.packageSha256, serial: s.serial ?? '', model: s.model ?? '' },
      verdict: s.verdict === 'failed' ? null : s.verdict,
      supplier: { name: this.supplier.name, keyFingerprint: sshFingerprint(signer.publicKey) },
    };
    const zip = writeZip(await decisionFiles(decision, signer));
    const path = join(this.decisionsDir, `${claimId}-${String(sequence).padStart(2, '0')}-${d.kind}.psdecision`);
    const sha256 = createHash('sha256').update(zip).digest('hex');
    await this.store.transaction(async () => {
      await this.store.run(`INSERT INTO decisions VALUES (?, ?, make_timestamp(CAST(? AS BIGINT) * 1000), ?, ?, ?, ?, ?, ?, ?)`, [
        claimId,
        sequence,
        nowMs,
        d.kind,
        d.clause,
        d.note,
        s.packageSha256,
        decision.supplier.keyFingerprint,
        sha256,
        path,
      ]);
      await this.store.setStatus(claimId, d.kind, d.clause ? `${d.clause}: ${d.note}` : d.note, nowMs);
      // Written last inside the transaction: a file that cannot be written leaves no decision recorded.
      mkdirSync(this.decisionsDir, { recursive: true });
      writeFileAtomic(path, zip, { exclusive: true });
    });
    return { decision, path, sha256 };
  }

  async digest(): Promise<Digest> {
    const rows = (await this.store.all(CLAIM_ROWS)).map(claimRow);
    return buildDigest(
      this.supplier.sla,
      rows.map((r) => ({ claimId: r.claimId, receivedAtMs: r.receivedAtMs, respondedAtMs: r.respondedAtMs, resolvedAtMs: r.resolvedAtMs })),
      this.wall.nowMs(),
    );
  }

  fleet(): Promise<FleetView> {
    return fleetView(this.store);
  }
}
