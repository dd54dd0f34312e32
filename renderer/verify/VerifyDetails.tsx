import type { PackageVerificationView } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { SavedReport } from '../common/SavedReport.js';

/**
 * The parts of the Verify result that read the package for a supplier: the claim with the fields
 * the signatures do not cover flagged, the checks by name, and the verifier's own report (saved,
 * opened, printed).
 */

/** Only the root was wrong: everything but the certificate check verified. */
export function wrongRoot(r: PackageVerificationView): boolean {
  return r.root?.matches === false && r.checks.every((c) => c.ok || c.id === 'device-certificate');
}

export const CHECK_TITLES: Record<string, string> = {
  archive: 'Archive',
  'file-set': 'Files',
  hashes: 'File hashes',
  'install-key': 'Installation key',
  'install-key-known': 'Known installation key',
  'signature-raw': 'Signature (OpenSSL)',
  'signature-ssh': 'Signature (ssh-keygen)',
  'verify-text': 'VERIFY.txt',
  manifest: 'Manifest',
  'claim-policy': 'Claim and policy files',
  'device-certificate': 'Device certificate',
  'device-identity': 'Device identity',
  'segment-signatures': 'Segment signatures',
  'segment-chain': 'Segment chain',
  extent: 'Attested history',
  ticket: 'Claim ticket',
  dates: 'Dates',
  csv: 'CSV files',
  evaluation: "The customer's evaluation",
  health: 'Pack health',
  'lifetime-counters': 'Lifetime counters',
  report: 'report.html',
};

const REMEDY: Record<string, string> = { repair: 'Repair', replacement: 'Replacement', consultation: 'Advice only' };

/** The claim as the customer filed it; a field the package does not prove is flagged, not shown as plain data. */
export function ClaimFacts({ result }: { result: PackageVerificationView }) {
  const claim = result.claim!;
  const flags = new Map((result.claimFields ?? []).map((f) => [f.field, f]));
  const failure = claim.failureDate ?? (result.evaluation ? `${result.evaluation.claim.failureDate} (not given: the day the claim was made)` : 'not given');
  const row = (field: string, label: string, value: string) => {
    const f = flags.get(field);
    const bad = f && f.state !== 'verified';
    return [
      <dt key={`${field}-t`}>{label}</dt>,
      <dd key={`${field}-d`} className={bad ? 'flagged' : undefined} data-testid={`claim-${field}`}>
        {value}
        {bad && (
          <span className="bad-text flag-note">
            {' '}
            {f.state === 'altered' ? `⚠ altered: the signed data says ${f.signed}` : '⚠ not verified: the signatures do not cover it'}
          </span>
        )}
      </dd>,
    ];
  };
  const anyFlag = [...flags.values()].some((f) => f.state !== 'verified');
  return (
    <>
      {anyFlag && (
        <p className="bad-text" data-testid="claim-flagged">
          The claim below is not what the customer's PackScope signed: flagged fields may have been changed.
        </p>
      )}
      <dl className="facts claim">
        {row('customer', 'Customer', `${claim.customer} (${claim.contact})`)}
        {row('purchaseDate', 'Purchased', claim.purchaseDate)}
        {row('failureDate', 'Problem started', failure)}
        {row('remedy', 'Remedy asked for', REMEDY[claim.remedy] ?? claim.remedy)}
        {row('description', 'Problem', claim.description)}
      </dl>
    </>
  );
}

/** Save the verifier's report (then open it, show it in its folder or download it); print the screen. */
export function ReportActions({ result }: { result: PackageVerificationView }) {
  const { api } = useApp();
  return (
    <div className="row verify-report no-print" data-testid="verify-report">
      <SavedReport
        label="Save the report"
        testId="verify-report"
        suggested={`verification-${result.manifest?.device.serial ?? 'package'}.html`}
        write={(out) => api.call('package.report', { path: result.path, sha256: result.sha256, ...(out ? { out } : {}) })}
      >
        <button onClick={() => window.print()}>Print</button>
      </SavedReport>
    </div>
  );
}
