import { PackscopeError } from '../../../shared/errors.js';
import { DEFAULT_SEGMENT_SIZE } from '../../../shared/blackbox/format.js';
import type { Session } from '../session.js';
import { PslogRecordingSink } from './pslog-sink.js';
import { recordFrom, TelemetryRecorder, type RecordingSummary } from './recorder.js';

/**
 * Records a session's telemetry into a .pslog desktop recording — `monitor --record` and the
 * app's record button both come through here. Start it before or after startTelemetry(); stop()
 * completes the file (FILE.pslog appears only then; until then it is FILE.pslog.partial).
 */
export interface RecordingHandle {
  readonly path: string;
  /** Records written so far. */
  readonly records: number;
  stop(): Promise<RecordingSummary & { path: string }>;
  /** Gives up (keeps a .partial with whatever was written); does nothing after stop(). */
  abort(): Promise<void>;
}

export async function startRecording(
  session: Session,
  path: string,
  options: { rateHz: number; tool: string; overwrite?: boolean; segmentSize?: number },
): Promise<RecordingHandle> {
  const device = session.info;
  if (!device) throw new PackscopeError('USAGE', 'cannot record: the device was not identified');
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const sink = await PslogRecordingSink.create(path, device, {
    segmentSize,
    rateHz: options.rateHz,
    tool: options.tool,
    source: { port: session.path, baud: session.line.baudRate },
    ...(options.overwrite ? { overwrite: true } : {}),
  });
  const recorder = new TelemetryRecorder(device, sink, { segmentSize });
  const off = recordFrom(session, recorder);
  let stopped = false;
  return {
    path,
    get records() {
      return recorder.records;
    },
    async stop() {
      if (stopped) throw new PackscopeError('USAGE', 'recording already stopped');
      stopped = true;
      off();
      return { ...(await recorder.stop()), path };
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      off();
      await recorder.abort();
    },
  };
}
