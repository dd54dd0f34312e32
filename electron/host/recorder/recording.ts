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
  /** Gaps noted so far. */
  readonly gaps: number;
  stop(): Promise<RecordingSummary & { path: string }>;
  /** Gives up (keeps a .partial with whatever was written); does nothing after stop(). */
  abort(): Promise<void>;
}

export async function startRecording(
  session: Session,
  path: string,
  options: { rateHz: number; tool: string; overwrite?: boolean; segmentSize?: number; pauses?: (listener: (reason: string) => void) => () => void },
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
  // Gaps are judged against the rate the device can really deliver (a JBD polled at 10 Hz answers at about 1 Hz).
  const deliverable = Math.min(options.rateHz, session.driver.maxTelemetryRateHz ?? Infinity);
  const recorder = new TelemetryRecorder(device, sink, { segmentSize, rateHz: deliverable });
  const off = recordFrom(session, recorder, options.pauses);
  let stopped = false;
  return {
    path,
    get records() {
      return recorder.records;
    },
    get gaps() {
      return recorder.gapCount;
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
