/**
 * Time axis labels in the user's locale (a German desktop reads 05.01.2026 and 14:30, not
 * 1/5/2026 and 2:30 PM): the unit of the tick step decides what a label shows, the date is added
 * under the first tick and wherever the day changes, and ticks are spaced for the widest label
 * so labels never collide.
 */
export const TIME_TICK_SPACE = 96;

export function userLocale(): string {
  return typeof navigator !== 'undefined' && navigator.language ? navigator.language : 'en-GB';
}

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(locale: string, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(o)}`;
  let f = cache.get(key);
  if (!f) cache.set(key, (f = new Intl.DateTimeFormat(locale, o)));
  return f;
}

/** The time of day at the precision a step of `stepMs` needs. */
export function timeOfDay(ms: number, stepMs: number, locale = userLocale()): string {
  if (stepMs < 1000) return fmt(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 }).format(ms);
  if (stepMs < 60_000) return fmt(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
  return fmt(locale, { hour: '2-digit', minute: '2-digit' }).format(ms);
}

export function dayOf(ms: number, locale = userLocale()): string {
  return fmt(locale, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
}

/** A full date and time (cursor readout, event list). */
export function dateTime(ms: number, locale = userLocale(), withMs = false): string {
  return fmt(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    ...(withMs ? { fractionalSecondDigits: 3 as const } : {}),
  }).format(ms);
}

/** Labels for ticks at `splits` (seconds, as uPlot's x scale holds them) `incr` seconds apart. */
export function timeTickLabels(splits: number[], incr: number, locale = userLocale()): string[] {
  const stepMs = incr * 1000;
  let lastDay = '';
  return splits.map((s, i) => {
    const ms = s * 1000;
    const day = dayOf(ms, locale);
    if (stepMs >= 86_400_000) return day;
    const time = timeOfDay(ms, stepMs, locale);
    const withDay = i === 0 || day !== lastDay;
    lastDay = day;
    return withDay ? `${time}\n${day}` : time;
  });
}
