/**
 * Numbers as people type them: "58,4" under a German locale, "58.4" under an English one, "1 000,5"
 * in French. Input fields never drop a decimal comma; what cannot be read is reported, not guessed.
 */

/** The locale's decimal and grouping characters (from Intl, so every locale is covered). */
export function separators(locale?: string): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(locale).formatToParts(12345.6);
  return { decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.', group: parts.find((p) => p.type === 'group')?.value ?? ',' };
}

/** Grouping characters anywhere: spaces (also no-break and narrow), apostrophes (Swiss). */
const SPACES = /[\s\u00a0\u202f'’]/g;

/**
 * Reads a decimal number typed under `locale`. Both "," and "." are accepted as the decimal mark;
 * when both appear, the last one is it. A single mark followed by exactly three digits is the
 * locale's thousands separator when it is that locale's ("1.000" is a thousand in German).
 * Returns null for empty or unreadable text.
 */
export function parseLocaleNumber(text: string, locale?: string): number | null {
  let s = text
    .trim()
    .replace(SPACES, '')
    .replace(/^\u2212/, '-');
  if (!s) return null;
  const { group } = separators(locale);
  const marks = s.match(/[.,]/g) ?? [];
  if (marks.length > 0) {
    const last = Math.max(s.lastIndexOf(','), s.lastIndexOf('.'));
    const lastMark = s[last]!;
    const distinct = new Set(marks).size;
    let decimalAt = last;
    if (distinct === 1) {
      const groupsOfThree = new RegExp(`^-?\\d{1,3}(\\${lastMark}\\d{3})+$`).test(s);
      // "1.000" (German) and "1,000,000" are groups; "58,4" and "0.125" (English) are decimals.
      if (groupsOfThree && (marks.length > 1 || lastMark === group)) decimalAt = -1;
      else if (marks.length > 1) return null;
    }
    const intPart = (decimalAt >= 0 ? s.slice(0, decimalAt) : s).replace(/[.,]/g, (m) => (distinct === 2 && m === lastMark ? 'x' : ''));
    if (intPart.includes('x')) return null;
    s = decimalAt >= 0 ? `${intPart}.${s.slice(decimalAt + 1)}` : intPart;
  }
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/** A number for an input field under `locale`, without grouping (so it reads back unchanged). */
export function formatLocaleNumber(v: number, locale?: string, maxDigits = 3): string {
  return new Intl.NumberFormat(locale, { useGrouping: false, maximumFractionDigits: maxDigits }).format(v);
}
