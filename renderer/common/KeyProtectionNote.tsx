import { useEffect, useState } from 'react';
import type { KeyProtection } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';

/**
 * Where the key that signs packages is kept, said where packages are signed: one quiet line when
 * the OS keyring protects it; what it means and what to do when it is a plain 0600 file (Linux
 * without a keyring, packscope serve) or the keyring that sealed it is not there now.
 */
export function KeyProtectionNote() {
  const { api } = useApp();
  const [p, setP] = useState<KeyProtection | null>(null);
  useEffect(() => {
    let live = true;
    api
      .call('installKey.protection', {})
      .then((x) => live && setP(x))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api]);
  if (!p) return null;
  if (p.kind === 'os-keyring')
    return (
      <p className="muted small" data-testid="key-protection" data-kind={p.kind}>
        {p.headline}
      </p>
    );
  return (
    <div className="notice small" role="note" data-testid="key-protection" data-kind={p.kind}>
      <strong>{p.headline}</strong>
      <p>{p.meaning}</p>
      <p className="muted">
        Key file: <code>{p.location}</code>
      </p>
    </div>
  );
}
