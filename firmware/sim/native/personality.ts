import { ERR, MSG, PROTOCOL_VERSION } from '../../../shared/protocol/constants.js';
import { crc32 } from '../../../shared/protocol/crc32.js';
import { FrameDecoder, encodeFrame, type DamagedHead, type Frame } from '../../../shared/protocol/frame.js';
import { ERROR } from '../../../shared/protocol/messages.js';
import type { SimBoard } from '../board.js';
import type { DeviceLink } from '../line.js';
import type { Personality } from '../personality.js';
import { closeSessionTelemetry } from './core.js';
import type { NativeSession } from './dispatcher.js';

/**
 * The native personality: the board as PackScope's own firmware presents it on its UART. Frames
 * from the line go to the board's dispatcher; answers and events go back through the paced line.
 *
 * A host that retries a request (its response was lost) sends the same sequence number again:
 * the board answers from a small cache instead of executing it twice, so PARAM_SET, RESET or
 * BULK_*_OPEN stay exactly-once (PROTOCOL.md §3.3).
 */
const REPLAY_CACHE = 32;

interface CachedReply {
  cmd: number;
  crc: number;
  reply: Uint8Array | null; // null while the handler is still running
}

export function createNativePersonality(board: SimBoard): Personality {
  let current: { session: NativeSession & { close(): void }; unsubs: Array<() => void> } | null = null;

  const detach = () => {
    if (!current) return;
    const c = current;
    current = null;
    for (const u of c.unsubs) u();
    c.session.close();
  };

  return {
    name: 'native',
    attach(link: DeviceLink) {
      detach();
      const closers: Array<() => void> = [];
      const damageListeners: Array<(head: DamagedHead) => void> = [];
      const data = new Map<string, unknown>();
      let closed = false;
      const session: NativeSession & { close(): void } = {
        link,
        data,
        emit(cmd, payload) {
          if (!closed) link.send(encodeFrame({ type: MSG.EVENT, seq: 0, cmd, payload }));
        },
        onClose(fn) {
          closers.push(fn);
        },
        onDamagedFrame(fn) {
          damageListeners.push(fn);
        },
        get closed() {
          return closed;
        },
        close() {
          if (closed) return;
          closed = true;
          closeSessionTelemetry(session);
          board.native.sessions.delete(session);
          for (const f of closers) f();
        },
      };
      const replies = new Map<number, CachedReply>();

      const onFrame = (frame: Frame) => {
        if (frame.version !== PROTOCOL_VERSION) {
          if (frame.type === MSG.REQUEST) {
            link.send(
              encodeFrame({
                type: MSG.ERROR,
                seq: frame.seq,
                cmd: frame.cmd,
                payload: ERROR.encode({
                  code: ERR.UNSUPPORTED_VERSION,
                  message: `protocol version ${frame.version} not supported (board speaks ${PROTOCOL_VERSION})`,
                }),
              }),
            );
          }
          return;
        }
        if (frame.type === MSG.EVENT) {
          void board.native.dispatch(frame, session);
          return;
        }
        if (frame.type !== MSG.REQUEST) return;
        const crc = crc32(frame.payload);
        const cached = replies.get(frame.seq);
        if (cached && cached.cmd === frame.cmd && cached.crc === crc) {
          if (cached.reply) link.send(cached.reply);
          return;
        }
        const entry: CachedReply = { cmd: frame.cmd, crc, reply: null };
        replies.delete(frame.seq);
        replies.set(frame.seq, entry);
        if (replies.size > REPLAY_CACHE) replies.delete(replies.keys().next().value!);
        void board.native.dispatch(frame, session).then((reply) => {
          if (!reply || closed) return;
          entry.reply = reply;
          link.send(reply);
        });
      };

      const decoder = new FrameDecoder(onFrame, (_e, head) => {
        if (head && !closed) for (const fn of damageListeners) fn(head);
      });
      const unsubs = [
        link.onReceive((chunk) => decoder.push(chunk)),
        link.onDisconnect(() => detach()),
        // The replay cache survives RESET (a real board keeps it in no-init RAM): a RESET request
        // repeated because its answer was lost must not reset the board a second time.
      ];
      board.native.sessions.add(session);
      current = { session, unsubs };
    },
    detach,
  };
}
