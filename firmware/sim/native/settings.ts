import { ERR } from '../../../shared/protocol/constants.js';
import { encodeContainer } from '../../../shared/settings/evidence.js';
import { SETTINGS_CMD, SETTINGS_REGION, SETTINGS_WRITE, SETTINGS_WRITTEN, SNAPSHOT_FROZEN, SNAPSHOT_REQUEST } from '../../../shared/settings/native.js';
import type { SimBoard } from '../board.js';
import { NativeError } from './dispatcher.js';

/**
 * The settings commands of the native protocol (PROTOCOL.md §5.1): SETTINGS_WRITE (one or many
 * values, all or nothing, each accepted change signed into the journal with the tool's identity)
 * and SETTINGS_SNAPSHOT, which signs every value over the host's nonce and freezes that snapshot
 * with every change record the board keeps into region 0x05, read with the bulk transfer: its
 * small retransmitted chunks cross a noisy line that a single large answer would not.
 */
export function installSettingsCommands(board: SimBoard): void {
  const n = board.native;
  let frozen: Uint8Array = new Uint8Array(0);
  n.register(SETTINGS_CMD.SETTINGS_WRITE, (payload) => {
    const { tool, items } = SETTINGS_WRITE.decode(payload);
    if (items.length === 0) throw new NativeError(ERR.BAD_ARGUMENT, 'no values to write');
    return SETTINGS_WRITTEN.encode({ items: board.writeParams(items, tool) });
  });
  n.register(SETTINGS_CMD.SETTINGS_SNAPSHOT, (payload) => {
    const snapshot = board.settingsSnapshot(SNAPSHOT_REQUEST.decode(payload).nonce);
    const journal = board.settingsJournal;
    frozen = encodeContainer(snapshot, journal.page(0, Number.MAX_SAFE_INTEGER).entries);
    return SNAPSHOT_FROZEN.encode({ length: frozen.length, journalCount: journal.count });
  });
  n.registerRegion({
    id: SETTINGS_REGION,
    name: 'settings-evidence',
    size: () => frozen.length,
    read: (offset, length) => frozen.slice(offset, offset + length),
  });
}
