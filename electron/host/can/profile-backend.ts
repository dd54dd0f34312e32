import { isoTpCeiling } from '../../../shared/can/bittime.js';
import { DID, UdsNegativeResponseError } from '../../../shared/can/uds.js';
import { BUILTIN_UDS_PROFILES, parseUdsProfileJson, type UdsProfile } from '../../../shared/can/uds-profile.js';
import { PackscopeError } from '../../../shared/errors.js';
import { FwStatusSchema, type FwStatus } from '../../../shared/image/fw-status.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import type { UdsGenericFlashJob, UdsGenericFlashResult, UdsProbeJob, UdsProbeResult } from '../flasher/flash-backends.js';
import { readInputFile } from '../flasher/files.js';
import { parseFirmware } from '../stm32/image.js';
import { looksLikeIntelHex } from '../../../shared/image/ihex.js';
import type { UdsClient } from './uds-client.js';
import { flashWithProfile } from './uds-generic.js';
import { openUdsClient } from './uds-flash.js';

/**
 * The UDS back end for ordinary bootloaders: a target profile (built-in name, JSON file or object)
 * drives the standard ISO 14229 sequence (uds-generic.ts) for a raw binary or Intel HEX file. The
 * report's line ratio is the payload rate ÷ the ISO-TP ceiling at the bus bitrate. Also here: the
 * probe that tells PackScope's own bootloader (its FD00 firmware status) from any other.
 */
export function resolveUdsProfile(ref: string | UdsProfile | undefined): UdsProfile {
  if (ref === undefined) return BUILTIN_UDS_PROFILES.generic!;
  if (typeof ref !== 'string') return ref;
  const builtin = BUILTIN_UDS_PROFILES[ref];
  if (builtin) return builtin;
  if (!/[./\\]/.test(ref)) {
    throw new PackscopeError('USAGE', `unknown UDS profile '${ref}': give a built-in name (${Object.keys(BUILTIN_UDS_PROFILES).join(', ')}) or a JSON file`);
  }
  return parseUdsProfileJson(utf8Decode(readInputFile(ref, 'UDS profile')), ref);
}

export async function flashUdsGeneric(job: UdsGenericFlashJob): Promise<UdsGenericFlashResult> {
  const profile = resolveUdsProfile(job.profile);
  if (profile.extensions === 'packscope') {
    throw new PackscopeError('USAGE', `profile '${profile.name}' is PackScope's bootloader: flash its signed MCUboot images with protocol 'uds'`);
  }
  const bytes = typeof job.firmware === 'string' ? readInputFile(job.firmware, 'firmware') : job.firmware;
  // Intel HEX carries its own addresses: the profile's default address is for raw binaries only.
  const fw = parseFirmware(
    bytes,
    typeof job.firmware === 'string' ? job.firmware : 'the firmware',
    job.address ?? (looksLikeIntelHex(bytes) ? undefined : profile.memory.address),
  );
  const bitrate = job.bitrate ?? 500_000;
  const opened = await openUdsClient({
    port: job.port,
    bitrate,
    ...(job.baudRate !== undefined ? { baudRate: job.baudRate } : {}),
    txId: job.txId ?? profile.txId ?? 0x7e0,
    rxId: job.rxId ?? profile.rxId ?? 0x7e8,
    ...(job.signal ? { signal: job.signal } : {}),
    ...(job.wrapTransport ? { wrapTransport: job.wrapTransport } : {}),
  });
  try {
    const report = await flashWithProfile(
      opened.client,
      job.maxBlockPayload !== undefined ? { ...profile, maxBlockPayload: job.maxBlockPayload } : profile,
      fw.segments,
      {
        ...(job.seedKey !== undefined ? { seedKey: job.seedKey } : {}),
        ...(job.signal ? { signal: job.signal } : {}),
        ...(job.onProgress ? { onProgress: job.onProgress } : {}),
        ...(job.log ? { log: job.log } : {}),
      },
    );
    const line = isoTpCeiling(bitrate);
    return { protocol: 'uds-generic', port: job.port, format: fw.format, report, lineBytesPerSecond: line, lineRatio: report.payloadRate / line };
  } finally {
    await opened.close().catch(() => undefined);
  }
}

/**
 * The firmware status document of PackScope's bootloader, or null when the ECU is not that
 * bootloader: any other answer to ReadDataByIdentifier FD00 (requestOutOfRange,
 * serviceNotSupported, silence, something that is not that document) means an ordinary one.
 * Reading an identifier is harmless to any ECU, so this is safe to ask first. Silence is asked
 * about twice: one missed deadline (a busy gateway, a loaded bench PC) must not pick the wrong
 * flash sequence, and an ECU that answers with a negative response costs no second request.
 */
export async function readPackscopeStatus(client: UdsClient, signal?: AbortSignal): Promise<FwStatus | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await client.request({ service: 'ReadDataByIdentifier', did: DID.firmwareStatus }, signal);
      const parsed = FwStatusSchema.safeParse(JSON.parse(utf8Decode(r.data)));
      return parsed.success ? parsed.data : null;
    } catch (e) {
      if (e instanceof UdsNegativeResponseError || e instanceof SyntaxError) return null;
      if ((e as PackscopeError).code === 'TIMEOUT') {
        if (attempt < 2) continue;
        return null;
      }
      throw e;
    }
  }
}

export async function isPackscopeBootloader(client: UdsClient, signal?: AbortSignal): Promise<boolean> {
  return (await readPackscopeStatus(client, signal)) !== null;
}

export async function probeUds(job: UdsProbeJob): Promise<UdsProbeResult> {
  const opened = await openUdsClient({
    port: job.port,
    bitrate: job.bitrate ?? 500_000,
    ...(job.baudRate !== undefined ? { baudRate: job.baudRate } : {}),
    txId: job.txId ?? 0x7e0,
    rxId: job.rxId ?? 0x7e8,
    ...(job.signal ? { signal: job.signal } : {}),
  });
  let keep = false;
  try {
    const status = await readPackscopeStatus(opened.client, job.signal);
    if (!status) return { kind: 'generic' };
    keep = !!job.keepOpen;
    return keep ? { kind: 'packscope', status, opened } : { kind: 'packscope', status };
  } finally {
    if (!keep) await opened.close().catch(() => undefined);
  }
}
