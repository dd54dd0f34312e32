import { realpathSync, statSync } from 'node:fs';
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
    assertSerialDevice(this.info.path);
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
      const reason: CloseReason = this.closing && !err ? { kind: 'closed' } : { kind: 'disconnected', message: err?.message ?? 'port closed by the system' };
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

/** Memory devices that are character devices but never a serial line (where sysfs cannot tell). */
const NOT_SERIAL = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom']);

/**
 * Refuses, before anything is opened, a path that cannot be a serial line: a regular file, a
 * directory, or a character device that is not a terminal (/dev/null). Opening one would fail later
 * with an ioctl error about the baud rate, which names no cause. On Linux the device's sysfs class
 * must be 'tty'; pseudo-terminals (the simulator's /dev/pts/N) have no sysfs entry and pass. A path
 * that does not exist is left to the opener, which names it as missing.
 */
function assertSerialDevice(path: string): void {
  if (process.platform === 'win32') return;
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  const notSerial = (what: string) => new PackscopeError('NOT_FOUND', `${path} is not a serial port (${what}); 'packscope ports' lists the serial ports`);
  if (st.isDirectory()) throw notSerial('it is a directory');
  if (st.isFile()) throw notSerial('it is a regular file');
  if (!st.isCharacterDevice()) throw notSerial('it is not a character device');
  if (NOT_SERIAL.has(path)) throw notSerial('it is not a terminal device');
  if (process.platform !== 'linux') return;
  const rdev = st.rdev;
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
  let cls: string;
  try {
    cls = realpathSync(`/sys/dev/char/${major}:${minor}/subsystem`).split('/').pop() ?? '';
  } catch {
    return;
  }
  if (cls !== 'tty') throw notSerial(`it is a '${cls}' device, not a terminal`);
}

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
