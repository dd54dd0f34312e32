import { BundleRefusal, openBundle } from '../../../shared/bundle/bundle.js';
import { csvText } from '../../../shared/evidence/csv.js';
import { isPackscopeError } from '../../../shared/errors.js';
import type { TrustedKey } from '../../../shared/image/index.js';
import { applyBundleToSession } from '../bundle/session-apply.js';
import { flashOpenedTarget } from './image-job.js';
import { openNativeTarget } from './native-backend.js';
import { settingsBackupForFlash } from '../settings/flash-backup.js';

/**
 * The production line: one signed image or one release bundle onto several boards at once, each
 * on its own port, with one report (a row per board: port, board id, serial, versions before and
 * after, result, seconds). A board that fails or is refused never stops the others; its row says
 * why. Images go through the common flasher (checks before erase, test boot, confirm when asked);
 * bundles through the bundle service (trust, sequence, preconditions, self-test, confirm/revert).
 */
export interface LineRow {
  port: string;
  boardId: string | null;
  serial: string | null;
  oldVersion: string | null;
  newVersion: string | null;
  /** 'ok', or what stopped this board: an error code (REFUSED, TIMEOUT …) and its reason. */
  result: 'ok' | 'failed' | 'refused' | 'reverted';
  /** Error code or refusal reason when not ok. */
  code: string | null;
  message: string;
  seconds: number;
  /** With settingsBackupDir: the backup of the board's settings taken before anything was erased (absent: none taken). */
  settingsBackup?: string;
}

export interface LineJob {
  ports: string[];
  /** A signed MCUboot image or a .psfw release bundle (told apart by content). */
  file: Uint8Array;
  /** Images: make them permanent after the test boot (bundles always self-test, then confirm). */
  confirm?: boolean;
  trust?: readonly TrustedKey[];
  baudRate?: number;
  /** Boards flashed at once (default: all). */
  concurrency?: number;
  signal?: AbortSignal;
  onRow?: (row: LineRow) => void;
  log?: (port: string, line: string) => void;
  /** Where each board's settings are backed up after the checks, before the first erase (absent: no backup). */
  settingsBackupDir?: string;
}

function isBundle(file: Uint8Array): boolean {
  if (file[0] !== 0x50 || file[1] !== 0x4b) return false; // "PK": a ZIP
  try {
    openBundle(file);
    return true;
  } catch (e) {
    if (e instanceof BundleRefusal) return false;
    throw e;
  }
}

async function one(port: string, job: LineJob, bundle: boolean): Promise<LineRow> {
  const t0 = performance.now();
  const row: LineRow = { port, boardId: null, serial: null, oldVersion: null, newVersion: null, result: 'ok', code: null, message: '', seconds: 0 };
  const log = (line: string) => job.log?.(port, line);
  try {
    const opened = await openNativeTarget(port, { ...(job.baudRate ? { baud: job.baudRate } : {}), ...(job.signal ? { signal: job.signal } : {}) });
    const info = opened.session.info;
    row.boardId = info?.boardId ?? null;
    row.serial = info?.serial ?? null;
    try {
      const before = await opened.target.status(job.signal);
      row.oldVersion = before.runningVersion;
      if (bundle) {
        const r = await applyBundleToSession(opened.session, {
          bundle: job.file,
          ...(job.signal ? { signal: job.signal } : {}),
          ...(job.settingsBackupDir ? { settingsBackupDir: job.settingsBackupDir } : {}),
          log,
        });
        if (r.settingsBackup) row.settingsBackup = r.settingsBackup.path;
        row.newVersion = r.runningVersion;
        row.result = r.outcome === 'reverted' ? 'reverted' : 'ok';
        row.message = r.outcome === 'reverted' ? `self-test failed: ${r.selfTest?.problems.join('; ') ?? ''}` : `release ${r.sequence} ${r.outcome}`;
      } else {
        const settings = job.settingsBackupDir
          ? settingsBackupForFlash(opened.session, job.settingsBackupDir, { ...(job.signal ? { signal: job.signal } : {}), log })
          : null;
        const r = await flashOpenedTarget(
          'native',
          { ...opened, close: async () => undefined },
          job.file,
          {
            port,
            confirm: !!job.confirm,
            ...(job.trust ? { trust: job.trust } : {}),
            ...(job.signal ? { signal: job.signal } : {}),
            ...(settings ? { onChecked: settings.onChecked } : {}),
            log,
          },
          true,
        );
        const backup = settings ? (await settings.after()).backup : null;
        if (backup) row.settingsBackup = backup.path;
        row.newVersion = r.report.status.runningVersion;
        row.message = r.report.outcome;
      }
    } finally {
      await opened.close().catch(() => undefined);
    }
  } catch (e) {
    const details = isPackscopeError(e) ? (e.details as { reason?: string } | undefined) : undefined;
    row.result = isPackscopeError(e) && e.code === 'REFUSED' ? 'refused' : 'failed';
    row.code = details?.reason ?? (isPackscopeError(e) ? e.code : 'INTERNAL');
    row.message = (e as Error).message;
  }
  row.seconds = (performance.now() - t0) / 1000;
  job.onRow?.(row);
  return row;
}

/** Flashes every port; resolves with one row per port, in the order the ports were given. */
export async function flashLine(job: LineJob): Promise<LineRow[]> {
  const bundle = isBundle(job.file);
  const rows: LineRow[] = new Array(job.ports.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= job.ports.length) return;
      rows[i] = await one(job.ports[i]!, job, bundle);
    }
  };
  const n = Math.max(1, Math.min(job.concurrency ?? job.ports.length, job.ports.length));
  await Promise.all(Array.from({ length: n }, worker));
  return rows;
}

export const LINE_CSV_COLUMNS = ['port', 'board', 'serial', 'old_version', 'new_version', 'result', 'code', 'seconds', 'message'] as const;

export function lineReportCsv(rows: LineRow[]): string {
  const lines = [LINE_CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [r.port, r.boardId ?? '', r.serial ?? '', r.oldVersion ?? '', r.newVersion ?? '', r.result, r.code ?? '', r.seconds.toFixed(1), r.message]
        .map(csvText)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}
