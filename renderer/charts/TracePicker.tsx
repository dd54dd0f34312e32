import type { ChannelInfo } from '../source/source.js';

/** A named set of channels shown together (e.g. "Voltage & current"). */
export interface ChartChoice {
  label: string;
  channels: string[];
}

const GROUPS: Array<[ChannelInfo['group'], string]> = [
  ['pack', 'Pack'],
  ['summary', 'Extremes'],
  ['cell', 'Cells'],
  ['temp', 'Temperature sensors'],
];

/**
 * The trace picker: quick presets, and every channel the source has — each cell and each
 * temperature sensor by its name — to switch on and off one by one.
 */
export function TracePicker({
  available,
  presets,
  value,
  onChange,
}: {
  available: ChannelInfo[];
  presets: Record<string, ChartChoice>;
  value: string[];
  onChange: (channels: string[]) => void;
}) {
  const on = new Set(value);
  const same = (a: string[]) => a.length === value.length && a.every((c) => on.has(c));
  const toggle = (id: string) => {
    const next = on.has(id) ? value.filter((c) => c !== id) : [...value, id];
    // Keep the source's order, so panels and readout rows do not jump around.
    if (next.length) onChange(available.map((c) => c.id).filter((c) => next.includes(c)));
  };
  return (
    <div className="trace-picker">
      <div className="segmented" role="group" aria-label="Chart">
        {Object.entries(presets).map(([k, p]) => (
          <button key={k} aria-pressed={same(p.channels)} onClick={() => onChange(p.channels)}>
            {p.label}
          </button>
        ))}
      </div>
      <details className="traces">
        <summary>Traces ({value.length})</summary>
        <div className="trace-groups">
          {GROUPS.map(([g, title]) => {
            const list = available.filter((c) => c.group === g);
            if (!list.length) return null;
            return (
              <fieldset key={g}>
                <legend>{title}</legend>
                {list.map((c) => (
                  <label key={c.id} className="check">
                    <input type="checkbox" checked={on.has(c.id)} onChange={() => toggle(c.id)} />
                    {c.label}
                  </label>
                ))}
              </fieldset>
            );
          })}
        </div>
      </details>
    </div>
  );
}

/** Presets both the Live screen and recorded logs offer. */
export const PRESETS: Record<string, ChartChoice> = {
  pack: { label: 'Voltage & current', channels: ['packVoltage', 'current', 'power'] },
  cells: { label: 'Cell min/max', channels: ['cellMin', 'cellMax'] },
  temps: { label: 'Temperatures', channels: ['tempMin', 'tempMax'] },
  soc: { label: 'SOC', channels: ['soc'] },
};
