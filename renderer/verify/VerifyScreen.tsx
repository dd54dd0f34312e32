import { useEffect, useMemo, useState } from 'react';
import type { PackageVerificationView } from '../../shared/api/contract.js';
import type { Evaluation } from '../../shared/warranty/evaluation.js';
import { useApp } from '../app/state.js';
import { RecordedChart } from '../charts/RecordedChart.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { bytes } from '../common/format.js';
import { PHOTO_MIME } from '../../shared/evidence/photos.js';
import { Caveats, CustomerSaw, TrustSummary } from './TrustSummary.js';
import { type Decision, DecideWith, KnownKeys, useVerifierChoices } from './VerifySettings.js';
import './verify.css';
import { summaryInWords } from '../../shared/warranty/summary-words.js';
import { CHECK_TITLES, ClaimFacts, ReportActions, wrongRoot } from './VerifyDetails.js';
import { PackageHealthCard } from './PackageHealth.js';

const ROOT_KEY = 'packscope.verify.rootKey';
const POLICY_KEY = 'packscope.verify.policy';
const TICKET_KEY_KEY = 'packscope.verify.ticketKey';

/** A clause of the deciding policy by its title (the id only when the policy has no such clause). */
export function clauseTitle(evaluation: Evaluation, id: string): string {
  if (id === 'unreadable-segments') return 'parts of the log cannot be read';
  return evaluation.clauses.find((c) => c.id === id)?.title ?? id;
}

export function VerdictBanner({ evaluation, verified, wrongRoot = false }: { evaluation: Evaluation | null; verified: boolean; wrongRoot?: boolean }) {
  if (wrongRoot) {
    return (
      <div className="verdict unsure" data-testid="verdict-banner">
        Check your root key: it did not certify this board
        <div className="verdict-sub">
          The board's certificate was issued by another key than the root you chose. Everything else in the package verified. Choose your manufacturing root for
          this model and verify again.
        </div>
      </div>
    );
  }
  if (!verified) {
    return (
      <div className="verdict fail" data-testid="verdict-banner">
        Do not trust this package: it failed verification
      </div>
    );
  }
  if (!evaluation) return null;
  const text =
    evaluation.verdict === 'covered'
      ? 'Covered by the warranty'
      : evaluation.verdict === 'excluded'
        ? `Not covered: ${evaluation.excludedBy.map((id) => clauseTitle(evaluation, id)).join('; ')}`
        : 'Inconclusive: physical inspection needed';
  return (
    <div className={`verdict ${evaluation.verdict === 'covered' ? 'ok' : evaluation.verdict === 'excluded' ? 'fail' : 'unsure'}`} data-testid="verdict-banner">
      {text}
      <div className="verdict-sub">{summaryInWords(evaluation)}</div>
    </div>
  );
}

export function Findings({ evaluation }: { evaluation: Evaluation }) {
  return (
    <>
      {evaluation.findings.length === 0 ? (
        <p className="ok-text">No finding: no void condition or defect indicator was met in the log.</p>
      ) : (
        <table className="grid" data-testid="findings">
          <thead>
            <tr>
              <th>Finding</th>
              <th>Measured</th>
              <th>Limit</th>
              <th>For</th>
              <th>When</th>
              <th>Records</th>
            </tr>
          </thead>
          <tbody>
            {evaluation.findings.map((f) => (
              <tr key={`${f.clause}-${f.occurrence}`}>
                <td>
                  <span className={f.type === 'void' ? 'bad-text' : 'warn'}>{f.type === 'void' ? 'void' : 'defect'}</span> {f.title}
                </td>
                <td>
                  {f.measured.value} {f.measured.unit}
                </td>
                <td>
                  {f.threshold.comparison} {f.threshold.value} {f.threshold.unit}
                </td>
                <td>{f.durationS.toFixed(0)} s</td>
                <td className="small">
                  {new Date(f.from).toLocaleString()} – {new Date(f.to).toLocaleTimeString()}
                </td>
                <td className="small">
                  #{f.records.first}–#{f.records.last} (worst #{f.records.extreme})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {evaluation.missing.length > 0 && (
        <ul className="checks">
          {evaluation.missing.map((m) => (
            <li key={m.code + m.message} className="warn">
              ⚠ {m.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function VerifyScreen() {
  const { api, takePendingFile, dataDir } = useApp();
  const [pkg, setPkg] = useState<string | null>(null);
  const [root, setRoot] = useState(() => localStorage.getItem(ROOT_KEY) ?? '');
  const [decision, setDecision] = useState<Decision>(() => ({
    policySha256: localStorage.getItem(POLICY_KEY) ?? '',
    ticketKey: localStorage.getItem(TICKET_KEY_KEY) ?? '',
    ticket: '',
  }));
  const [result, setResult] = useState<PackageVerificationView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const choices = useVerifierChoices();

  useEffect(() => {
    const f = takePendingFile('verify');
    if (f) setPkg(f);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  // A remembered policy that left the store is forgotten (automatic choice instead).
  useEffect(() => {
    if (choices.policies && decision.policySha256 && !choices.policies.some((p) => p.sha256 === decision.policySha256))
      setDecision((d) => ({ ...d, policySha256: '' }));
  }, [choices.policies, decision.policySha256]);

  const verify = async () => {
    if (!pkg || !root) return;
    localStorage.setItem(POLICY_KEY, decision.policySha256);
    localStorage.setItem(TICKET_KEY_KEY, decision.ticketKey);
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await api.call('package.verify', {
        path: pkg,
        rootKeyPath: root,
        ...(decision.policySha256 ? { policySha256: decision.policySha256 } : {}),
        ...(decision.ticketKey ? { ticketKeyPath: decision.ticketKey } : {}),
        ...(decision.ticket ? { ticketPath: decision.ticket } : {}),
      });
      // A root that did not certify the board is the verifier's slip: not remembered for next time.
      if (r.root?.matches === false) {
        if (localStorage.getItem(ROOT_KEY) === root) localStorage.removeItem(ROOT_KEY);
      } else localStorage.setItem(ROOT_KEY, root);
      setResult(r);
      // Labels and titles for the lines under the verdict.
      void choices.refreshKeys();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (pkg && root && !result && !busy) void verify();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pkg, root]);

  const markers = useMemo(() => (result?.evaluation?.findings ?? []).map((f) => ({ t: Date.parse(f.from), label: f.title })), [result]);
  /** Back to the choices, keeping the package and the root key. */
  const [focusPolicy, setFocusPolicy] = useState(false);
  const change = (policy = false) => (setFocusPolicy(policy), setResult(null), setError(null));

  return (
    <section className="screen" aria-labelledby="verify-title">
      <h1 id="verify-title">Verify a diagnosis package</h1>
      {!result && (
        <>
          <div className="card" data-testid="verify-setup">
            <div className="grid2">
              <div>
                <h2>1. Package (.psdiag)</h2>
                {pkg ? (
                  <p>
                    <code>{pkg}</code>{' '}
                    <button className="link" onClick={() => setPkg(null)} aria-label="Change package">
                      change
                    </button>
                  </p>
                ) : (
                  <FilePicker label="Package" extensions={['.psdiag']} onPick={setPkg} initialDir={dataDir || undefined} />
                )}
              </div>
              <div>
                <h2>2. Supplier root key (.pem)</h2>
                <p className="muted small">
                  The manufacturing CA public key that certifies the boards. It is remembered for next time once it has verified a board.
                </p>
                {root ? (
                  <p>
                    <code>{root}</code>{' '}
                    <button className="link" onClick={() => setRoot('')} aria-label="Change root key">
                      change
                    </button>
                  </p>
                ) : (
                  <FilePicker label="Root key" extensions={['.pem']} onPick={setRoot} initialDir={dataDir || undefined} />
                )}
              </div>
            </div>
            <hr className="divider" />
            <DecideWith choices={choices} value={decision} onChange={setDecision} focusPolicy={focusPolicy} />
          </div>
          <KnownKeys choices={choices} />
          <div className="row verify-go">
            <button className="primary big" disabled={!pkg || !root || busy} onClick={verify} data-testid="verify-start">
              {busy ? 'Verifying…' : 'Verify'}
            </button>
            {!pkg || !root ? <span className="muted">Choose the package and your root key first.</span> : null}
          </div>
        </>
      )}
      {error && <ErrorBox error={error} />}
      {result && (
        <div data-testid="verify-result">
          <VerdictBanner evaluation={result.evaluation} verified={result.ok} wrongRoot={wrongRoot(result)} />
          {result.root?.matches === false && (
            <div className="notice" data-testid="verify-wrong-root">
              <p>
                <strong>The root key {root} did not certify this board.</strong> Its certificate names issuer key <code>{result.root.issuerKeyId}</code>; the
                key you chose is <code>{result.root.chosenKeyId}</code>. It has not been remembered.
              </p>
              <button className="primary" onClick={() => (setRoot(''), setResult(null))}>
                Choose another root key
              </button>
            </div>
          )}
          <ReportActions result={result} />
          <TrustSummary result={result} policies={choices.policies} keys={choices.keys} onChoose={() => change(true)} />
          <p className={result.ok ? 'ok-text' : 'bad-text'} data-testid="verify-line">
            {result.line}
          </p>
          <div className="row verify-actions">
            <button onClick={() => change()}>Change policy, ticket or keys</button>
            <button onClick={() => (setResult(null), setPkg(null), setDecision((d) => ({ ...d, ticket: '' })))}>Verify another package</button>
          </div>
          {result.caveats.length > 0 ? (
            <div className="grid2">
              <CustomerSaw result={result} />
              <Caveats caveats={result.caveats} />
            </div>
          ) : (
            <CustomerSaw result={result} />
          )}
          <div className="grid2">
            <div className="card">
              <h2>Signatures and integrity</h2>
              <ul className="checks" data-testid="checks">
                {result.checks.map((c, i) => (
                  <li key={c.id + i} className={c.ok ? '' : 'bad-text'}>
                    {c.ok ? '✓' : '✗'} <strong>{CHECK_TITLES[c.id] ?? c.id}</strong>: {c.detail}
                  </li>
                ))}
              </ul>
            </div>
            <div className="card">
              <h2>Device and claim</h2>
              {result.manifest && (
                <dl className="facts">
                  <dt>Device</dt>
                  <dd>
                    {result.manifest.device.model} · serial {result.manifest.device.serial}
                  </dd>
                  <dt>Firmware</dt>
                  <dd>{result.manifest.device.firmwareVersion ?? 'not recorded'}</dd>
                  <dt>Evidence</dt>
                  <dd>{result.manifest.device.source === 'device' ? 'signed by the board itself' : 'desktop recording (unsigned)'}</dd>
                  <dt>Created</dt>
                  <dd>
                    {new Date(result.manifest.createdAt).toLocaleString()} by PackScope {result.manifest.tool.version}
                  </dd>
                  <dt>Signed by</dt>
                  <dd>
                    <code>{result.manifest.installKey.fingerprint}</code>
                  </dd>
                  <dt>Decided with</dt>
                  <dd>
                    {result.policy.decidedBy
                      ? `${result.policy.decidedBy.id}${result.policy.decidedBy.source === 'default' ? " (PackScope's default)" : ' (yours)'}`
                      : 'no policy'}
                  </dd>
                </dl>
              )}
              {result.claim && <ClaimFacts result={result} />}
            </div>
          </div>
          {result.evaluation && (
            <div className="card">
              <h2>Findings</h2>
              <Findings evaluation={result.evaluation} />
            </div>
          )}
          {result.health && <PackageHealthCard health={result.health} />}
          {result.photos.length > 0 && <PackagePhotos result={result} />}
          {result.series && (
            <div className="card">
              <h2>The device's log</h2>
              <RecordedChart series={result.series} markers={markers} label="Recorded pack data" />
            </div>
          )}
        </div>
      )}
    </section>
  );
}

/**
 * The customer's photos, loaded one at a time on request (a package may carry 20 large ones).
 * The host hands out a photo only from the very file that was verified, matched to SHA256SUMS.
 */
function PackagePhotos({ result }: { result: PackageVerificationView }) {
  const { api } = useApp();
  const [shown, setShown] = useState<Record<string, string>>({});
  const [error, setError] = useState<UiError | null>(null);
  const show = async (name: string) => {
    setError(null);
    try {
      const p = await api.call('package.photo', { path: result.path, name, sha256: result.sha256 });
      setShown((s) => ({ ...s, [name]: p.kind === 'heic' ? '' : `data:${PHOTO_MIME[p.kind]};base64,${p.base64}` }));
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <div className="card" data-testid="verify-photos">
      <h2>Photos from the customer</h2>
      {!result.ok && <p className="bad-text">The package did not verify: these photos may not be what the customer sent.</p>}
      <ul className="photo-list">
        {result.photos.map((p) => (
          <li key={p.name}>
            <span>{p.name.replace(/^photos\//, '')}</span> <span className="muted small">{bytes(p.bytes)}</span>{' '}
            {shown[p.name] === undefined ? (
              <button className="link" onClick={() => void show(p.name)} aria-label={`Show ${p.name}`}>
                show
              </button>
            ) : shown[p.name] === '' ? (
              <span className="muted small">HEIC photos cannot be shown here: unpack the package (it is a ZIP file) to open it</span>
            ) : (
              <img className="photo" src={shown[p.name]} alt={`Customer photo ${p.name}`} />
            )}
          </li>
        ))}
      </ul>
      {error && <ErrorBox error={error} />}
    </div>
  );
}
