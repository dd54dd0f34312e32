/**
 * The device-signature verifier hosts pass to the evidence decoder: node:crypto (OpenSSL) ECDSA
 * over the signed message, an order of magnitude faster than pure JS, which is what makes a long
 * log verify in seconds. Same answers as the shared pure-JS verifier.
 */
import type { SignatureVerifier } from '../../../shared/blackbox/verify.js';
import { nodeVerifier } from '../blackbox/pslog.js';

/** `files` (the package's device/ files) is accepted for callers that pass it; the verifier needs only the messages. */
export function hostSignatureVerifier(_files?: ReadonlyMap<string, Uint8Array>): SignatureVerifier {
  return nodeVerifier();
}
