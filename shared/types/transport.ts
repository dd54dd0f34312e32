/**
 * A byte transport: serial port, pseudo-terminal, in-process simulated link, TCP (ser2net-style).
 * The simulated board and the host both work against this interface; an unplugged cable is a
 * `close` event with reason 'disconnected', never an exception thrown into a caller's stack.
 */
export interface TransportInfo {
  kind: 'serial' | 'sim' | 'tcp';
  /** Path or URL the user named: /dev/ttyUSB0, COM3, sim:, tcp://host:port. */
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
  serialNumber?: string;
  /** Recognised adapter (e.g. 'CH340', 'CP210x', 'FTDI', 'PL2303', 'CANable (SLCAN)'). */
  adapter?: string;
}

export type Parity = 'none' | 'even';

export interface LineSettings {
  baudRate: number;
  parity?: Parity;
}

export type CloseReason = { kind: 'closed' } | { kind: 'disconnected'; message: string } | { kind: 'error'; message: string };

export interface ByteTransport {
  readonly info: TransportInfo;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the bytes have been handed to the OS (or the simulated line). */
  write(data: Uint8Array): Promise<void>;
  /** Registers a data listener; returns a function that removes it. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  onClose(listener: (reason: CloseReason) => void): () => void;
  /** Changes line settings on an open port (baud, parity); optional for transports without a line. */
  setLine?(settings: LineSettings): Promise<void>;
}
