import { useState } from 'react';
import { FilePicker } from './FilePicker.js';

/**
 * The supplier's manufacturing root key for one screen: shown, changed or forgotten right where
 * it is used (each screen remembers its own, so choosing one on Verify never changes Logs).
 */
export function RootKeyChoice({
  storageKey,
  value,
  onChange,
  initialDir,
  unset,
}: {
  storageKey: string;
  value: string;
  onChange(path: string): void;
  initialDir?: string;
  /** What it means that none is chosen. */
  unset: string;
}) {
  const [choosing, setChoosing] = useState(false);
  const choose = (p: string) => {
    if (p) localStorage.setItem(storageKey, p);
    else localStorage.removeItem(storageKey);
    onChange(p);
    setChoosing(false);
  };
  return (
    <div className="root-choice" data-testid="root-choice">
      {value ? (
        <p className="muted small">
          Device certificates are checked against the supplier root key <code>{value}</code>.{' '}
          <button className="link" onClick={() => setChoosing(true)}>
            change
          </button>{' '}
          <button className="link" onClick={() => choose('')}>
            forget
          </button>
        </p>
      ) : (
        <p className="muted small">
          {unset}{' '}
          {!choosing && (
            <button className="link" onClick={() => setChoosing(true)}>
              Choose the supplier root key…
            </button>
          )}
        </p>
      )}
      {choosing && (
        <>
          <FilePicker label="Supplier root key" extensions={['.pem']} onPick={choose} initialDir={initialDir} />
          <button onClick={() => setChoosing(false)}>Cancel</button>
        </>
      )}
    </div>
  );
}
