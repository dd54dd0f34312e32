/**
 * Where a package's device evidence comes from: a .pslog pulled earlier (`--log`), or a pull made
 * now from a connected pack (`--port`). Either way the package receives the raw segments exactly
 * as the board wrote them, the device certificate and the open-segment checkpoint; the .pslog
 * container itself is not needed to check them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { DeviceEvidenceParts, PulledIdentity, StreamedEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { openPslog, pullLog } from '../blackbox/index.js';
import { Session } from '../session.js';
import { toolVersion } from './package-file.js';
import { fileSource } from './file-io.js';

function identityFrom(info: DeviceInfo | null, cert: { serial: string; model: string; boardId: string } | null, pulledAt: string): PulledIdentity {
  return {
    model: info?.model ?? cert?.model ?? '',
    serial: info?.serial ?? cert?.serial ?? '',
    boardId: info?.boardId ?? cert?.boardId ?? '',
    hardwareRevision: info?.hardwareRevision ?? '',
    firmwareVersion: info?.firmwareVersion ?? '',
    bootloaderVersion: info?.bootloaderVersion ?? '',
    cellCount: info?.cellCount ?? 0,
    chemistry: info?.chemistry ?? 'unknown',
    nominalCapacityAh: info && info.nominalCapacityAh > 0 ? info.nominalCapacityAh : null,
    pulledAt: new Date(Number.isNaN(Date.parse(pulledAt)) ? 0 : Date.parse(pulledAt)).toISOString(),
  };
}

/** The settings evidence a pull kept in the meta block, as bytes (never trusted: the package verifier checks it). */
function settingsOf(hex: unknown): Uint8Array | null {
  if (hex === undefined) return null;
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) throw new PackscopeError('DECODE', 'the settings records in the .pslog meta block are damaged');
  return fromHex(hex);
}

/**
 * The evidence parts of a complete .pslog, with the closed segments read in ranges from the file
 * as they are needed (package creation streams them; nothing holds the whole log).
 */
export async function streamedEvidenceFromPslog(path: string): Promise<StreamedEvidenceParts> {
  const reader = await openPslog(path);
  try {
    if (!reader.complete) {
      throw new PackscopeError('REFUSED', `${path} is a partial download; finish it with 'packscope log pull --resume' first`);
    }
    const p = reader.preamble;
    const certHex = String(reader.meta.certificate ?? '');
    const certificate = certHex ? fromHex(certHex) : null;
    const cert = reader.certificate;
    return {
      identity: identityFrom(reader.identity, cert, reader.meta.pulledAt),
      certificate,
      segments: fileSource(path, 'log', { offset: p.segmentsOffset, size: p.segmentCount * p.segmentSize }),
      checkpoint: reader.checkpoint,
      settings: settingsOf(reader.meta.settings),
    };
  } finally {
    await reader.close();
  }
}

/** The evidence parts of a complete .pslog, the segments read into memory. */
export async function evidenceFromPslog(path: string): Promise<DeviceEvidenceParts> {
  const parts = await streamedEvidenceFromPslog(path);
  const seg = parts.segments;
  return { ...parts, segments: seg instanceof Uint8Array ? seg : seg.read(0, seg.size) };
}

export interface PortEvidenceOptions {
  signal?: AbortSignal;
  baud?: number;
  /** Checkpoint nonce: a claim ticket's, so the supplier can tell the pull is fresh. */
  nonce?: Uint8Array;
  /** Progress lines for stderr. */
  progress?: (line: string) => void;
}

/** Pulls the black box of the pack on `port` (verifying as it goes) and returns its evidence parts. */
export async function evidenceFromPort(port: string, o: PortEvidenceOptions = {}): Promise<DeviceEvidenceParts> {
  const session = await Session.open(port, { ...(o.baud ? { baud: o.baud } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  const dir = mkdtempSync(join(tmpdir(), 'packscope-pull-'));
  try {
    const native = session.native;
    if (!native || !session.info?.signsEvidence) {
      throw new PackscopeError(
        'REFUSED',
        `the ${session.protocol} BMS on ${port} keeps no signed black box; record a session with 'monitor --record' and use --log`,
      );
    }
    const out = join(dir, 'pulled.pslog');
    let last = 0;
    const pulled = await pullLog(native.link, {
      out,
      identity: session.info,
      source: { port, ...(o.baud ? { baud: o.baud } : {}) },
      tool: `packscope ${toolVersion()}`,
      ...(o.nonce ? { nonce: o.nonce } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (pr) => {
        const now = performance.now();
        if (o.progress && (now - last > 1000 || pr.done === pr.total)) {
          last = now;
          const eta = pr.etaSeconds === null ? '' : `, ${Math.ceil(pr.etaSeconds)} s left`;
          o.progress(`pulling black box: ${pr.segments} segments, ${pr.done}/${pr.total} bytes, ${Math.round(pr.rate)} B/s${eta}`);
        }
      },
    });
    o.progress?.(
      `pulled ${pulled.segments} segments (${pulled.records} records) in ${pulled.seconds.toFixed(1)} s at ${Math.round(pulled.payloadRate)} B/s` +
        (pulled.signaturesOk ? ', every device signature verified' : `, ${pulled.issues.length} problem(s): ${pulled.issues[0]?.message ?? ''}`),
    );
    return await evidenceFromPslog(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await session.close();
  }
}
