import type { Evaluation } from './evaluation.js';

/**
 * The engine's one-line summary for people: clause titles instead of ids, and no shouting
 * ("EXCLUDED by clause over-discharge-current (Discharged above 2C …)" reads
 * "Excluded by “Discharged above 2C …”").
 */
export function summaryInWords(e: Evaluation): string {
  let s = e.summary.replace(/^(EXCLUDED|COVERED|INCONCLUSIVE)\b/, (w) => w.charAt(0) + w.slice(1).toLowerCase());
  for (const c of e.clauses) s = s.split(`clause ${c.id} (${c.title})`).join(`“${c.title}”`).split(`clause ${c.id}`).join(`“${c.title}”`);
  return s;
}
