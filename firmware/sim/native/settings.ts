import { ERR } from '../../../shared/protocol/constants.js';
import { JOURNAL_PAGE, JOURNAL_QUERY, SETTINGS_CMD, SETTINGS_WRITE, SETTINGS_WRITTEN, SNAPSHOT_REQUEST } from '../../../shared/settings/native.js';
import type { SimBoard } from '../board.js';
import { NativeError } from './dispatcher.js';

/**
 * The settings commands of the native protocol (PROTOCOL.md §5.1): SETTINGS_WRITE (one or many
 * values, all or nothing, each accepted change signed into the journal with the tool's identity),
 * SETTINGS_SNAPSHOT (every value, signed, over the host's nonce) and SETTINGS_JOURNAL (the signed
 * change records, paged).
 */
const JOURNAL_PAGE_MAX = 16;

export function installSettingsCommands(board: SimBoard): void {
  const n = board.native;
  n.register(SETTINGS_CMD.SETTINGS_WRITE, (payload) => {
    const { tool, items } = SETTINGS_WRITE.decode(payload);
    if (items.length === 0) throw new NativeError(ERR.BAD_ARGUMENT, 'no values to write');
    return SETTINGS_WRITTEN.encode({ items: board.writeParams(items, tool) });
  });
  n.register(SETTINGS_CMD.SETTINGS_SNAPSHOT, (payload) => board.settingsSnapshot(SNAPSHOT_REQUEST.decode(payload).nonce));
  n.register(SETTINGS_CMD.SETTINGS_JOURNAL, (payload) => {
    const { from, max } = JOURNAL_QUERY.decode(payload);
    return JOURNAL_PAGE.encode(board.settingsJournal.page(from, Math.min(max || JOURNAL_PAGE_MAX, JOURNAL_PAGE_MAX)));
  });
}
