import { PackscopeError } from '../../../shared/errors.js';
import type { DeviceEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import { boardIdentityOf } from '../../../shared/types/domain.js';
import { concatBytes } from '../../../shared/util/bytes.js';
import { openPslog } from '../blackbox/pslog.js';
import { desktopRecordingOf } from './pslog-sink.js';

/**
 * The evidence parts of a desktop recording, for the package flow (`package create --log`): the
 * identity as the board told it, no certificate, the unsigned segments, no checkpoint. Fed to
 * shared/evidence's decoder they come out as source 'desktop', signature 'unsigned', which the
 * evaluation reports as missing signed data.
 */
export async function desktopRecordingEvidence(path: string): Promise<DeviceEvidenceParts> {
  const log = await openPslog(path);
  try {
    const rec = desktopRecordingOf(log.meta);
    if (!rec) throw new PackscopeError('USAGE', `${path} is a black-box download, not a desktop recording`);
    if (!log.complete) throw new PackscopeError('REFUSED', `${path} is an unfinished recording (.partial); stop the recording first`);
    const id = log.identity;
    if (!id) throw new PackscopeError('DECODE', `${path}: the recording names no device`);
    const segments: Uint8Array[] = [];
    for await (const it of log.segments()) {
      if ('segment' in it) segments.push(it.segment.bytes);
      else throw new PackscopeError('DECODE', `${path}: damaged data at byte ${it.damage.offset}: ${it.damage.error.message}`);
    }
    return {
      identity: {
        ...boardIdentityOf(id),
        nominalCapacityAh: id.nominalCapacityAh > 0 ? id.nominalCapacityAh : null,
        pulledAt: rec.startedAt,
      },
      certificate: null,
      segments: concatBytes(...segments),
      checkpoint: null,
    };
  } finally {
    await log.close();
  }
}
