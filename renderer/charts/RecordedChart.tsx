import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RecordedSeries } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { sourceFromSeries } from '../source/from-series.js';
import { PslogSource } from '../source/range-source.js';
import type { Source } from '../source/source.js';
import { ChartStack, wholeView } from './ChartStack.js';
import { EventList, type EventLoader, type EventPage } from './EventList.js';
import type { ChartView } from './TimeChart.js';
import { PRESETS, TracePicker } from './TracePicker.js';

/** Plot width for a chart area of this width (the y axes take the rest). */
const plotWidth = (w: number) => Math.max(200, Math.floor(w) - 80);

/** Events of a log held in memory, paged like log.events. */
function memoryEvents(series: RecordedSeries): EventLoader {
  return async (t0, t1, from, limit) => {
    const inRange = series.events.filter((e) => e.t >= t0 && e.t < t1);
    const page = inRange.slice(from, from + limit).map((e) => ({ ...e, name: e.label }));
    return { events: page, total: inRange.length, next: from + page.length < inRange.length ? from + page.length : null };
  };
}

/**
 * A recorded log on screen: the whole log at first, then any range at any zoom down to the raw
 * records, in stacked panels with a shared cursor and its readout, a trace picker with every cell
 * and sensor, and the events in view (names, jump-to). A .pslog on the host (`path`) is read by
 * range through log.series; a log a screen already holds (`series`) is answered in memory by the
 * same definition. Reports the visible range (for exports).
 */
export function RecordedChart({
  series,
  path,
  markers = [],
  onRange,
  label,
}: {
  series?: RecordedSeries;
  path?: string;
  markers?: Array<{ t: number; label: string }>;
  onRange?: (t0: number, t1: number, whole: boolean) => void;
  label: string;
}) {
  const { api } = useApp();
  const [source, setSource] = useState<Source | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [channels, setChannels] = useState<string[]>(PRESETS.pack!.channels);
  const [view, setView] = useState<ChartView | null>(null);
  const [events, setEvents] = useState<EventPage>([]);
  const area = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    setSource(null);
    setError(null);
    const width = plotWidth(area.current?.clientWidth ?? 1000);
    const opened: Promise<Source> = path ? PslogSource.open(api, path, channels, width) : sourceFromSeries(series!);
    opened
      .then((s) => {
        if (!live) return;
        setSource(s);
        setView(wholeView(s));
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
    // The channels on screen at open only decide what is read first.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [series, path, api]);

  const loadEvents = useMemo<EventLoader>(
    () => (path ? (t0, t1, from, limit) => api.call('log.events', { path, t0, t1, from, limit }) : memoryEvents(series!)),
    [api, path, series],
  );
  const allMarkers = useMemo(() => [...events.map((e) => ({ t: e.t, label: e.label })), ...markers], [events, markers]);

  const span = source?.span() ?? null;
  useEffect(() => {
    if (view?.mode === 'range' && span) onRange?.(view.t0, view.t1, view.t0 <= span[0] && view.t1 >= span[1]);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [view, source, onRange]);

  const jump = useCallback(
    (t: number) => {
      if (!span || view?.mode !== 'range') return;
      const w = Math.min(view.t1 - view.t0, Math.max(120_000, (span[1] - span[0]) / 200));
      setView({ mode: 'range', t0: t - w / 2, t1: t + w / 2 });
    },
    [span, view],
  );

  const records = source?.count() ?? series?.records ?? 0;
  const zoomed = !!span && view?.mode === 'range' && (view.t0 > span[0] || view.t1 < span[1]);
  return (
    <div className="recorded-chart" ref={area}>
      {error && <p className="bad-text">The chart could not read this log: {error}</p>}
      {!error && (!source || !view) && <p role="status">Preparing the chart…</p>}
      {source && view && !span && <p className="muted">The log holds no records.</p>}
      {source && view && span && (
        <>
          <div className="row chart-controls" role="toolbar" aria-label="Chart controls">
            <TracePicker available={source.channels()} presets={PRESETS} value={channels} onChange={setChannels} />
            <button onClick={() => setView(wholeView(source))} disabled={!zoomed} data-testid="zoom-reset">
              Whole log
            </button>
            <span className="muted small">
              {records.toLocaleString()} records · wheel or drag to zoom, Shift+wheel or ← → to pan · each pixel column spans the min–max of the records it
              covers
            </span>
          </div>
          <div className="recorded-layout">
            <ChartStack source={source} channels={channels} view={view} onView={setView} markers={allMarkers} label={label} />
            <EventList load={loadEvents} range={view.mode === 'range' ? [view.t0, view.t1] : null} onJump={jump} onEvents={setEvents} />
          </div>
        </>
      )}
    </div>
  );
}
