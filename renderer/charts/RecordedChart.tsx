import { useEffect, useMemo, useState } from 'react';
import type { RecordedSeries } from '../../shared/api/contract.js';
import { sourceFromSeries } from '../source/from-series.js';
import type { RecordedSource } from '../source/recorded-source.js';
import { TimeChart, type ChartView } from './TimeChart.js';
import { CELL_TEMP_SOC_VIEWS, ChartPicker, type ChartChoice } from './ChartPicker.js';

const VIEWS: Record<string, ChartChoice> = {
  pack: { label: 'Voltage & current', channels: ['packVoltage', 'current'] },
  ...CELL_TEMP_SOC_VIEWS,
};

/**
 * A recorded log on screen: the whole log at first (min/max per pixel), drag to zoom down to the
 * raw records, events and findings as labelled markers. Reports the visible range (for exports).
 */
export function RecordedChart({
  series,
  markers = [],
  onRange,
  label,
}: {
  series: RecordedSeries;
  markers?: Array<{ t: number; label: string }>;
  onRange?: (t0: number, t1: number, whole: boolean) => void;
  label: string;
}) {
  const [source, setSource] = useState<RecordedSource | null>(null);
  const [chart, setChart] = useState<keyof typeof VIEWS>('pack');
  const [view, setView] = useState<ChartView | null>(null);

  useEffect(() => {
    let live = true;
    setSource(null);
    void sourceFromSeries(series, VIEWS.pack!.channels).then((s) => {
      if (!live) return;
      setSource(s);
      const span = s.span();
      if (span) setView({ mode: 'range', t0: span[0], t1: span[1] + 1 });
    });
    return () => {
      live = false;
    };
  }, [series]);

  const all = useMemo(() => [...series.events.map((e) => ({ t: e.t, label: e.label })), ...markers], [series, markers]);

  useEffect(() => {
    const span = source?.span();
    if (view?.mode === 'range' && span) onRange?.(view.t0, view.t1, view.t0 <= span[0] && view.t1 >= span[1]);
  }, [view, source, onRange]);

  if (series.t.length === 0) return <p className="muted">The log holds no records.</p>;
  if (!source || !view) return <p role="status">Preparing the chart…</p>;
  const span = source.span()!;
  const zoomed = view.mode === 'range' && (view.t0 > span[0] || view.t1 < span[1]);
  return (
    <div>
      <div className="row chart-controls" role="toolbar" aria-label="Chart controls">
        <ChartPicker views={VIEWS} value={chart} onChange={setChart} />
        <button onClick={() => setView({ mode: 'range', t0: span[0], t1: span[1] + 1 })} disabled={!zoomed} data-testid="zoom-reset">
          Whole log
        </button>
        <span className="muted small">
          {series.records.toLocaleString()} records{series.decimated ? ' (reduced for display; exports use every record)' : ''} · drag across the chart to zoom
        </span>
      </div>
      <TimeChart
        source={source}
        channels={VIEWS[chart]!.channels}
        view={view}
        markers={all}
        label={label}
        onZoom={(t0, t1) => setView({ mode: 'range', t0, t1 })}
      />
    </div>
  );
}
