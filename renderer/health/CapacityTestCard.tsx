import { useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { DecimalField } from '../common/DecimalField.js';

/**
 * The guided capacity test of the connected board: full charge, rest, discharge at a set current
 * to the end voltage, rest. It runs as a host job, so it goes on (and is found again here) when
 * the screen is left; the board stops it at any protection event and marks every phase in its
 * black box, which the next download keeps.
 */
type Result = Res<'health.capacityTest'>;

const num = (s: string) => Number(s.replace(',', '.'));

export function CapacityTestCard() {
  const { api, connection, jobs, boardMissing } = useApp();
  const job = latestJob(jobs, 'capacity-test');
  const running = job?.state === 'running' ? job : null;
  const ended = job && job.state !== 'running' ? job : null;
  const result = ended?.state === 'done' ? (ended.result as Result) : null;
  const [current, setCurrent] = useState('');
  const [endV, setEndV] = useState('');
  const [restMin, setRestMin] = useState('30');
  const [error, setError] = useState<UiError | null>(null);

  const bad = {
    current: current.trim() !== '' && !(num(current) > 0),
    endV: endV.trim() !== '' && !(num(endV) >= 1 && num(endV) <= 5),
    rest: !(num(restMin) >= 0 && num(restMin) <= 1440),
  };
  const native = connection?.protocol === 'native';
  const start = async () => {
    setError(null);
    try {
      await api.call('health.capacityTest', {
        opId: `capacity-test-${Date.now()}`,
        ...(current.trim() ? { dischargeA: num(current) } : {}),
        ...(endV.trim() ? { endCellV: num(endV) } : {}),
        restS: Math.round(60 * num(restMin)),
      });
    } catch (e) {
      const ui = asUiError(e);
      // A cancelled test is shown by its job; only a refusal or a failure is an error here.
      if (ui.code !== 'CANCELLED') setError(ui);
    }
  };

  return (
    <div className="card" data-testid="capacity-test">
      <h2>Capacity test on the bench</h2>
      <p className="muted">
        The board charges the pack full, lets it rest, discharges it at a constant current until the lowest cell reaches the end voltage, rests again and counts
        the charge delivered. It stops at once at any protection event. Every phase is recorded in its signed black box.
      </p>
      <div className="row">
        <DecimalField label="Discharge current (A)" value={current} onChange={setCurrent} placeholder="0.2C" invalid={bad.current} testId="ct-current" />
        <DecimalField label="End voltage per cell (V)" value={endV} onChange={setEndV} placeholder="by chemistry" invalid={bad.endV} testId="ct-end-voltage" />
        <DecimalField label="Rest (min)" value={restMin} onChange={setRestMin} invalid={bad.rest} testId="ct-rest" />
        <button
          className="primary"
          onClick={() => void start()}
          disabled={!!running || !!boardMissing || !native || bad.current || bad.endV || bad.rest}
          data-testid="ct-start"
        >
          Start the test
        </button>
      </div>
      {(bad.current || bad.endV || bad.rest) && (
        <p className="bad-text">
          {bad.current
            ? 'The discharge current must be a positive number of amperes.'
            : bad.endV
              ? 'The end voltage must be between 1 and 5 V per cell.'
              : 'The rest must be 0 to 1440 minutes.'}
        </p>
      )}
      {!native && !boardMissing && <p className="muted">Connect a board that speaks the native protocol to run the test.</p>}
      {boardMissing && <p className="muted">{boardMissing}</p>}
      {running && (
        <div className="progress" data-testid="ct-progress">
          <div className="row between">
            <strong>{running.progress?.phase ?? 'starting…'}</strong>
            <button className="danger" onClick={() => void api.call('op.cancel', { opId: running.id })} data-testid="ct-cancel">
              Stop the test
            </button>
          </div>
          <progress max={1000} value={running.progress?.done ?? 0} aria-label={`Capacity test: ${((running.progress?.done ?? 0) / 10).toFixed(0)} percent`} />
        </div>
      )}
      {result && <ResultView r={result} />}
      {ended?.state === 'cancelled' && <p data-testid="ct-cancelled">The test was stopped; the board switched the charger and load off.</p>}
      {ended?.state === 'failed' && ended.error && <ErrorBox error={asUiError(ended.error)} />}
      {error && <ErrorBox error={error} />}
    </div>
  );
}

function ResultView({ r }: { r: Result }) {
  const nf = (x: number, d: number) => x.toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  return (
    <div data-testid="ct-result" className={r.outcome === 'complete' ? undefined : 'bad-text'}>
      {r.outcome === 'complete' ? (
        <p>
          <strong data-testid="ct-capacity">{nf(r.capacityAh, 2)} Ah</strong> = {nf(r.percentOfRated, 1)} % of the rated {r.ratedCapacityAh} Ah ·{' '}
          {nf(r.energyWh / 1000, 3)} kWh at {r.settings.dischargeA} A to {r.settings.endCellV} V per cell
          {r.restedV !== null ? `, resting at ${nf(r.restedV, 2)} V after` : ''}.
        </p>
      ) : (
        <p>
          The board stopped the test: {r.reason}. {nf(r.capacityAh, 2)} Ah were discharged before the stop (not the capacity).
        </p>
      )}
      <p className="muted">Download the black box (Logs) to keep the signed records this figure was measured from.</p>
    </div>
  );
}
