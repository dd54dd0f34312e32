import { useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { evaluatePreconditions } from '../../shared/bundle/preconditions.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker, Progress } from '../common/FilePicker.js';
import { BoardMissing } from '../common/BoardMissing.js';
import { SettingsAcrossFlash } from '../settings/SettingsAcrossFlash.js';
import { PortField } from '../firmware/OtherLinks.js';

/**
 * The Update screen, for customers and service partners: pick a release bundle (.psfw) a supplier
 * published, read its notes and what will change on this pack, watch its preconditions tick green
 * as the pack's live state meets them, then apply: the host checks everything again before
 * anything is erased, installs, test-boots, self-tests and confirms — or reverts on its own.
 */
type UpdateInfo = Res<'update.inspect'>;
type UpdateResult = Res<'update.apply'>;

const STEPS: Array<[string, string]> = [
  ['check', 'Checks (signature, board, release number, preconditions)'],
  ['targets', 'The other processors answer'],
  ['install', 'Install'],
  ['test-boot', 'Test boot'],
  ['self-test', 'Self-test'],
  ['confirm', 'Confirm'],
];

function when(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
}

export function UpdateScreen() {
  const { api, connection, dataDir, go, boardMissing } = useApp();
  const [info, setInfo] = useState<UpdateInfo | null>(null);
  const [sample, setSample] = useState<TelemetryFrame | null>(null);
  const [opId, setOpId] = useState<string | null>(null);
  const [step, setStep] = useState<string | null>(null);
  const [upload, setUpload] = useState<{ done: number; total: number; rate: number; etaSeconds: number | null } | null>(null);
  const [result, setResult] = useState<UpdateResult | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [canPort, setCanPort] = useState('');
  const [romPort, setRomPort] = useState('');
  const connected = connection !== null;

  // This screen's share of the telemetry stream: the preconditions follow the pack live.
  useEffect(() => {
    if (!connected) return;
    const off = api.on('telemetry', (f) => setSample(f));
    api.call('telemetry.start', { rateHz: 2 }).catch((e) => setError(asUiError(e)));
    return () => {
      off();
      api.call('telemetry.stop', {}).catch(() => undefined);
    };
  }, [api, connected]);

  useEffect(
    () =>
      api.on('progress', (p) => {
        if (p.opId !== opId || !p.phase) return;
        if (p.phase === 'install' && p.total > 0) setUpload(p);
        else if (p.phase !== 'upload') setStep(p.phase);
      }),
    [api, opId],
  );

  if (!connected) {
    return (
      <div className="card">
        <h2>Firmware update</h2>
        <p>Connect the pack first: an update is checked against the connected board.</p>
        <button onClick={() => go('connect')}>Connect</button>
      </div>
    );
  }

  const inspect = async (path: string) => {
    setError(null);
    setResult(null);
    setStep(null);
    setUpload(null);
    try {
      setInfo(await api.call('update.inspect', { path }));
    } catch (e) {
      setInfo(null);
      setError(asUiError(e));
    }
  };

  const checks = info ? evaluatePreconditions(info.preconditions, sample) : [];
  // Components for an ECU on CAN or a processor in its STM32 ROM bootloader need that port too.
  const needsCan = !!info?.components.some((c) => c.reachedBy === 'can');
  const needsRom = !!info?.components.some((c) => c.reachedBy === 'rom');
  const unknownProfiles = info?.components.filter((c) => c.profileKnown === false) ?? [];
  const portsReady = (!needsCan || canPort.trim() !== '') && (!needsRom || romPort.trim() !== '') && unknownProfiles.length === 0;
  const ready = !!info && info.refusal === null && checks.every((c) => c.ok) && portsReady;
  const steps = STEPS.filter(([s]) => s !== 'targets' || needsCan || needsRom);

  const apply = async () => {
    if (!info) return;
    const id = `update-${Date.now()}`;
    setOpId(id);
    setError(null);
    setResult(null);
    setStep('check');
    try {
      setResult(
        await api.call('update.apply', {
          path: info.path,
          opId: id,
          ...(needsCan ? { canPort: canPort.trim() } : {}),
          ...(needsRom ? { romPort: romPort.trim() } : {}),
        }),
      );
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setOpId(null);
    }
  };

  const running = opId !== null;
  const stepIndex = step ? steps.findIndex(([s]) => s === step) : -1;
  return (
    <>
      <div className="card">
        <h2>Firmware update</h2>
        <p>Choose the update file (.psfw) your supplier gave you. Nothing is written until you press Apply.</p>
        <FilePicker label="Update file" extensions={['.psfw']} onPick={(p) => void inspect(p)} initialDir={dataDir || undefined} />
      </div>
      {info && (
        <div className="card" data-testid="update-info">
          <h2>
            Release {info.sequence} from {info.vendorId}
          </h2>
          <p>
            Published {when(info.created)} · valid until {when(info.expires)}
          </p>
          {info.refusal ? (
            <p className="bad-text" data-testid="update-refusal">
              This update cannot be applied to this pack: {info.refusal.message.replace(/^bundle refused: /, '')}
            </p>
          ) : (
            <p className="ok-text">Signed by a key this installation trusts, made for this board.</p>
          )}
          <h3>What's new</h3>
          <p data-testid="update-notes" style={{ whiteSpace: 'pre-wrap' }}>
            {info.notes}
          </p>
          <h3>What will change</h3>
          <table data-testid="update-changes">
            <tbody>
              {info.components.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td>{c.from ?? 'unknown'}</td>
                  <td>→</td>
                  <td>
                    <strong>{c.version}</strong>
                  </td>
                  <td>{c.where}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {(needsCan || needsRom) && (
            <div data-testid="update-targets">
              <h3>Connections</h3>
              <p>This update also goes to other processors of the pack. Connect them and name their ports; each is asked before anything is written.</p>
              {needsCan && <PortField label="CAN adapter port" value={canPort} onChange={setCanPort} />}
              {needsRom && <PortField label="STM32 ROM port" value={romPort} onChange={setRomPort} />}
              {unknownProfiles.map((c) => (
                <p key={c.name} className="bad-text">
                  {c.name} needs the target profile named in {c.where}, which this installation does not have (put it in uds-profiles/ of the configuration
                  folder).
                </p>
              ))}
            </div>
          )}
          <h3>Before the update</h3>
          {checks.length === 0 ? (
            <p>No conditions.</p>
          ) : (
            <ul className="checks" data-testid="update-preconditions">
              {checks.map((c) => (
                <li key={c.name} data-testid={`precondition-${c.name}`} data-ok={c.ok ? 'yes' : 'no'} className={c.ok ? 'good' : 'bad'}>
                  {c.ok ? '✓' : '✗'} {c.required} — now {c.actual}
                </li>
              ))}
            </ul>
          )}
          <p>
            The pack restarts into the new firmware in a test mode, checks itself, and keeps the new firmware only if everything works; otherwise it goes back
            to the firmware it runs now. Keep it connected until the update says it is done.
          </p>
          <BoardMissing />
          <button data-testid="update-apply" disabled={!ready || running || !!boardMissing} onClick={() => void apply()}>
            Apply update
          </button>
        </div>
      )}
      {(running || result || step) && (
        <div className="card" data-testid="update-progress">
          <h2>Updating</h2>
          <ol>
            {steps.map(([s, label], i) => (
              <li
                key={s}
                className={result?.outcome === 'reverted' && s === 'confirm' ? 'bad' : i < stepIndex || result ? 'good' : i === stepIndex ? 'warn' : ''}
              >
                {label}
                {s === 'install' && i === stepIndex && upload && !result ? <Progress {...upload} label="Sending the firmware" /> : null}
              </li>
            ))}
          </ol>
          {result && (
            <p data-testid="update-result" className={result.outcome === 'reverted' ? 'bad-text' : 'ok-text'}>
              {result.outcome === 'installed'
                ? `Done: the pack runs ${result.runningVersion ?? 'the new firmware'}, checked and kept.`
                : result.outcome === 'reverted'
                  ? `The new firmware failed its self-test (${result.selfTest?.problems.join('; ') ?? ''}); the pack went back to ${result.runningVersion ?? 'its previous firmware'}.`
                  : `This update is already installed: the pack runs ${result.runningVersion ?? '?'}.`}
            </p>
          )}
          {result && result.components.length > 1 && (
            <table data-testid="update-components">
              <tbody>
                {result.components.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>{c.from ?? '—'}</td>
                    <td>→</td>
                    <td>{c.to}</td>
                    <td>{c.target}</td>
                    <td>{c.outcome}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {result?.settingsBackup && <SettingsAcrossFlash backup={result.settingsBackup} changed={result.settingsChanged} event="update" />}
        </div>
      )}
      {error && <ErrorBox error={error} />}
    </>
  );
}
