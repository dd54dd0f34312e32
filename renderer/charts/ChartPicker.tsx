import type { Channel } from '../source/source.js';

/** A named set of channels drawn together (e.g. "Voltage & current"). */
export interface ChartChoice {
  label: string;
  channels: Channel[];
}

/** The charts the Live screen and recorded logs both offer, after their own voltage and current views. */
export const CELL_TEMP_SOC_VIEWS: Record<string, ChartChoice> = {
  cells: { label: 'Cell min/max', channels: ['cellMin', 'cellMax'] },
  temps: { label: 'Temperatures', channels: ['tempMin', 'tempMax'] },
  soc: { label: 'SOC', channels: ['soc'] },
};

/** The segmented "Chart" buttons of the Live screen and of recorded logs: one pressed at a time. */
export function ChartPicker({ views, value, onChange }: { views: Record<string, ChartChoice>; value: string; onChange: (key: string) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Chart">
      {Object.entries(views).map(([k, v]) => (
        <button key={k} aria-pressed={value === k} onClick={() => onChange(k)}>
          {v.label}
        </button>
      ))}
    </div>
  );
}
