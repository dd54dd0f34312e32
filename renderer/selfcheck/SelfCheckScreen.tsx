import { useEffect, useState } from 'react';
import type { PackscopeApi, Res, StepResultView } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { BoardMissing } from '../common/BoardMissing.js';
import { ChargerFields, chargerFrom, SaveReport, type ChargerText } from './SelfCheckParts.js';

type Step = Res<'selfcheck.start'>[number];
type SelfCheckView = NonNullable<Res<'selfcheck.state'>>;

const STATUS: Record<StepResultView['status'], { icon: string; text: string; cls: string }> = {
  pass: { icon: '✓', text: 'Normal', cls: 'ok' },
  warn: { icon: '!', text: 'Needs attention', cls: 'unsure' },
  fail: { icon: '✗', text: 'Problem found', cls: 'fail' },
  skipped: { icon: '–', text: 'Not checked', cls: 'unsure' },
};

/**
 * The self-check as the host keeps it: the screen subscribes first, then asks, so a change that
 * races the first answer is not lost (undefined: not known yet; null: no check).
 */
function useHostSelfCheck(api: PackscopeApi): SelfCheckView | null | undefined {
  const [view, setView] = useState<SelfCheckView | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    let heard = false;
    const off = api.on('selfcheck', (v) => {
      heard = true;
      if (live) setView(v);
    });
    api
      .call('selfcheck.state', {})
      .then((v) => live && !heard && setView(v))
      .catch(() => live && setView(null));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return view;
}

/**
 * The guided self-check as a wizard for someone who is not an engineer: one step per page, what
 * to do before it, one button to run it, the result in plain words, and at the end either "no
 * problem found" or a way to file a claim. The check lives in the host (steps run, results, the
 * page shown, the charger as typed): leaving this screen or reloading the page finds it as it was,
 * a step still running included.
 */
export function SelfCheckScreen() {
  const { api, connection, go, boardMissing } = useApp();
  const view = useHostSelfCheck(api);
  const [typed, setTyped] = useState<ChargerText | null>(null);
  const active = view && !view.ended ? view : null;
  // The charger as typed: this screen's edits first, else what the host kept with the running check
  // (an ended one may have judged another pack and its charger).
  const charger = typed ?? active?.charger ?? { v: '', a: '' };
  const parsedCharger = chargerFrom(charger);
  const [error, setError] = useState<UiError | null>(null);
  const [asking, setAsking] = useState(false);
  // The page this screen moved to, shown at once (the host keeps it for the next look).
  const [moved, setMoved] = useState<{ jobId: string; index: number } | null>(null);

  const setCharger = (c: ChargerText) => {
    setTyped(c);
    if (active) void api.call('selfcheck.position', { charger: c }).catch(() => undefined);
  };

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
  if (view === undefined) {
    return (
      <section className="screen">
        <h1>Self-check</h1>
        <p className="muted" role="status">
          Loading…
        </p>
      </section>
    );
  }

  const start = async () => {
    setError(null);
    try {
      if (!parsedCharger.ok) return;
      await api.call('selfcheck.start', { charger: parsedCharger.value, chargerText: charger });
    } catch (e) {
      setError(asUiError(e));
    }
  };

  const run = async (step: Step) => {
    const opId = `selfcheck-${step.id}-${Date.now()}`;
    setAsking(true);
    setError(null);
    try {
      // The charger step takes the ratings as they stand now (entered or corrected at this step).
      const extra = step.id === 'charger' && parsedCharger.ok ? { charger: parsedCharger.value } : {};
      await api.call('selfcheck.step', { id: step.id, opId, ...extra });
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setAsking(false);
    }
  };

  const goTo = (index: number) => {
    if (active) setMoved({ jobId: active.jobId, index });
    void api.call('selfcheck.position', { index }).catch((e) => setError(asUiError(e)));
  };

  const finish = async () => {
    try {
      await api.call('selfcheck.conclusion', {});
    } catch (e) {
      setError(asUiError(e));
    }
  };

  const again = async () => {
    setError(null);
    await api.call('selfcheck.discard', {}).catch((e) => setError(asUiError(e)));
  };

  if (!active) {
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
          {view?.ended && (
            <p className="notice" role="status" data-testid="sc-restarted">
              {view.ended}
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

  const { steps, results, conclusion } = active;
  const index = Math.min(moved?.jobId === active.jobId ? moved.index : active.index, steps.length - 1);
  const running = active.running !== null || asking;

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
          <button onClick={() => void again()} data-testid="sc-check-again">
            Check again
          </button>
        </div>
        {error && <ErrorBox error={error} />}
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
          {index > 0 && <button onClick={() => goTo(index - 1)}>Back</button>}
          {result && (
            <button onClick={() => run(step)} disabled={!!running || !!boardMissing || (step.id === 'charger' && !parsedCharger.ok)} data-testid="sc-again">
              {running ? 'Checking…' : 'Run again'}
            </button>
          )}
          {result && !last && (
            <button className="primary" onClick={() => goTo(index + 1)} data-testid="sc-next">
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
