import { access, unlink } from 'node:fs/promises';
import { PackscopeError } from '../../../shared/errors.js';
import { parseSegment } from '../../../shared/blackbox/segment.js';
import type { DeviceInfo, ProtocolId } from '../../../shared/types/domain.js';
import { PslogWriter, type PslogMeta } from '../blackbox/pslog.js';
import type { RecordingSink, RecordingSummary } from './recorder.js';

/**
 * Desktop recordings as .pslog files (electron/host/blackbox/pslog.ts), unchanged container:
 * the segments are the recorder's unsigned, chained segments; the meta block carries an empty
 * certificate and one extra key, `desktopRecording`, that marks the whole file as recorded on the
 * desktop from live telemetry. Whoever reads a .pslog (log viewer, `log verify`, the evidence and
 * package flow) checks `desktopRecordingOf(meta)` and reports the evidence as weaker: no device
 * signature, host clock, identity as the board told it.
 */
export const DESKTOP_RECORDING_KIND = 'packscope-desktop-recording/1';

export interface DesktopRecordingMeta {
  kind: typeof DESKTOP_RECORDING_KIND;
  /** Always false: nothing in a desktop recording is signed by the device. */
  signedByDevice: false;
  /** Plain statement for people reading the meta block. */
  evidence: 'weaker: unsigned desktop recording (no device key); timestamps from the host clock';
  protocol: ProtocolId;
  startedAt: string;
  /** Poll/stream rate asked for, Hz. */
  rateHz: number;
}

export type DesktopPslogMeta = PslogMeta & { desktopRecording: DesktopRecordingMeta };

/** The desktop-recording section of a .pslog meta block, or null for a black-box download. */
export function desktopRecordingOf(meta: PslogMeta): DesktopRecordingMeta | null {
  const d = (meta as Partial<DesktopPslogMeta>).desktopRecording;
  return d && d.kind === DESKTOP_RECORDING_KIND ? d : null;
}

export interface PslogSinkOptions {
  segmentSize: number;
  rateHz: number;
  tool: string;
  source?: { port?: string; baud?: number };
  /** Replace an existing file of that name (default: refuse). */
  overwrite?: boolean;
}

/** Flushes to disk at least this often, so a crash or power cut keeps a usable .partial. */
const SYNC_EVERY_MS = 10_000;

export class PslogRecordingSink implements RecordingSink {
  private lastSync = Date.now();

  private constructor(private writer: PslogWriter) {}

  static async create(path: string, device: DeviceInfo, o: PslogSinkOptions): Promise<PslogRecordingSink> {
    if (!path.endsWith('.pslog')) throw new PackscopeError('USAGE', `recording file must end in .pslog: ${path}`);
    if (!o.overwrite && (await exists(path)))
      throw new PackscopeError('REFUSED', `${path} already exists; choose another name (a recording never replaces a log)`);
    const startedAt = new Date().toISOString();
    const meta: DesktopPslogMeta = {
      format: 'pslog',
      tool: o.tool,
      pulledAt: startedAt,
      identity: device,
      certificate: '',
      ...(o.source ? { source: o.source } : {}),
      desktopRecording: {
        kind: DESKTOP_RECORDING_KIND,
        signedByDevice: false,
        evidence: 'weaker: unsigned desktop recording (no device key); timestamps from the host clock',
        protocol: device.protocol,
        startedAt,
        rateHz: o.rateHz,
      },
    };
    return new PslogRecordingSink(await PslogWriter.create(path, meta, o.segmentSize));
  }

  get partialPath(): string {
    return this.writer.partialPath;
  }

  async append(segment: Uint8Array): Promise<void> {
    await this.appendMany([segment]);
  }

  /** Appends closed segments with one write (a long recording replayed, or written in bulk). */
  async appendMany(segments: readonly Uint8Array[]): Promise<void> {
    if (segments.length === 0) return;
    await this.writer.appendMany(segments.map((s) => parseSegment(s)));
    if (Date.now() - this.lastSync >= SYNC_EVERY_MS) {
      this.lastSync = Date.now();
      await this.writer.sync();
    }
  }

  async finish(_device: DeviceInfo, _summary: RecordingSummary): Promise<void> {
    await this.writer.finish(null);
  }

  /** Closes the partial file; an empty one is removed, one with data is kept as FILE.pslog.partial. */
  async abort(): Promise<void> {
    await this.writer.close();
    if (this.writer.segmentCount === 0) await unlink(this.writer.partialPath).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
