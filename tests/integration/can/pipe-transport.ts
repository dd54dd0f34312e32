import type { HostPipe } from '../../../firmware/sim/run.js';
import type { ByteTransport, CloseReason } from '../../../shared/types/transport.js';

/** The host end of an in-process simulator pipe as a ByteTransport (no pty needed). */
export function pipeTransport(pipe: HostPipe): ByteTransport {
  let open = false;
  const data = new Set<(c: Uint8Array) => void>();
  const close = new Set<(r: CloseReason) => void>();
  pipe.onData((d) => open && data.forEach((l) => l(d)));
  pipe.onEnd(() => {
    if (!open) return;
    open = false;
    close.forEach((l) => l({ kind: 'disconnected', message: 'simulator went away' }));
  });
  return {
    info: { kind: 'sim', path: 'sim:slcan' },
    get isOpen() {
      return open;
    },
    async open() {
      open = true;
    },
    async close() {
      open = false;
    },
    async write(d) {
      pipe.write(d);
    },
    onData: (l) => (data.add(l), () => data.delete(l)),
    onClose: (l) => (close.add(l), () => close.delete(l)),
  };
}
