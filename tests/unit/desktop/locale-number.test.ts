import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLocaleNumber, parseLocaleNumber } from '../../../shared/util/locale-number.js';

const LOCALES = ['de-DE', 'en-US', 'fr-FR', 'de-CH', 'en-GB', 'it-IT', 'pl-PL', 'ja-JP'];

describe('numbers as people type them', () => {
  it('reads a decimal comma and a decimal point in any locale', () => {
    expect(parseLocaleNumber('58,4', 'de-DE')).toBe(58.4);
    expect(parseLocaleNumber('58.4', 'de-DE')).toBe(58.4);
    expect(parseLocaleNumber('58,4', 'en-US')).toBe(58.4);
    expect(parseLocaleNumber(' 20 ', 'de-DE')).toBe(20);
    expect(parseLocaleNumber('−3,5', 'de-DE')).toBe(-3.5);
  });

  it("takes the locale's own thousands separator as one, and the last mark as the decimal when both appear", () => {
    expect(parseLocaleNumber('1.000', 'de-DE')).toBe(1000);
    expect(parseLocaleNumber('1.000', 'en-US')).toBe(1);
    expect(parseLocaleNumber('1,000', 'en-US')).toBe(1000);
    expect(parseLocaleNumber('1.000,5', 'de-DE')).toBe(1000.5);
    expect(parseLocaleNumber('1,000.25', 'en-US')).toBe(1000.25);
    expect(parseLocaleNumber('1\u202f000,5', 'fr-FR')).toBe(1000.5);
    expect(parseLocaleNumber('1’000.5', 'de-CH')).toBe(1000.5);
  });

  it('refuses what it cannot read instead of guessing', () => {
    for (const t of ['', 'abc', '1.2.3', '1,2,3', '58,4 V', '1.000,5.2', '--1', '1e3']) expect(parseLocaleNumber(t, 'de-DE')).toBeNull();
  });

  it('reads back what the locale itself writes, grouped or not (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LOCALES), fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 3 }), (locale, n, digits) => {
        const v = n / 10 ** digits;
        expect(parseLocaleNumber(formatLocaleNumber(v, locale), locale)).toBe(v);
        const grouped = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }).format(v);
        expect(parseLocaleNumber(grouped, locale)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on any text (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...LOCALES), (s, l) => {
        const v = parseLocaleNumber(s, l);
        expect(v === null || Number.isFinite(v)).toBe(true);
      }),
    );
  });
});
