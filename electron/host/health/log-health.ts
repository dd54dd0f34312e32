/**
 * Pack health of a black-box log file (.pslog, pulled from a board or recorded by PackScope): the
 * records stream through the health analysis (shared/health) with bounded memory, next to what
 * the log says of itself — whether it verifies, and where the pack's rating comes from.
 *
 * The rating (chemistry for the OCV curve, rated capacity for C-rates, cycles and fade) is taken
 * from the device certificate when the board signs it (version 2), else from the board's unsigned
 * identity, and the caller may override either (a bench engineer who knows the cells). A health
 * report is information for the bench and the customer; warranty verdicts take the rating only
 * from signed statements or the supplier's policy (shared/warranty).
 */
import { HealthAnalyzer, type HealthOptions } from '../../../shared/health/analyzer.js';
import type { LifetimeView, LogHealth, RatingSource } from '../../../shared/health/report.js';
import { decodeLifetime, verifyLifetime, type LifetimeStatement } from '../../../shared/health/lifetime.js';
import { LifetimeConsistencyCheck, lifetimeView } from '../../../shared/health/lifetime-check.js';

export type { LogHealth } from '../../../shared/health/report.js';
import { ocvTableFor } from '../../../shared/health/ocv.js';
import { PackscopeError } from '../../../shared/errors.js';
import { nodeVerifier, openPslog, type PslogReader } from '../blackbox/index.js';
import { desktopRecordingOf } from '../recorder/pslog-sink.js';

export interface LogHealthOptions {
  /** Manufacturing root (DER SPKI) the device certificate must chain to; null: not checked. */
  rootSpki?: Uint8Array | null;
  /** Overrides of the pack's rating. */
  ratedCapacityAh?: number;
  chemistry?: string;
  /** Analysis settings beyond the rating (rest current, settle time …). */
  analysis?: Omit<HealthOptions, 'ocv' | 'ratedCapacityAh'>;
  signal?: AbortSignal;
  /** Records analysed so far. */
  onProgress?: (records: number) => void;
}

export async function analyseLogFile(file: string, options: LogHealthOptions = {}): Promise<LogHealth> {
  const reader = await openPslog(file);
  try {
    return await analyseLog(reader, file, options);
  } finally {
    await reader.close();
  }
}

export async function analyseLog(reader: PslogReader, file: string, options: LogHealthOptions = {}): Promise<LogHealth> {
  const desktop = desktopRecordingOf(reader.meta);
  let verified: boolean | null = null;
  let problem: string | null = null;
  if (!desktop) {
    const rootSpki = options.rootSpki ?? null;
    const v = await reader.verify(rootSpki, { signal: options.signal });
    verified = v.ok && v.complete && (rootSpki === null || v.certificate.ok);
    if (!verified) {
      problem =
        v.issues[0]?.message ??
        (!v.complete
          ? 'the log is a partial download (not complete)'
          : rootSpki && !v.certificate.ok
            ? `device certificate: ${v.certificate.message}`
            : 'the log does not verify');
    }
  }
  const rating = ratingOf(reader, options);
  const ocv = ocvTableFor(rating.chemistry);
  const analyzer = new HealthAnalyzer({ ...options.analysis, ocv, ratedCapacityAh: rating.ratedCapacityAh });
  const life = desktop ? null : lifetimeOf(reader);
  let n = 0;
  for await (const batch of reader.recordBatches({ includeCheckpoint: true })) {
    for (const r of batch) analyzer.push(r);
    if (life?.check) for (const r of batch) life.check.push(r);
    n += batch.length;
    options.onProgress?.(n);
    if (options.signal?.aborted) throw new PackscopeError('CANCELLED', 'health analysis cancelled');
  }
  const cert = reader.certificate;
  const identity = reader.meta.identity;
  return {
    file,
    device: { model: cert?.model ?? identity?.model ?? null, serial: cert?.serial ?? identity?.serial ?? null },
    source: desktop ? 'desktop' : 'device',
    verified,
    problem,
    rating,
    report: analyzer.result(),
    lifetime: life ? life.view() : null,
  };
}

/**
 * The board's signed lifetime counters a log holds, verified (device signature, binding to the
 * checkpoint) and checked against every record of the log; null when the board keeps none.
 */
export async function logLifetime(reader: PslogReader, signal?: AbortSignal): Promise<LifetimeView | null> {
  const life = lifetimeOf(reader);
  if (!life) return null;
  if (life.check) {
    for await (const batch of reader.recordBatches({ includeCheckpoint: true })) {
      for (const r of batch) life.check.push(r);
      if (signal?.aborted) throw new PackscopeError('CANCELLED', 'reading the lifetime counters cancelled');
    }
  }
  return life.view();
}

/** logLifetime of a .pslog file. */
export async function logLifetimeOf(file: string, signal?: AbortSignal): Promise<LifetimeView | null> {
  const reader = await openPslog(file);
  try {
    return await logLifetime(reader, signal);
  } finally {
    await reader.close();
  }
}

/**
 * The board's lifetime counters the pull kept with the checkpoint (null: none): their device
 * signature and binding, and a check against the log's records as they stream past.
 */
function lifetimeOf(reader: PslogReader): { check: LifetimeConsistencyCheck | null; view(): LifetimeView | null } | null {
  const cp = reader.checkpoint;
  if (!cp?.lifetime) return null;
  let st: LifetimeStatement;
  try {
    st = decodeLifetime(cp.lifetime);
  } catch {
    return { check: null, view: () => null };
  }
  const cert = reader.certificate;
  const problems = cert ? verifyLifetime(st, cert.devicePublicKey, cp, nodeVerifier()) : ['no device certificate names the key that signed them'];
  const check = new LifetimeConsistencyCheck(st.counters);
  return {
    check,
    view: () => {
      const c = check.result();
      return lifetimeView(st.counters, [...problems, ...c.problems], c);
    },
  };
}

function ratingOf(reader: PslogReader, o: LogHealthOptions): LogHealth['rating'] {
  const cert = reader.certificate;
  const identity = reader.meta.identity;
  let chemistry: string | null = null;
  let chemistryFrom: RatingSource = 'unknown';
  let ratedCapacityAh: number | null = null;
  let capacityFrom: RatingSource = 'unknown';
  if (o.chemistry !== undefined) [chemistry, chemistryFrom] = [o.chemistry, 'given'];
  else if (cert?.chemistry) [chemistry, chemistryFrom] = [cert.chemistry, 'certificate'];
  else if (identity && identity.chemistry !== 'unknown') [chemistry, chemistryFrom] = [identity.chemistry, 'identity'];
  if (o.ratedCapacityAh !== undefined) [ratedCapacityAh, capacityFrom] = [o.ratedCapacityAh, 'given'];
  else if (cert?.ratedCapacityAh) [ratedCapacityAh, capacityFrom] = [cert.ratedCapacityAh, 'certificate'];
  else if (identity && identity.nominalCapacityAh > 0) [ratedCapacityAh, capacityFrom] = [identity.nominalCapacityAh, 'identity'];
  return { chemistry, ratedCapacityAh, chemistryFrom, capacityFrom };
}
