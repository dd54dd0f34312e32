import { formatLocaleNumber, parseLocaleNumber } from '../../shared/util/locale-number.js';
import { useApp } from '../app/state.js';
import { SavedReport } from '../common/SavedReport.js';

/**
 * Pieces of the self-check wizard: the charger's ratings typed as the customer writes numbers
 * ("58,4" under a German locale), and saving the result as a report.
 */

export interface ChargerText {
  v: string;
  a: string;
}

const locale = () => (typeof navigator === 'undefined' ? undefined : navigator.language);

/** The ratings read under the user's locale: none entered, both valid, or what is wrong with them. */
export function chargerFrom(
  t: ChargerText,
): { ok: true; value: { voltageV: number; currentA: number } | null } | { ok: false; problems: Partial<ChargerText> } {
  if (!t.v.trim() && !t.a.trim()) return { ok: true, value: null };
  const v = parseLocaleNumber(t.v, locale());
  const a = parseLocaleNumber(t.a, locale());
  const example = (n: number) => formatLocaleNumber(n, locale());
  const problems: Partial<ChargerText> = {};
  if (!t.v.trim()) problems.v = 'Enter the voltage too, or leave both empty.';
  else if (v === null) problems.v = `Enter a number, for example ${example(58.4)}.`;
  else if (v < 1 || v > 1000) problems.v = 'Between 1 and 1000 V.';
  if (!t.a.trim()) problems.a = 'Enter the current too, or leave both empty.';
  else if (a === null) problems.a = `Enter a number, for example ${example(20)}.`;
  else if (a < 0.1 || a > 1000) problems.a = 'Between 0.1 and 1000 A.';
  if (Object.keys(problems).length || v === null || a === null) return { ok: false, problems };
  return { ok: true, value: { voltageV: v, currentA: a } };
}

export function ChargerFields({ value, onChange }: { value: ChargerText; onChange(v: ChargerText): void }) {
  const parsed = chargerFrom(value);
  const problems = parsed.ok ? {} : parsed.problems;
  const field = (k: keyof ChargerText, label: string, unit: string, aria: string) => (
    <label className="inline">
      {label}
      <input
        inputMode="decimal"
        value={value[k]}
        onChange={(e) => onChange({ ...value, [k]: e.target.value })}
        size={6}
        aria-label={aria}
        aria-invalid={problems[k] ? true : undefined}
      />{' '}
      {unit}
      {problems[k] && (
        <small className="field-error" data-testid={`sc-charger-${k}-error`}>
          {' '}
          {problems[k]}
        </small>
      )}
    </label>
  );
  return (
    <div className="row">
      {field('v', 'Output voltage', 'V', 'Charger output voltage in volts')}
      {field('a', 'Output current', 'A', 'Charger output current in amperes')}
    </div>
  );
}

/** Saves the result as a report the customer keeps or sends with a claim. */
export function SaveReport() {
  const { api } = useApp();
  return (
    <SavedReport label="Save a report" testId="sc-report" suggested="selfcheck-report.html" write={(out) => api.call('selfcheck.report', out ? { out } : {})} />
  );
}
