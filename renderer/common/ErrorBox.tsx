import type { ReactNode } from 'react';

export interface UiError {
  code?: string;
  message: string;
}

export function asUiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'message' in e) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : undefined, message: String((e as { message: unknown }).message) };
  }
  return { message: String(e) };
}

/** What to do next, per error code: every error state tells the user a way forward. */
const NEXT_STEP: Record<string, string> = {
  NOT_FOUND: 'Check the name, or refresh the list and pick again.',
  PERMISSION: 'See the fix below, then try again.',
  DISCONNECTED: 'Check the cable and the pack power, then connect again.',
  TIMEOUT: 'The device did not answer. Check power, cable and protocol, then try again.',
  DEVICE: 'The device refused the request. Read its message above.',
  PROTOCOL: 'The device spoke unexpectedly. Try forcing the protocol on the Connect screen.',
  DECODE: 'The file is damaged or of another kind. Pick a different file.',
  VERIFY_FAILED: 'Do not trust this data. Ask the supplier for a fresh copy.',
  REFUSED: 'PackScope refused this for your safety. Read the reason above.',
  IO: 'Check free disk space and that the folder is writable.',
  CANCELLED: 'Start it again when ready; transfers resume where they stopped.',
  USAGE: 'Check the values you entered.',
  INTERNAL: 'This is a PackScope bug. Please report the message above.',
};

export function ErrorBox({ error, children }: { error: UiError; children?: ReactNode }) {
  return (
    <div className="error" role="alert">
      <strong>{error.message}</strong>
      {error.code && NEXT_STEP[error.code] && <p>{NEXT_STEP[error.code]}</p>}
      {children}
    </div>
  );
}
