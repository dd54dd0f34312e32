import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { PackscopeError } from '../../../shared/errors.js';
import type { ByteTransport, CloseReason, LineSettings, TransportInfo } from '../../../shared/types/transport.js';
import { toHex } from '../../../shared/util/bytes.js';
import { fsError } from '../util/files.js';

/**
 * Raw capture (`--capture FILE.jsonl`): a transport wrapper that records every chunk written and
 * received, with its time, as JSON lines. The first line describes the capture; each other line is
 * {"t": ms since the start, "dir": "tx"|"rx", "hex": "…"}. It is written to FILE.jsonl.partial and
 * renamed when the port closes, so a capture that exists is complete; `packscope replay` plays one
 * back as a board on a pseudo-terminal.
 */
export interface CaptureHeader {
  capture: 'packscope-raw';
  version: 1;
  port: string;
  line: LineSettings;
  started: string;
  tool: string;
}

export interface CaptureRecord {
  t: number;
  dir: 'tx' | 'rx';
  hex: string;
}

export class CaptureTransport implements ByteTransport {
  private fd: number;
  private readonly t0 = performance.now();
  private finished = false;
  private offData: () => void;
  private offClose: () => void;

  constructor(
    private inner: ByteTransport,
    readonly file: string,
    line: LineSettings,
    tool: string,
  ) {
    try {
      this.fd = openSync(`${file}.partial`, 'w');
    } catch (e) {
      throw fsError(e, `cannot write the capture ${file}`);
    }
    const header: CaptureHeader = { capture: 'packscope-raw', version: 1, port: inner.info.path, line, started: new Date().toISOString(), tool };
    this.line(JSON.stringify(header));
    // Received bytes are recorded as they arrive, whoever listens (and before they do).
    this.offData = inner.onData((d) => this.record('rx', d));
    this.offClose = inner.onClose(() => this.finish());
  }

  get info(): TransportInfo {
    return this.inner.info;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.finish();
  }

  async write(data: Uint8Array): Promise<void> {
    this.record('tx', data);
    await this.inner.write(data);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.inner.onData(listener);
  }

  onClose(listener: (reason: CloseReason) => void): () => void {
    return this.inner.onClose(listener);
  }

  setLine(settings: LineSettings): Promise<void> {
    if (!this.inner.setLine) return Promise.resolve();
    this.line(JSON.stringify({ t: this.now(), line: settings }));
    return this.inner.setLine(settings);
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  private record(dir: 'tx' | 'rx', data: Uint8Array): void {
    if (!this.finished && data.length) this.line(JSON.stringify({ t: this.now(), dir, hex: toHex(data) } satisfies CaptureRecord));
  }

  private line(text: string): void {
    try {
      writeSync(this.fd, `${text}\n`);
    } catch (e) {
      throw fsError(e, `cannot write the capture ${this.file}`);
    }
  }

  /** Completes the file: FILE.jsonl appears only now. Safe to call twice. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.offData();
    this.offClose();
    closeSync(this.fd);
    try {
      renameSync(`${this.file}.partial`, this.file);
    } catch (e) {
      try {
        unlinkSync(`${this.file}.partial`);
      } catch {
        // nothing left to clean
      }
      throw e instanceof PackscopeError ? e : fsError(e, `cannot complete the capture ${this.file}`);
    }
  }
}

/** Wraps an opened port (raw capture; tests put a misbehaving line here). */
export type TransportWrapper = (t: ByteTransport, line: LineSettings) => ByteTransport;

/** The wrapper for --capture, or nothing. */
export function captureTo(file: string | undefined, tool: string): TransportWrapper | undefined {
  if (!file) return undefined;
  if (!file.endsWith('.jsonl')) throw new PackscopeError('USAGE', `--capture needs a .jsonl file name, got '${file}'`);
  return (t, line) => new CaptureTransport(t, file, line, tool);
}
