import { describe, expect, it } from 'vitest';
import { fmt, valueTickLabels } from '../../../renderer/common/format.js';

/** Numbers on screens and chart axes: the locale's marks, and as many decimals as the axis step needs. */
describe('number formats', () => {
  const locale = typeof navigator === 'undefined' ? undefined : navigator.language;
  const decimal = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')!.value;

  it('writes the decimals asked for with the locale decimal mark, and a dash for no value', () => {
    expect(fmt(52.8849, 2)).toBe(`52${decimal}88`);
    expect(fmt(0, 1)).toBe(`0${decimal}0`);
    expect(fmt(null, 2)).toBe('—');
    expect(fmt(Number.NaN, 2)).toBe('—');
  });

  it('gives axis ticks the fewest decimals that tell them apart', () => {
    // uPlot's own labels wrote 52.88, 52.88, 52.879 for a 0.0005 V step.
    const fine = valueTickLabels([52.878, 52.8785, 52.879, 52.8795, 52.88], 0.0005);
    expect(new Set(fine).size).toBe(5);
    expect(fine[1]).toBe(`52${decimal}8785`);
    expect(valueTickLabels([0, 0.25, 0.5], 0.25)).toEqual([`0${decimal}00`, `0${decimal}25`, `0${decimal}50`]);
    expect(valueTickLabels([10, 20, 30], 10)).toEqual(['10', '20', '30']);
    expect(valueTickLabels([3.2, 3.3], 0.1)).toEqual([`3${decimal}2`, `3${decimal}3`]);
  });
});
