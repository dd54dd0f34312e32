import { spawn, type ChildProcess } from 'node:child_process';
import { PackscopeError } from '../../shared/errors.js';
import { Emitter } from '../../shared/util/emitter.js';
import type { RawPipe } from './line.js';

/**
 * A pseudo-terminal for the simulated board, so the host talks to a real tty through serialport,
 * exactly as it would to a USB-serial adapter. Node has no pty API; python3's `pty` module (always
 * on Debian) opens the pair and relays the master side over its stdin/stdout.
 *
 * The relay keeps its own handle on the slave side open, so a client closing and re-opening the
 * port (as `packscope info` then `packscope monitor` do) does not tear the pty down. When the
 * simulator exits, the relay exits, the master closes, and the client sees a hang-up: that is
 * "cable unplugged", as the tests need.
 */
const RELAY = String.raw`
import os, pty, select, sys, tty, errno
master, slave = pty.openpty()
tty.setraw(slave)
tty.setraw(master)
os.write(1, (os.ttyname(slave) + "\n").encode())
os.set_blocking(master, False)
pending = b""
while True:
    wl = [master] if pending else []
    r, w, _ = select.select([master, 0], wl, [], 1.0)
    if 0 in r:
        data = os.read(0, 65536)
        if not data:
            break
        pending += data
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError as e:
            if e.errno in (errno.EIO, errno.EAGAIN):
                data = b""
            else:
                raise
        if data:
            os.write(1, data)
    if pending and (master in w or not wl):
        try:
            n = os.write(master, pending)
            pending = pending[n:]
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise
`;

export interface PtyBridge {
  /** The slave path the host opens, e.g. /dev/pts/7. */
  path: string;
  pipe: RawPipe;
  close(): void;
}

export async function openPty(): Promise<PtyBridge> {
  const child: ChildProcess = spawn('python3', ['-u', '-c', RELAY], { stdio: ['pipe', 'pipe', 'inherit'] });
  const dataEvents = new Emitter<Uint8Array>();
  const endEvents = new Emitter();
  let ended = false;

  const path = await new Promise<string>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      const rest = head.subarray(nl + 1);
      resolve(head.subarray(0, nl).toString('utf8'));
      child.stdout!.on('data', (d: Buffer) => {
        dataEvents.emit(new Uint8Array(d.buffer, d.byteOffset, d.length));
      });
      if (rest.length) queueMicrotask(() => dataEvents.emit(new Uint8Array(rest)));
    };
    child.stdout!.on('data', onData);
    child.once('error', (e) => reject(new PackscopeError('INTERNAL', `cannot start the pty relay (python3): ${e.message}`)));
    child.once('exit', (code) => reject(new PackscopeError('INTERNAL', `pty relay exited early (code ${code})`)));
  });

  const end = () => {
    if (ended) return;
    ended = true;
    endEvents.emit();
  };
  child.once('exit', end);
  child.stdin!.on('error', () => end());

  const pipe: RawPipe = {
    write(data) {
      if (!ended) child.stdin!.write(data);
    },
    onData(listener) {
      return dataEvents.on(listener);
    },
    onEnd(listener) {
      return endEvents.on(listener);
    },
    close() {
      if (!ended) child.kill('SIGTERM');
    },
  };
  return { path, pipe, close: () => pipe.close() };
}
