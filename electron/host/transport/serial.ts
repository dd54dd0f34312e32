import { SerialPort } from 'serialport';
import { PackscopeError } from '../../../shared/errors.js';
import type { ByteTransport, CloseReason, LineSettings, TransportInfo } from '../../../shared/types/transport.js';
import { TransportListeners } from './listeners.js';

/**
 * A real serial port (USB-serial adapter, or the simulator's pseudo-terminal) through serialport.
 * Opening errors become typed errors with a fix the user can apply (EACCES → dialout group);
 * a port that vanishes while open is a 'disconnected' close event, not an exception.
 */
export class SerialTransport extends TransportListeners implements ByteTransport {
  readonly info: TransportInfo;
  private port: SerialPort | null = null;
  private closing = false;

  constructor(
    path: string,
    private settings: LineSettings,
    info: Partial<TransportInfo> = {},
  ) {
    super();
    this.info = { kind: 'serial', path, ...info };
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    const port = new SerialPort({
      path: this.info.path,
      baudRate: this.settings.baudRate,
      parity: this.settings.parity ?? 'none',
      dataBits: 8,
      stopBits: 1,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(openError(this.info.path, err)) : resolve()));
    });
    this.port = port;
    this.closing = false;
    port.on('data', (chunk: Buffer) => {
      const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      this.emitData(view);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      const reason: CloseReason =
        this.closing && !err ? { kind: 'closed' } : { kind: 'disconnected', message: err?.message ?? 'port closed by the system' };
      this.port = null;
      this.emitClose(reason);
    });
    // Errors after open (read failure on a vanished device) surface as a close; never throw.
    port.on('error', () => {
      if (port.isOpen) port.close(() => undefined);
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port || !port.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port || !port.isOpen) throw new PackscopeError('DISCONNECTED', `${this.info.path} is not open`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data.buffer, data.byteOffset, data.length), (err) =>
        err ? reject(new PackscopeError('DISCONNECTED', `write to ${this.info.path} failed: ${err.message}`)) : resolve(),
      );
    });
  }

  async setLine(settings: LineSettings): Promise<void> {
    this.settings = settings;
    const port = this.port;
    if (!port) return;
    // serialport can change the baud rate in place; a parity change needs a re-open.
    if ((settings.parity ?? 'none') !== (port.settings.parity ?? 'none')) {
      await this.close();
      await this.open();
      return;
    }
    await new Promise<void>((resolve, reject) =>
      port.update({ baudRate: settings.baudRate }, (err) => (err ? reject(new PackscopeError('IO', err.message)) : resolve())),
    );
  }
}

/** EACCES on Linux is the most common first-run failure; say exactly how to fix it. */
export const LINUX_PERMISSION_FIX =
  'Add yourself to the dialout group (sudo usermod -aG dialout $USER, then log out and in), ' +
  'or install PackScope\'s udev rule (see README, "Serial port permissions").';

function openError(path: string, err: Error): PackscopeError {
  const msg = err.message;
  if (/EACCES|Permission denied/i.test(msg)) {
    return new PackscopeError('PERMISSION', `permission denied opening ${path}. ${process.platform === 'linux' ? LINUX_PERMISSION_FIX : ''}`.trim());
  }
  if (/ENOENT|No such file|cannot find|File not found/i.test(msg)) {
    return new PackscopeError('NOT_FOUND', `no serial port at ${path} (is the adapter plugged in? try 'packscope ports')`);
  }
  if (/EBUSY|Resource busy|Access denied/i.test(msg)) {
    return new PackscopeError('PERMISSION', `${path} is in use by another program (ModemManager? another PackScope window?)`);
  }
  return new PackscopeError('IO', `cannot open ${path}: ${msg}`);
}
