/**
 * The fleet view on the Claims screen: claims and exclusions by model, firmware, production batch
 * and month, misuse rates per clause, monthly trends, and a bar chart of claims and exclusions per
 * month. The numbers come from the same SQL `packscope desk fleet` runs (and that runs on the
 * Parquet export).
 */
import { useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';

type Tables = Res<'desk.fleet'>;
type FleetRow = Tables[string][number];

const TITLES: Record<string, string> = {
  model: 'By model',
  firmware: 'By firmware version',
  batch: 'By production batch (month the board was certified)',
  month: 'By month received',
  misuse: 'Misuse per clause (share of verified claims)',
  trends: 'Trends by month',
};

const cell = (v: FleetRow[string]) =>
  v === null ? '—' : Array.isArray(v) ? v.join(', ') : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v);

function Table({ name, rows }: { name: string; rows: FleetRow[] }) {
  const cols = rows[0] ? Object.keys(rows[0]) : [];
  return (
    <div className="card">
      <h3>{TITLES[name] ?? name}</h3>
      {rows.length === 0 ? (
        <p className="muted">No claims yet.</p>
      ) : (
        <table className="grid" data-testid={`fleet-${name}`}>
          <thead>
            <tr>
              {cols.map((c) => (
                <th key={c}>{c.replace(/_/g, ' ')}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {cols.map((c) => (
                  <td key={c}>{cell(r[c]!)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Claims (outline) and exclusions (filled) per month, as an SVG bar chart. */
function MonthChart({ rows }: { rows: FleetRow[] }) {
  if (!rows.length) return null;
  const max = Math.max(1, ...rows.map((r) => Number(r.claims)));
  const w = 48;
  const h = 140;
  return (
    <svg
      className="fleet-chart"
      viewBox={`0 0 ${rows.length * w + 20} ${h + 30}`}
      role="img"
      aria-label="Claims and exclusions per month"
      data-testid="fleet-chart"
    >
      {rows.map((r, i) => {
        const claims = Number(r.claims);
        const excluded = Number(r.excluded);
        const x = 10 + i * w;
        return (
          <g key={String(r.month)}>
            <rect className="bar-claims" x={x} y={h - (claims / max) * h} width={w - 12} height={(claims / max) * h}>
              <title>{`${r.month}: ${claims} claims`}</title>
            </rect>
            <rect className="bar-excluded" x={x} y={h - (excluded / max) * h} width={w - 12} height={(excluded / max) * h}>
              <title>{`${r.month}: ${excluded} excluded`}</title>
            </rect>
            <text x={x} y={h + 16} className="bar-label">
              {String(r.month).slice(2)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function FleetView() {
  const { api } = useApp();
  const [tables, setTables] = useState<Tables | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api
      .call('desk.fleet', {})
      .then(setTables)
      .catch((e) => setError(asUiError(e)));
  }, [api]);
  if (error) return <ErrorBox error={error} />;
  if (!tables) return <p className="muted">Computing the fleet view…</p>;
  return (
    <div data-testid="fleet">
      <div className="card">
        <h3>Claims and exclusions per month</h3>
        <MonthChart rows={tables.trends ?? []} />
      </div>
      {Object.entries(tables).map(([name, rows]) => (
        <Table key={name} name={name} rows={rows} />
      ))}
    </div>
  );
}
