/**
 * The nonce a pulled .pslog's signed checkpoint answers (hex): what the ticket tests compare with
 * the claim ticket's nonce.
 */
import { openPslog } from '../../electron/host/blackbox/pslog.js';
import { toHex } from '../../shared/util/bytes.js';

export async function checkpointNonce(file: string): Promise<string> {
  const r = await openPslog(file);
  try {
    return toHex(r.checkpoint!.nonce);
  } finally {
    await r.close();
  }
}
