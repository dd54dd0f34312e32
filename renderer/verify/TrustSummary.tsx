import type { ReactNode } from 'react';
import type { InstallKeyEntry, PackageVerificationView, StoredPolicyView } from '../../shared/api/contract.js';
import { policyName } from './VerifySettings.js';
import { summaryInWords } from '../../shared/warranty/summary-words.js';

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z/g;

/** Host texts carry UTC ISO times: shown in the reader's own time. */
export function plainDates(text: string): string {
  return text.replace(ISO, (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
  });
}

const sentence = (s: string) => plainDates(s.charAt(0).toUpperCase() + s.slice(1));

const verdictWords = { covered: 'Covered', excluded: 'Not covered', inconclusive: 'Inconclusive' } as const;

type Tone = 'ok' | 'warn' | 'bad';
const TONE: Record<Tone, { mark: string; cls: string; word: string }> = {
  ok: { mark: '✓', cls: 'ok-text', word: 'Good' },
  warn: { mark: '⚠', cls: 'warn', word: 'Note' },
  bad: { mark: '✗', cls: 'bad-text', word: 'Problem' },
};

function Line({ tone, children, testId }: { tone: Tone; children: ReactNode; testId: string }) {
  const t = TONE[tone];
  return (
    <li className={t.cls} data-testid={testId}>
      <span className="mark" aria-label={t.word} role="img">
        {t.mark}
      </span>{' '}
      {children}
    </li>
  );
}

/**
 * What the verdict rests on, in plain words, right under it: whose policy decided, whether the
 * pull is proven fresh, the history the board attested, and whether the signing key is known.
 */
export function TrustSummary({
  result,
  policies,
  keys,
  onChoose,
}: {
  result: PackageVerificationView;
  policies: StoredPolicyView[] | null;
  keys: InstallKeyEntry[] | null;
  onChoose(): void;
}) {
  const d = result.policy.decidedBy;
  const stored = d ? policies?.find((p) => p.sha256 === d.sha256) : undefined;
  const k = result.installKey;
  const known = k ? keys?.find((e) => e.fingerprint === k.fingerprint) : undefined;
  const ticketFailed = result.checks.some((c) => c.id === 'ticket' && !c.ok);
  return (
    <ul className="trust" data-testid="verify-trust" aria-label="What the verdict rests on">
      {d &&
        (d.source === 'verifier' ? (
          <Line tone="ok" testId="trust-policy">
            Decided by your policy <strong>{stored ? policyName(stored) : d.id}</strong>
            {stored && <span className="muted"> — {stored.title}</span>}
          </Line>
        ) : (
          <Line tone="warn" testId="trust-policy">
            Decided by PackScope's default policy —{' '}
            <button className="link" onClick={onChoose}>
              choose yours
            </button>
          </Line>
        ))}
      <Line tone={result.freshness.proven ? 'ok' : ticketFailed ? 'bad' : 'warn'} testId="trust-freshness">
        {result.freshness.proven
          ? sentence(result.freshness.detail)
          : ticketFailed
            ? 'Freshness not proven: the claim ticket check failed (see the checks below)'
            : sentence(result.freshness.detail)}
      </Line>
      {result.extent ? (
        <Line tone="ok" testId="trust-extent">
          {sentence(result.extent)}
        </Line>
      ) : (
        result.manifest && (
          <Line tone="warn" testId="trust-extent">
            {result.manifest.device.source === 'desktop'
              ? 'A desktop recording: no board attested which history it holds'
              : 'The board did not attest which history it holds'}
          </Line>
        )
      )}
      {k &&
        (k.pinned === true ? (
          <Line tone="ok" testId="trust-key">
            Key <code>{k.fingerprint}</code> is one you know{known ? ` (${known.label})` : ''}
          </Line>
        ) : k.pinned === false ? (
          <Line tone="bad" testId="trust-key">
            Unknown key: the package may come from anyone (signed by <code>{k.fingerprint}</code>, not one of your known keys)
          </Line>
        ) : (
          <Line tone="warn" testId="trust-key">
            No keys pinned: the signature proves integrity, not origin (<code>{k.fingerprint}</code>)
          </Line>
        ))}
    </ul>
  );
}

/** The verdict the customer's PackScope showed, with the customer's policy and how it differs. */
export function CustomerSaw({ result }: { result: PackageVerificationView }) {
  const c = result.customerEvaluation;
  const pkg = result.policy.package;
  if (!c && !pkg) return null;
  const same = pkg && result.policy.decidedBy && pkg.sha256 === result.policy.decidedBy.sha256;
  const diffs = result.policy.differences;
  return (
    <div className="card" data-testid="customer-saw">
      <h2>What the customer saw</h2>
      <dl className="facts">
        <dt>Verdict</dt>
        <dd data-testid="customer-verdict">
          {c ? (
            <>
              <strong>{verdictWords[c.verdict]}</strong>{' '}
              <span className="muted">— {result.evaluation ? summaryInWords({ ...result.evaluation, summary: c.summary }) : c.summary}</span>
            </>
          ) : (
            'could not be recomputed'
          )}
        </dd>
        <dt>Their policy</dt>
        <dd>
          {pkg ? <code>{pkg.id}</code> : 'unreadable'}
          {same
            ? ' — the same policy that decided here'
            : diffs.length > 0
              ? ` — differs from the deciding policy in ${diffs.length} place${diffs.length === 1 ? '' : 's'}`
              : ''}
        </dd>
      </dl>
      {diffs.length > 0 && (
        <ul className="differences" data-testid="policy-differences" aria-label="How the customer's policy differs">
          {diffs.map((x) => (
            <li key={x}>{x}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Caveats({ caveats }: { caveats: string[] }) {
  if (!caveats.length) return null;
  return (
    <div className="card" data-testid="caveats">
      <h2>Also worth knowing</h2>
      <ul className="checks">
        {caveats.map((c) => (
          <li key={c} className="warn-line">
            ⚠ {sentence(c)}
          </li>
        ))}
      </ul>
    </div>
  );
}
