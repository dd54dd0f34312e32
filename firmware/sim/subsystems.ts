import type { SimBoard } from './board.js';

/**
 * Board subsystems, installed in order when a board is created (after the core native commands and
 * the bulk-transfer engine). An installer registers native commands (`board.native.register`),
 * bulk-transfer regions (`board.native.registerRegion`), and tick/reset/stop listeners.
 * One line per subsystem; load its module lazily inside the installer.
 */
export type SubsystemInstaller = (board: SimBoard) => void | Promise<void>;

export const SUBSYSTEMS: SubsystemInstaller[] = [
  async (board) => (await import('./boot/install.js')).installBootloader(board),
  async (board) => (await import('./blackbox/install.js')).installBlackBox(board),
];
