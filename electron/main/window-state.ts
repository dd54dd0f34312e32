/**
 * The window remembered between runs: its size and place, whether it was maximised, and the theme
 * (so the next window is painted in the theme's background before the page loads, and a dark
 * window never flashes light). Plain Node: the shell passes Electron's displays in.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../host/util/files.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Theme = 'light' | 'dark';

export interface WindowState {
  bounds: Rect | null;
  maximized: boolean;
  theme: Theme | null;
}

/** The page's --bg in theme.css for each theme (a unit test keeps them equal). */
export const THEME_BACKGROUND: Record<Theme, string> = { light: '#f6f7f9', dark: '#14171b' };

const isRect = (r: unknown): r is Rect =>
  !!r && typeof r === 'object' && ['x', 'y', 'width', 'height'].every((k) => Number.isFinite((r as Record<string, unknown>)[k]));

export function loadWindowState(file: string): WindowState {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return {
      bounds: isRect(v.bounds) ? v.bounds : null,
      maximized: v.maximized === true,
      theme: v.theme === 'dark' || v.theme === 'light' ? v.theme : null,
    };
  } catch {
    return { bounds: null, maximized: false, theme: null };
  }
}

export function saveWindowState(file: string, state: WindowState): void {
  try {
    writeFileAtomic(file, JSON.stringify(state));
  } catch {
    // Not remembering the window is no reason to fail closing it.
  }
}

/**
 * Where the window opens: the remembered bounds when at least a usable part of them (its title
 * bar) is on a display that exists now, shrunk to fit that display; else the default size,
 * centred by the system.
 */
export function placeWindow(
  saved: Rect | null,
  workAreas: readonly Rect[],
  size: { width: number; height: number },
  min: { width: number; height: number },
): Partial<Rect> & { width: number; height: number } {
  if (!saved) return { ...size };
  const visible = workAreas.find((a) => {
    const overlapX = Math.min(saved.x + saved.width, a.x + a.width) - Math.max(saved.x, a.x);
    const titleBarOn = saved.y >= a.y && saved.y < a.y + a.height - 40;
    return overlapX >= 100 && titleBarOn;
  });
  if (!visible) return { width: Math.max(min.width, Math.min(saved.width, size.width)), height: Math.max(min.height, Math.min(saved.height, size.height)) };
  const width = Math.max(min.width, Math.min(saved.width, visible.width));
  const height = Math.max(min.height, Math.min(saved.height, visible.height));
  const x = Math.min(Math.max(saved.x, visible.x), visible.x + visible.width - width);
  const y = Math.min(Math.max(saved.y, visible.y), visible.y + visible.height - height);
  return { x, y, width, height };
}
