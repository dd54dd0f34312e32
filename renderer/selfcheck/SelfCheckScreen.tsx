import { useEffect, useState } from 'react';
import type { Res, StepResultView } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { BoardMissing } from '../common/BoardMissing.js';
import { ChargerFields, chargerFrom, SaveReport } from './SelfCheckParts.js';

type Step = Res<'selfcheck.start'>[number];

const STATUS: Record<StepResultView['status'], { icon: string; text: string; cls: string }> = {
  pass: { icon: '✓', text: 'Normal', cls: 'ok' },
  warn: { icon: '!', text: 'Needs attention', cls: 'unsure' },
  fail: { icon: '✗', text: 'Problem found', cls: 'fail' },
  skipped: { icon: '–', text: 'Not checked', cls: 'unsure' },
};

/**
 * The guided self-check as a wizard for someone who is not an engineer: one step per page, what
 * to do before it, one button to run it, the result in plain words, and at the end either "no
 * problem found" or a way to file a claim.
 */
export function SelfCheckScreen() {
  const { api, connection, go, boardMissing } = useApp();
  const [steps, setSteps] = useState<Step[] | null>(null);
  // The board the running check judges: a flash, an update or another pack ends it (its results
  // described other firmware), and the wizard says so instead of going on.
  const [checkedOn, setCheckedOn] = useState<string | null>(null);
  const [restarted, setRestarted] = useState<string | null>(null);
  const boardKey = connection ? `${connection.device.serial}|${connection.device.firmwareVersion}` : null;
  useEffect(() => {
    if (!steps || !checkedOn || !boardKey || boardKey === checkedOn) return;
    const [serial, fw] = boardKey.split('|');
    const [wasSerial, wasFw] = checkedOn.split('|');
    setRestarted(
      serial !== wasSerial
        ? `Another pack (serial ${serial}) is connected now: start the check again for it.`
        : `The battery's firmware changed (${wasFw} → ${fw}) since this check started: start the check again, so every step checks the firmware it runs now.`,
    );
    setSteps(null);
    setResults({});
    setConclusion(null);
    setCheckedOn(null);
  }, [boardKey, checkedOn, steps]);
  const [index, setIndex] = useState(0);
  const [results, setResults] = useState<Record<string, StepResultView>>({});
  const [running, setRunning] = useState<string | null>(null);
  const [conclusion, setConclusion] = useState<Res<'selfcheck.conclusion'> | null>(null);
  const [charger, setCharger] = useState({ v: '', a: '' });
  const parsedCharger = chargerFrom(charger);
  const [error, setError] = useState<UiError | null>(null);

  if (!connection) {
    return (
      <section className="screen">
        <h1>Self-check</h1>
        <div className="notice">
          <strong>First, connect your battery.</strong>
          <p>Plug the USB cable into the battery and this computer, then choose it on the Connect screen.</p>
          <button className="primary" onClick={() => go('connect')}>
            Go to Connect
          </button>
        </div>
      </section>
    );
  }

  const start = async () => {
    setError(null);
    try {
      if (!parsedCharger.ok) return;
      setSteps(await api.call('selfcheck.start', { charger: parsedCharger.value }));
      setCheckedOn(boardKey);
      setRestarted(null);
      setIndex(0);
      setResults({});
      setConclusion(null);
    } catch (e) {
      setError(asUiError(e));
    }
  };

  const run = async (step: Step) => {
    const opId = `selfcheck-${step.id}-${Date.now()}`;
    setRunning(opId);
    setError(null);
    try {
      // The charger step takes the ratings as they stand now (entered or corrected at this step).
      const extra = step.id === 'charger' && parsedCharger.ok ? { charger: parsedCharger.value } : {};
      const r = await api.call('selfcheck.step', { id: step.id, opId, ...extra });
      setResults((x) => ({ ...x, [step.id]: r }));
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setRunning(null);
    }
  };

  const finish = async () => {
    try {
      setConclusion(await api.call('selfcheck.conclusion', {}));
    } catch (e) {
      setError(asUiError(e));
    }
  };

  if (!steps) {
    return (
      <section className="screen" aria-labelledby="sc-title">
        <h1 id="sc-title">Check your battery</h1>
        <div className="card wizard">
          <p className="lead">
            PackScope will check <strong>{connection.device.model}</strong> (serial {connection.device.serial}) in a few short steps. It takes about a minute.
            Nothing is changed on the battery.
          </p>
          <fieldset>
            <legend>Your charger (optional: from the label on the charger)</legend>
            <ChargerFields value={charger} onChange={setCharger} />
          </fieldset>
          {restarted && (
            <p className="notice" role="status" data-testid="sc-restarted">
              {restarted}
            </p>
          )}
          <BoardMissing />
          <button className="primary big" onClick={start} disabled={!parsedCharger.ok || !!boardMissing} data-testid="sc-start">
            Start the check
          </button>
        </div>
        {error && <ErrorBox error={error} />}
      </section>
    );
  }

  if (conclusion) {
    const claim = conclusion.outcome === 'file-a-claim';
    return (
      <section className="screen" aria-labelledby="sc-title">
        <h1 id="sc-title">Result</h1>
        <div className={`verdict ${claim ? 'fail' : 'ok'}`} data-testid="sc-conclusion">
          {claim ? 'We found a problem' : 'No problem found'}
          {conclusion.summary !== 'No problem found.' && <div className="verdict-sub">{conclusion.summary.replace(/^No problem found\. /, '')}</div>}
        </div>
        <ul className="checks">
          {conclusion.results.map((r) => (
            <li key={r.id}>
              <span className={`badge ${STATUS[r.status].cls}`}>{STATUS[r.status].icon}</span> <strong>{r.title}</strong>: {r.meaning}
            </li>
          ))}
        </ul>
        <div className="row">
          {claim ? (
            <button className="primary big" onClick={() => go('claim')} data-testid="sc-claim">
              File a warranty claim
            </button>
          ) : (
            <button onClick={() => go('claim')} data-testid="sc-claim-anyway">
              Still think something is wrong? File a claim
            </button>
          )}
          <SaveReport />
          <button onClick={() => setSteps(null)}>Check again</button>
        </div>
      </section>
    );
  }

  const step = steps[index]!;
  const result = results[step.id];
  const last = index === steps.length - 1;
  return (
    <section className="screen" aria-labelledby="sc-title">
      <h1 id="sc-title">
        Step {index + 1} of {steps.length}: {step.title}
      </h1>
      <ol className="stepper" aria-label="Steps">
        {steps.map((s, i) => (
          <li
            key={s.id}
            className={i === index ? 'current' : results[s.id] ? `done ${STATUS[results[s.id]!.status].cls}` : ''}
            aria-current={i === index ? 'step' : undefined}
          >
            {results[s.id] ? STATUS[results[s.id]!.status].icon : i + 1}
          </li>
        ))}
      </ol>
      <div className="card wizard" data-testid="sc-step">
        <BoardMissing />
        {step.prompt ? <p className="lead">{step.prompt}</p> : <p className="lead">Nothing to prepare for this step.</p>}
        {!result && (
          <button className="primary big" onClick={() => run(step)} disabled={!!running || !!boardMissing} data-testid="sc-run">
            {running ? 'Checking… please wait' : 'Run this check'}
          </button>
        )}
        {result && (
          <div className={`result ${STATUS[result.status].cls}`} data-testid="sc-result">
            <div className="result-head">
              <span className="badge">{STATUS[result.status].icon}</span> {STATUS[result.status].text}
            </div>
            <p className="lead">{result.meaning}</p>
            <dl className="facts">
              <dt>Measured</dt>
              <dd>{result.measured}</dd>
              <dt>Normal is</dt>
              <dd>{result.normal}</dd>
            </dl>
          </div>
        )}
        {step.id === 'charger' && (
          <fieldset data-testid="sc-charger-fields">
            <legend>Your charger's label</legend>
            <ChargerFields value={charger} onChange={setCharger} />
          </fieldset>
        )}
        <div className="row">
          {index > 0 && <button onClick={() => setIndex(index - 1)}>Back</button>}
          {result && (
            <button onClick={() => run(step)} disabled={!!running || !!boardMissing || (step.id === 'charger' && !parsedCharger.ok)} data-testid="sc-again">
              {running ? 'Checking…' : 'Run again'}
            </button>
          )}
          {result && !last && (
            <button className="primary" onClick={() => setIndex(index + 1)} data-testid="sc-next">
              Next step
            </button>
          )}
          {result && last && (
            <button className="primary" onClick={finish} data-testid="sc-finish">
              See the result
            </button>
          )}
        </div>
      </div>
      {error && <ErrorBox error={error} />}
    </section>
  );
}
