import net from 'node:net';
import { PackscopeError } from '../../../shared/errors.js';
import type { ByteTransport, CloseReason, TransportInfo } from '../../../shared/types/transport.js';
import { TransportListeners } from './listeners.js';

/**
 * A serial line behind a network serial server (ser2net raw mode, ESP-Link, Moxa NPort):
 * `tcp://host:port`. The remote end sets the baud rate; this is just the byte stream.
 */
export function parseTcpPath(path: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(path);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new PackscopeError('USAGE', `bad TCP address '${path}' (expected tcp://host:port)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export class TcpTransport extends TransportListeners implements ByteTransport {
  readonly info: TransportInfo;
  private socket: net.Socket | null = null;
  private closing = false;

  constructor(
    path: string,
    private readonly connectTimeoutMs = 5000,
  ) {
    super();
    parseTcpPath(path);
    this.info = { kind: 'tcp', path };
  }

  get isOpen(): boolean {
    return this.socket !== null && !this.socket.destroyed;
  }

  async open(): Promise<void> {
    const { host, port } = parseTcpPath(this.info.path);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new PackscopeError('TIMEOUT', `no connection to ${host}:${port} within ${this.connectTimeoutMs / 1000} s`));
      }, this.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND'
            ? new PackscopeError('NOT_FOUND', `nothing listens at ${host}:${port} (${e.code})`)
            : new PackscopeError('IO', `cannot connect to ${host}:${port}: ${e.message}`),
        );
      });
    });
    socket.setNoDelay(true);
    this.socket = socket;
    this.closing = false;
    socket.on('data', (b: Buffer) => {
      const view = new Uint8Array(b.buffer, b.byteOffset, b.length);
      this.emitData(view);
    });
    socket.on('error', () => undefined); // reported through 'close'
    socket.on('close', (hadError) => {
      this.socket = null;
      const reason: CloseReason = this.closing
        ? { kind: 'closed' }
        : { kind: 'disconnected', message: hadError ? 'connection reset' : 'remote end closed the connection' };
      this.emitClose(reason);
    });
  }

  async close(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 500).unref();
    });
  }

  async write(data: Uint8Array): Promise<void> {
    const s = this.socket;
    if (!s) throw new PackscopeError('DISCONNECTED', `${this.info.path} is not connected`);
    await new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(new PackscopeError('DISCONNECTED', err.message)) : resolve())));
  }
}
