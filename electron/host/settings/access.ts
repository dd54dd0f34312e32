/**
 * What every protocol's settings back end offers the settings service: read everything the board
 * exposes (in catalogue ids and units, with the limits the board states), and write a validated set
 * of changes, reporting per setting what the board did and the value it holds afterwards.
 */
import type { BackupBoard } from '../../../shared/settings/backup.js';
import type { SettingsProtocol } from '../../../shared/settings/catalog.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';

export interface SettingsRead {
  protocol: SettingsProtocol;
  board: BackupBoard;
  values: Record<string, number>;
  limits: Map<string, BoardLimit>;
  /** JBD: the 0xAA protection counters as read (kept with every backup, and read before any write). */
  jbdErrorCounters?: Record<string, number>;
  /** Native: the board's signed snapshot of these values. */
  deviceSnapshot?: { hex: string; digest: string };
  /** Plain-language notes about this board's settings (quirks, what a write will do). */
  notes: string[];
}

export type WriteResult = 'written' | 'unchanged' | 'refused' | 'not_applied';

export interface WriteOutcome {
  id: string;
  requested: number;
  result: WriteResult;
  /** The value the board holds afterwards, as it reported it (null: unknown). */
  stored: number | null;
  /** Why the board refused (its own words where it gave any). */
  reason?: string;
}

/** How a JBD write leaves factory mode (register 0x01). */
export type JbdExit = 'keep-counters' | 'save-and-reset-counters';

export interface WriteOptions {
  /** The tool's identity, signed into the native board's change records. */
  tool: string;
  signal?: AbortSignal;
  jbdExit?: JbdExit;
}

export interface SettingsAccess {
  readonly protocol: SettingsProtocol;
  read(signal?: AbortSignal): Promise<SettingsRead>;
  write(changes: Readonly<Record<string, number>>, options: WriteOptions): Promise<WriteOutcome[]>;
}

export function backupBoard(d: Pick<DeviceInfo, 'model' | 'serial' | 'boardId' | 'hardwareRevision' | 'firmwareVersion'>): BackupBoard {
  return { model: d.model, serial: d.serial, boardId: d.boardId, hardwareRevision: d.hardwareRevision, firmwareVersion: d.firmwareVersion };
}
