/**
 * Settings on a JK board over its "4E 57" RS485 / TTL port: every setting arrives in the read-all
 * reply; a write changes one field per frame (command 0x02), and the board answers with the value
 * it holds, so a refusal shows the value it kept. A board that does not answer a write is judged
 * by the read-back that follows every write.
 */
import { decodeJkFields, encodeJkReadAll, JK_CMD_READ_ALL, JK_TYPE_RESPONSE, type JkFrame } from '../../../shared/bms/jk.js';
import { isPackscopeError, PackscopeError } from '../../../shared/errors.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import {
  decodeJkWritePayload,
  encodeJkWrite,
  jkFieldFor,
  jkFieldRange,
  jkRawOf,
  jkSettingsFromFields,
  jkValueOf,
  JK_CMD_WRITE,
  JK_SETTING_FIELDS,
} from '../../../shared/settings/jk-registers.js';
import type { BoardLimit } from '../../../shared/settings/validate.js';
import type { DeviceInfo } from '../../../shared/types/domain.js';
import type { BmsChannel } from '../drivers/bms-polling.js';
import { backupBoard, type SettingsAccess, type SettingsRead, type WriteOptions, type WriteOutcome } from './access.js';

export const JK_WRITE_NOTE =
  'A JK board takes one setting per write and answers with the value it holds; PackScope reads everything back after a write. Boards with a settings password set in JK’s app may refuse writes until it is cleared.';

const isReadAll = (f: JkFrame) => f.type === JK_TYPE_RESPONSE && f.command === JK_CMD_READ_ALL;

export class JkSettingsAccess implements SettingsAccess {
  readonly protocol = 'jk' as const;

  constructor(
    private readonly ch: BmsChannel<JkFrame>,
    private readonly info: DeviceInfo,
  ) {}

  async read(signal?: AbortSignal): Promise<SettingsRead> {
    const expectBytes = 20 + 2 + 3 * Math.max(1, this.info.cellCount) + 232;
    const [frame] = await this.ch.request({ request: encodeJkReadAll(), accept: isReadAll, expectBytes }, signal);
    const parsed = decodeJkFields(frame!.payload);
    const raw = jkSettingsFromFields(new Map(parsed.fields.map((f) => [f.id, f.value])));
    const values: Record<string, number> = {};
    const limits = new Map<string, BoardLimit>();
    for (const x of JK_SETTING_FIELDS) {
      const def = settingDef(x.setting);
      if (!def || raw[x.setting] === undefined) continue;
      values[x.setting] = quantize(def, raw[x.setting]!);
      limits.set(x.setting, { ...jkFieldRange(x), writable: !def.readOnly, step: x.scale });
    }
    return { protocol: 'jk', board: backupBoard(this.info), values, limits, notes: [JK_WRITE_NOTE] };
  }

  async write(changes: Readonly<Record<string, number>>, options: WriteOptions): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const [id, requested] of Object.entries(changes)) {
      const x = jkFieldFor(id);
      if (!x) throw new PackscopeError('USAGE', `a JK board has no field for ${id}`);
      const raw = jkRawOf(x, requested);
      // validateChanges refused anything between two of the field's steps; this is the last guard.
      if (jkValueOf(x, raw) !== quantize(settingDef(id)!, requested))
        throw new PackscopeError('USAGE', `${id}=${requested}: a JK board keeps it in steps of ${x.scale}; nothing was written`);
      const accept = (f: JkFrame) => f.type === JK_TYPE_RESPONSE && f.command === JK_CMD_WRITE && f.payload[0] === x.id;
      let answer: JkFrame;
      try {
        [answer] = (await this.ch.request({ request: encodeJkWrite(x, raw), accept, expectBytes: 20 + 1 + x.bytes }, options.signal, 2)) as [JkFrame];
      } catch (e) {
        if (!isPackscopeError(e) || e.code !== 'TIMEOUT') throw e;
        outcomes.push({ id, requested, result: 'written', stored: null, reason: 'the board did not answer the write; the read-back shows what it holds' });
        continue;
      }
      const held = decodeJkWritePayload(answer).raw;
      const stored = quantize(settingDef(id)!, jkValueOf(x, held));
      outcomes.push(
        held === raw
          ? { id, requested, result: 'written', stored }
          : { id, requested, result: 'refused', stored, reason: 'the board refused the value and kept its own' },
      );
    }
    return outcomes;
  }
}
