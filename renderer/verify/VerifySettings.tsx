import { useCallback, useEffect, useState } from 'react';
import type { InstallKeyEntry, StoredPolicyView } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';

/**
 * What the verifier brings to a verification, besides the package and its root key: the policy
 * that decides (from this installation's policy store), the claim-ticket key and ticket, and the
 * installation keys it knows. Lists come from the host; choices are the screen's.
 */
export interface VerifierChoices {
  policies: StoredPolicyView[] | null;
  keys: InstallKeyEntry[] | null;
  refreshPolicies(): Promise<StoredPolicyView[] | null>;
  refreshKeys(): Promise<void>;
  /** Reading the policy store failed (shown next to the policy picker). */
  policiesError: UiError | null;
  /** Reading the known keys failed (shown next to them). */
  keysError: UiError | null;
}

export function useVerifierChoices(): VerifierChoices {
  const { api } = useApp();
  const [policies, setPolicies] = useState<StoredPolicyView[] | null>(null);
  const [keys, setKeys] = useState<InstallKeyEntry[] | null>(null);
  const [policiesError, setPoliciesError] = useState<UiError | null>(null);
  const [keysError, setKeysError] = useState<UiError | null>(null);
  const refreshPolicies = useCallback(async () => {
    try {
      const p = await api.call('policies.list', {});
      setPolicies(p);
      setPoliciesError(null);
      return p;
    } catch (e) {
      setPoliciesError(asUiError(e));
      return null;
    }
  }, [api]);
  const refreshKeys = useCallback(async () => {
    try {
      setKeys(await api.call('installKeys.list', {}));
      setKeysError(null);
    } catch (e) {
      setKeysError(asUiError(e));
    }
  }, [api]);
  useEffect(() => {
    void refreshPolicies();
    void refreshKeys();
  }, [refreshPolicies, refreshKeys]);
  return { policies, keys, refreshPolicies, refreshKeys, policiesError, keysError };
}

export function policyName(p: Pick<StoredPolicyView, 'id' | 'version'>): string {
  return p.version === null ? p.id : `${p.id} (version ${p.version})`;
}

const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

type Picking = null | 'policy' | 'ticketKey' | 'ticket' | 'installKey';

export interface Decision {
  policySha256: string;
  ticketKey: string;
  ticket: string;
}

/** The policy picker and the claim-ticket files. */
export function DecideWith({
  choices,
  value,
  onChange,
  focusPolicy = false,
}: {
  choices: VerifierChoices;
  value: Decision;
  onChange: (d: Decision) => void;
  focusPolicy?: boolean;
}) {
  const { api, dataDir } = useApp();
  const [picking, setPicking] = useState<Picking>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const chosen = choices.policies?.find((p) => p.sha256 === value.policySha256) ?? null;
  const toggle = (p: Picking) => (setError(null), setPicking((cur) => (cur === p ? null : p)));

  const addPolicy = async (path: string) => {
    setError(null);
    setNote(null);
    try {
      const added = await api.call('policies.add', { path });
      await choices.refreshPolicies();
      onChange({ ...value, policySha256: added.sha256 });
      setNote(added.added ? `Added ${policyName(added)} to your policies.` : `${policyName(added)} was already one of your policies.`);
      setPicking(null);
    } catch (e) {
      setError(asUiError(e));
    }
  };

  return (
    <div className="grid2">
      <div data-testid="verify-policy">
        <h2>3. Your warranty policy</h2>
        <p className="muted small">The verdict is decided with this policy, whatever policy the customer's PackScope used.</p>
        <label htmlFor="verify-policy-select" className="field-label">
          Policy that decides
        </label>
        <div className="row">
          <select
            id="verify-policy-select"
            className="grow"
            autoFocus={focusPolicy}
            value={value.policySha256}
            onChange={(e) => onChange({ ...value, policySha256: e.target.value })}
          >
            <option value="">Automatic</option>
            {(choices.policies ?? []).map((p) => (
              <option key={p.sha256} value={p.sha256}>
                {policyName(p)}
              </option>
            ))}
          </select>
          <button onClick={() => toggle('policy')} aria-expanded={picking === 'policy'}>
            Add policy file…
          </button>
        </div>
        <p className="muted small policy-title" data-testid="policy-title">
          {chosen
            ? `${chosen.title} · SHA-256 ${chosen.sha256.slice(0, 16)}…`
            : "Without a choice: the store's copy of the policy the customer used, if you added it; else PackScope's default policy."}
        </p>
        {note && (
          <p className="ok-text small" role="status">
            {note}
          </p>
        )}
        {picking === 'policy' && <FilePicker label="Policy file" extensions={['.json']} onPick={(p) => void addPolicy(p)} initialDir={dataDir || undefined} />}
        {(error ?? choices.policiesError) && <ErrorBox error={(error ?? choices.policiesError)!} />}
      </div>
      <div data-testid="verify-ticket">
        <h2>4. Claim ticket (optional)</h2>
        <p className="muted small">With your ticket key, the pull must carry the claim ticket you issued: proof that the log was read after the claim.</p>
        <ChosenFile
          label="Ticket key"
          hint="your claim-ticket public key"
          path={value.ticketKey}
          open={picking === 'ticketKey'}
          onToggle={() => toggle('ticketKey')}
          onClear={() => onChange({ ...value, ticketKey: '' })}
        />
        {picking === 'ticketKey' && (
          <FilePicker
            label="Ticket key file"
            extensions={['.pem', '.pub']}
            onPick={(p) => (onChange({ ...value, ticketKey: p }), setPicking(null))}
            initialDir={dataDir || undefined}
          />
        )}
        <ChosenFile
          label="Claim ticket"
          hint="the package's own"
          path={value.ticket}
          open={picking === 'ticket'}
          onToggle={() => toggle('ticket')}
          onClear={() => onChange({ ...value, ticket: '' })}
        />
        {picking === 'ticket' && (
          <FilePicker
            label="Claim ticket file"
            extensions={['.psticket']}
            onPick={(p) => (onChange({ ...value, ticket: p }), setPicking(null))}
            initialDir={dataDir || undefined}
          />
        )}
      </div>
    </div>
  );
}

function ChosenFile(p: { label: string; hint: string; path: string; open: boolean; onToggle(): void; onClear(): void }) {
  return (
    <div className="row chosen-file">
      <span className="field-label">{p.label}:</span>
      {p.path ? <code title={p.path}>{fileName(p.path)}</code> : <span className="muted">none ({p.hint})</span>}
      <button className="link" onClick={p.onToggle} aria-expanded={p.open} aria-label={`${p.path ? 'Change' : 'Choose'} ${p.label.toLowerCase()} file`}>
        {p.path ? 'change' : 'choose file…'}
      </button>
      {p.path && (
        <button className="link" onClick={p.onClear} aria-label={`Clear ${p.label.toLowerCase()}`}>
          clear
        </button>
      )}
    </div>
  );
}

/** The installation keys the verifier knows: a package signed by another one fails. */
export function KnownKeys({ choices }: { choices: VerifierChoices }) {
  const { api, dataDir } = useApp();
  const [picking, setPicking] = useState(false);
  const [label, setLabel] = useState('');
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (f: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await f();
      await choices.refreshKeys();
      return true;
    } catch (e) {
      setError(asUiError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const withLabel = label.trim() ? { label: label.trim() } : {};
  const addFile = async (path: string) => {
    if (await run(() => api.call('installKeys.add', { path, ...withLabel }))) {
      setPicking(false);
      setLabel('');
    }
  };
  const addPasted = async () => {
    if (await run(() => api.call('installKeys.add', { key: pasted, ...withLabel }))) {
      setPasted('');
      setLabel('');
    }
  };

  const keys = choices.keys ?? [];
  return (
    <div className="card" data-testid="known-keys">
      <h2>Known installation keys</h2>
      <p className="muted small">
        Each customer's PackScope signs with its own installation key. List the keys you know (read to you by the customer, or from an earlier package): a
        package signed by any other key then fails. With none listed, a signature proves the package is unchanged, not who made it.
      </p>
      {choices.keys === null ? null : keys.length === 0 ? (
        <p className="muted" data-testid="known-keys-empty">
          No keys listed yet.
        </p>
      ) : (
        <ul className="key-list" aria-label="Known installation keys">
          {keys.map((k) => (
            <li key={k.fingerprint}>
              <span className="key-label">{k.label}</span>
              <code>{k.fingerprint}</code>
              <button
                onClick={() => void run(() => api.call('installKeys.remove', { fingerprint: k.fingerprint }))}
                disabled={busy}
                aria-label={`Remove key ${k.label}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <label className="inline grow">
          Whose key
          <input className="grow" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="e.g. Erika Mustermann, workshop PC" maxLength={100} />
        </label>
        <button onClick={() => (setError(null), setPicking((p) => !p))} aria-expanded={picking}>
          Add key from file…
        </button>
      </div>
      {picking && <FilePicker label="Key file" extensions={['.pub', '.pem']} onPick={(p) => void addFile(p)} initialDir={dataDir || undefined} />}
      <div className="row">
        <textarea
          className="grow key-paste"
          rows={2}
          value={pasted}
          onChange={(e) => setPasted(e.target.value)}
          aria-label="Key to paste"
          placeholder="or paste a key: ssh-ed25519 AAAA… or a PEM public key"
          spellCheck={false}
        />
        <button onClick={() => void addPasted()} disabled={!pasted.trim() || busy}>
          Add pasted key
        </button>
      </div>
      {(error ?? choices.keysError) && <ErrorBox error={(error ?? choices.keysError)!} />}
    </div>
  );
}
