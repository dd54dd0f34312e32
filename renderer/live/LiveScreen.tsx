import { useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { CellBars } from '../charts/CellBars.js';
import { ChartStack } from '../charts/ChartStack.js';
import type { ChartView } from '../charts/TimeChart.js';
import { PRESETS, TracePicker, type ChartChoice } from '../charts/TracePicker.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { alarmTexts, fmt, statusTexts } from '../common/format.js';

/** The link counts as quiet when no frame arrived for this long (the issue's 1 s bound). */
export const STALE_MS = 1000;

const VIEWS: Record<string, ChartChoice> = {
  pack: { label: 'Voltage', channels: ['packVoltage'] },
  current: { label: 'Current & power', channels: ['current', 'power'] },
  cells: PRESETS.cells!,
  temps: PRESETS.temps!,
  soc: PRESETS.soc!,
};

const WINDOWS = [
  [30_000, '30 s'],
  [60_000, '1 min'],
  [300_000, '5 min'],
  [900_000, '15 min'],
] as const;

const RATES = [1, 5, 10, 20, 50];

function useTick(ms: number) {
  const [, set] = useState(0);
  useEffect(() => {
    const id = setInterval(() => set((x) => x + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
}

function Tile({ label, value, unit, sub, testid }: { label: string; value: string; unit: string; sub?: string; testid: string }) {
  return (
    <div className="tile" data-testid={testid}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">
        {value}
        <span className="unit">{unit}</span>
      </div>
      {/* Cut to one line in a narrow window; the whole text on hover. */}
      {sub && (
        <div className="tile-sub" title={sub}>
          {sub}
        </div>
      )}
    </div>
  );
}

function savedText(r: Res<'recording.stop'>): string {
  const gaps = r.gaps ? ` It has ${r.gaps} gap(s) where no data arrived; the file marks each one.` : ' No gaps.';
  const ended = r.ended && r.ended !== 'stopped by the user' ? ` Recording ${r.ended.replace(/^stopped: /, 'stopped: ')}.` : '';
  // A flash during the recording: one file per firmware version, each header naming its own.
  const parts =
    r.parts && r.parts.length > 1
      ? ` The board's firmware changed while recording, so the recording is in ${r.parts.length} files, one per firmware version: ${r.parts.map((p) => `${p.path} (${p.firmwareVersion}, ${p.records.toLocaleString()} records)`).join('; ')}.`
      : '';
  return `Saved ${r.records.toLocaleString()} records to ${r.path}.${gaps}${ended}${parts} Open it on the Logs screen.`;
}

export function LiveScreen() {
  const { api, connection, live, go, jobs, link, boardMissing } = useApp();
  const [rate, setRate] = useState(10);
  const [paused, setPaused] = useState(false);
  const [view, setView] = useState<ChartView>({ mode: 'follow', windowMs: 60_000 });
  const [channels, setChannels] = useState<string[]>(VIEWS.pack!.channels);
  const [error, setError] = useState<UiError | null>(null);
  // The recording is a host job: it keeps going when this screen is left, and is found again here.
  const recJob = latestJob(jobs, 'recording');
  const recording = recJob?.state === 'running' ? recJob : null;
  const recRecords = recording?.progress?.done ?? 0;
  const [recRate, setRecRate] = useState<number | null>(null);
  const recId = recording?.id ?? null;
  useEffect(() => {
    if (!recId) return setRecRate(null);
    let live = true;
    api
      .call('recording.status', {})
      .then((r) => live && setRecRate(r.rateHz ?? null))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, recId]);
  const [busy, setBusy] = useState(false);
  const [, bump] = useState(0);
  useTick(250);

  const toggleRecording = async () => {
    setError(null);
    setBusy(true);
    try {
      if (recording) await api.call('recording.stop', {});
      else await api.call('recording.start', { rateHz: rate });
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };
  const finished = recJob && recJob.state !== 'running' ? recJob : null;
  const saved = finished?.result as Res<'recording.stop'> | undefined;

  useEffect(() => live.onChange(() => bump((x) => x + 1)), [live]);

  // This screen's share of the telemetry stream; a recording holds its own, so leaving never starves it.
  const connected = connection !== null;
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    api.call('telemetry.start', { rateHz: rate }).catch((e) => !cancelled && setError(asUiError(e)));
    return () => {
      cancelled = true;
      api.call('telemetry.stop', {}).catch(() => undefined);
    };
  }, [api, connected, rate]);

  useEffect(() => live.setPaused(paused), [live, paused]);

  if (!connection) {
    return (
      <section className="screen" aria-labelledby="live-title">
        <h1 id="live-title">Live</h1>
        <div className="notice" data-testid="live-disconnected">
          <strong>No pack connected.</strong>
          <p>{link.reason ? `The connection ended: ${link.reason}` : 'Connect to a pack (or the built-in demo pack) to see live data.'}</p>
          {saved && (
            <p className="ok-text" role="status" data-testid="recording-saved">
              {savedText(saved)}
            </p>
          )}
          <button className="primary" onClick={() => go('connect')}>
            Go to Connect
          </button>
        </div>
      </section>
    );
  }

  const f = live.latest();
  const age = live.ageMs();
  const stale = age > STALE_MS;
  const alarms = f ? alarmTexts(f.alarms) : [];
  const status = f ? statusTexts(f.status) : [];
  const temps = f?.temperatures ?? [];

  return (
    <section className="screen" aria-labelledby="live-title">
      <div className="titlebar">
        <h1 id="live-title">
          Live · {connection.device.model} <span className="muted">#{connection.device.serial}</span>
        </h1>
        <div className="row">
          <button
            className={recording ? 'danger' : ''}
            onClick={toggleRecording}
            data-testid="record"
            aria-pressed={!!recording}
            disabled={busy || (!recording && !!boardMissing)}
            title={!recording && boardMissing ? boardMissing : undefined}
          >
            {recording ? `■ Stop recording (${recRecords.toLocaleString()} records)` : '● Record to file'}
          </button>
          <label className="inline" title={recording ? 'The recording sets the rate until it stops' : undefined}>
            Rate
            <select
              value={recording && recRate ? recRate : rate}
              onChange={(e) => setRate(Number(e.target.value))}
              aria-label="Telemetry rate"
              disabled={!!recording}
            >
              {RATES.map((r) => (
                <option key={r} value={r}>
                  {r} Hz
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {recording?.file && (
        <p className="muted small" data-testid="recording-path">
          Recording to {recording.file} at {recRate} Hz (the rate is fixed while recording). It keeps recording when you open other screens.
        </p>
      )}
      {saved && (
        <p className="ok-text" role="status" data-testid="recording-saved">
          {savedText(saved)}
        </p>
      )}
      {!f ? (
        <div className="notice" role="status">
          Waiting for the first telemetry frame…
        </div>
      ) : (
        stale && (
          <div className="stale-banner" role="alert" data-testid="stale">
            No data for {fmt(age / 1000, 1)} s — the values below are the last received. Check the cable and the pack power, then{' '}
            <button onClick={() => void api.call('telemetry.start', { rateHz: rate }).catch((e) => setError(asUiError(e)))}>Restart telemetry</button>
          </div>
        )
      )}
      {error && <ErrorBox error={error} />}
      <div className={`tiles${stale ? ' stale' : ''}`}>
        <Tile testid="tile-voltage" label="Pack voltage" value={fmt(f?.packVoltage, 2)} unit="V" />
        <Tile
          testid="tile-current"
          label="Current"
          value={fmt(f?.current, 2)}
          unit="A"
          sub={f ? (f.current > 0.05 ? 'charging' : f.current < -0.05 ? 'discharging' : 'idle') : undefined}
        />
        <Tile testid="tile-power" label="Power" value={fmt(f ? f.packVoltage * f.current : null, 0)} unit="W" />
        <Tile testid="tile-soc" label="State of charge" value={fmt(f?.soc, 1)} unit="%" sub={f?.soh !== undefined ? `health ${fmt(f.soh, 0)} %` : undefined} />
        <Tile
          testid="tile-temp"
          label="Temperature"
          value={temps.length ? fmt(Math.max(...temps), 1) : '—'}
          unit="°C"
          sub={temps.length ? `${temps.map((t) => fmt(t, 1)).join(' · ')} °C` : 'no sensors'}
        />
      </div>
      <div className="alarms" aria-label="Alarms and status" data-testid="alarms">
        {alarms.length === 0 ? (
          <span className="chip good">No alarms</span>
        ) : (
          alarms.map((a) => (
            <span key={a} className="chip bad">
              {a}
            </span>
          ))
        )}
        {status.map((s) => (
          <span key={s} className="chip">
            {s}
          </span>
        ))}
      </div>
      <div className="chart-controls row" role="toolbar" aria-label="Chart controls">
        <TracePicker available={live.channels()} presets={VIEWS} value={channels} onChange={setChannels} />
        <div className="segmented" role="group" aria-label="Time window">
          {WINDOWS.map(([ms, l]) => (
            <button key={ms} aria-pressed={view.mode === 'follow' && view.windowMs === ms} onClick={() => setView({ mode: 'follow', windowMs: ms })}>
              {l}
            </button>
          ))}
        </div>
        <button onClick={() => setPaused((p) => !p)} aria-pressed={paused} data-testid="pause">
          {paused ? 'Resume' : 'Pause'}
        </button>
        {view.mode === 'range' && <button onClick={() => (setView({ mode: 'follow', windowMs: 60_000 }), setPaused(false))}>Back to live</button>}
      </div>
      <ChartStack
        source={live}
        channels={channels}
        view={view}
        paused={paused}
        panelHeight={channels.length > 1 ? 120 : 170}
        label="Live data"
        onView={(v) => {
          setPaused(true);
          setView(v);
        }}
      />
      <p className="muted small">Wheel or drag to zoom, Shift+wheel or ← → to pan (pauses the chart); data keeps arriving in the background while paused.</p>
      {f && <CellBars cells={f.cellVoltages} chemistry={connection.device.chemistry} stale={stale} />}
    </section>
  );
}
