import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { connectTo, newPage, serveAndLaunch } from './harness.js';

/**
 * Keyboard and labels, on every screen: each visible control has an accessible name (what a
 * screen reader announces), Tab reaches every enabled control (a radio group being one stop,
 * as browsers make it), and the focused control
 * shows a visible focus ring. The audit runs in the page, as a string (tsx would inject helpers
 * into a function the page does not have).
 */
const app = serveAndLaunch();

const SCREENS = ['connect', 'live', 'logs', 'health', 'settings', 'firmware', 'update', 'selfcheck', 'claim', 'verify', 'desk'] as const;

const AUDIT = `(() => {
  const sel = 'button, a[href], input, select, textarea, [tabindex]:not([tabindex="-1"])';
  // checkVisibility also sees what a closed <details> hides (Chromium renders its content with
  // content-visibility: hidden, which leaves boxes measurable but out of the tab order).
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) return false;
    if (el.closest('details:not([open])') && !el.closest('summary')) return false;
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const accessibleName = (el) => {
    const aria = el.getAttribute('aria-label');
    if (aria && aria.trim()) return aria.trim();
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const t = by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
      if (t) return t;
    }
    if (el.labels && el.labels.length) {
      const t = [...el.labels].map((l) => l.textContent ?? '').join(' ').trim();
      if (t) return t;
    }
    if (!['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) {
      const t = (el.textContent ?? '').trim();
      if (t) return t;
    }
    return (el.getAttribute('title') ?? '').trim();
  };
  const els = [...document.querySelectorAll(sel)].filter(visible);
  els.forEach((el, i) => el.setAttribute('data-a11y', String(i)));
  return {
    controls: els.length,
    unnamed: els.filter((el) => !accessibleName(el)).map((el) => el.outerHTML.slice(0, 160)),
    // A radio group is one tab stop (arrow keys move within it): its checked radio stands for it.
    focusable: els
      .filter((el) => !el.disabled)
      .filter((el) => !(el.type === 'radio' && !el.checked && document.querySelector('input[type=radio][name="' + el.name + '"]:checked')))
      .map((el) => el.getAttribute('data-a11y')),
    describe: Object.fromEntries(els.map((el) => [el.getAttribute('data-a11y'), accessibleName(el).slice(0, 60) || el.outerHTML.slice(0, 80)])),
  };
})()`;

const FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  return { id: el.getAttribute('data-a11y'), ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 };
})()`;

interface Audit {
  controls: number;
  unnamed: string[];
  focusable: string[];
  describe: Record<string, string>;
}

async function audit(page: Page, screen: string): Promise<{ audit: Audit; missed: string[]; noRing: string[] }> {
  const a = (await page.evaluate(AUDIT)) as Audit;
  // Start from the top of the document, then Tab through: every enabled control must come round.
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  const reached = new Set<string>();
  const noRing: string[] = [];
  for (let i = 0; i < a.focusable.length + 10; i++) {
    await page.keyboard.press('Tab');
    const f = (await page.evaluate(FOCUSED)) as { id: string | null; ring: boolean } | null;
    if (!f?.id) continue;
    reached.add(f.id);
    if (!f.ring) noRing.push(a.describe[f.id]!);
  }
  const missed = a.focusable.filter((id) => !reached.has(id)).map((id) => `${screen}: ${a.describe[id]}`);
  return { audit: a, missed, noRing };
}

describe('keyboard and labels', () => {
  it('every screen: named controls, all reachable with Tab, focus ring visible', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=1&seed=5');
    const unnamed: string[] = [];
    const missed: string[] = [];
    const noRing: string[] = [];
    let controls = 0;
    for (const s of SCREENS) {
      // Keyboard only: focus the navigation entry and press Enter.
      await page.getByTestId(`nav-${s}`).focus();
      await page.keyboard.press('Enter');
      await page.locator(`[data-testid="nav-${s}"][aria-current="page"]`).waitFor();
      await page.waitForTimeout(400);
      // The Settings screen's table comes from the board: audit it once it is there.
      if (s === 'settings') await page.getByTestId('settings-group-cell-protection').waitFor({ timeout: 30_000 });
      const r = await audit(page, s);
      controls += r.audit.controls;
      unnamed.push(...r.audit.unnamed.map((h) => `${s}: ${h}`));
      missed.push(...r.missed);
      noRing.push(...r.noRing.map((d) => `${s}: ${d}`));
    }
    expect(controls).toBeGreaterThan(60);
    expect(unnamed).toEqual([]);
    expect(missed).toEqual([]);
    expect(noRing).toEqual([]);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
  });

  it('the audit catches an unlabelled control and one Tab cannot reach', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-connect').waitFor();
    // Sabotage the page the way a regression would: an icon button without a name, and a
    // control taken out of the tab order.
    await page.evaluate(`(() => {
      const main = document.querySelector('main') ?? document.body;
      const b = document.createElement('button');
      b.innerHTML = '<span aria-hidden="true"></span>';
      b.style.width = '20px'; b.style.height = '20px';
      main.prepend(b);
      const c = document.createElement('button');
      c.textContent = 'Unreachable';
      c.tabIndex = -1;
      c.setAttribute('tabindex', '0'); // listed as focusable …
      c.addEventListener('focus', () => c.blur()); // … but focus never stays on it
      main.prepend(c);
    })()`);
    const r = await audit(page, 'connect');
    expect(r.audit.unnamed.length).toBe(1);
    expect(r.missed).toContain('connect: Unreachable');
    await page.context().close();
  });
});
