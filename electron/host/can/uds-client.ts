import { dataFrame } from '../../../shared/can/frame.js';
import { IsoTpEndpoint, IsoTpError, type IsoTpOptions } from '../../../shared/can/isotp.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import {
  NRC,
  SID,
  UdsNegativeResponseError,
  decodeResponse,
  encodeRequest,
  serviceName,
  type UdsPositiveResponse,
  type UdsRequest,
  type UdsResponse,
} from '../../../shared/can/uds.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { SlcanChannel } from './slcan-channel.js';
import { deadline } from '../util/deadline.js';

/**
 * UDS client over ISO-TP on a CAN channel. One request at a time; a response is matched by its
 * service id; 0x78 (response pending) extends the wait to P2* and is repeated as often as the ECU
 * likes; 0x21 (busy, repeat request) repeats the request for up to P2*; other negative responses
 * become UdsNegativeResponseError with the NRC's name.
 */
export interface UdsClientOptions {
  txId?: number;
  rxId?: number;
  /**
   * Client-side P2 (ms): wait for the first answer (default 2500). Generous: the adapter queues
   * frames, a USB serial link and a busy host delay them further, and a generous P2 only makes a
   * dead ECU take longer to report.
   */
  p2Ms?: number;
  /** Wait after a response-pending answer (ms). */
  p2StarMs?: number;
  isotp?: IsoTpOptions;
  /** Time base of ISO-TP timers and response waits (default: the real clock). */
  clock?: Clock;
}

/** Per-request overrides. */
export interface UdsRequestOptions {
  /** Wait for the first answer (ms) instead of P2: a probe that expects silence asks briefly. */
  timeoutMs?: number;
}

/** Pause before repeating a request the ECU answered with busyRepeatRequest. */
export const BUSY_REPEAT_GAP_MS = 50;

export class UdsClient {
  readonly txId: number;
  readonly rxId: number;
  readonly iso: IsoTpEndpoint;
  readonly clock: Clock;
  private p2Ms: number;
  private p2StarMs: number;
  private inbox: Array<Uint8Array> = [];
  private waiter: ((m: Uint8Array | PackscopeError) => void) | null = null;
  private unsubs: Array<() => void> = [];
  private rxError: PackscopeError | null = null;
  /** Response-pending answers seen (for reports). */
  pendingSeen = 0;
  /** Busy-repeat-request answers seen, each followed by the same request again. */
  busySeen = 0;

  constructor(
    private channel: SlcanChannel,
    o: UdsClientOptions = {},
  ) {
    this.txId = o.txId ?? 0x7e0;
    this.rxId = o.rxId ?? 0x7e8;
    this.p2Ms = o.p2Ms ?? 2500;
    this.p2StarMs = o.p2StarMs ?? 5500;
    this.clock = o.clock ?? realClock;
    // The tester waits for flow control and consecutive frames as long as for a pending answer
    // (P2*): ISO 15765-2's 1000 ms is the ECU's budget, and a busy bench PC that reads the adapter
    // late (or an ECU in the same loaded process, as in the tests) must not abort a flash the ECU
    // is serving; a dead ECU is still named within seconds.
    this.iso = new IsoTpEndpoint((data) => channel.send(dataFrame(this.txId, data, this.txId > 0x7ff)), this.clock, {
      padding: 0xcc,
      nBsMs: Math.max(this.p2Ms, this.p2StarMs),
      nCrMs: Math.max(this.p2Ms, this.p2StarMs),
      ...o.isotp,
    });
    this.unsubs.push(
      channel.onFrame(({ frame }) => {
        if (frame.id === this.rxId && !frame.remote) this.iso.handleFrame(frame.data);
      }),
    );
    this.unsubs.push(this.iso.onMessage((m) => this.deliver(m)));
    this.unsubs.push(this.iso.onError((e) => this.fail(e)));
    this.unsubs.push(channel.onError((e) => this.fail(e)));
    this.unsubs.push(channel.onClose((why) => this.fail(new PackscopeError('DISCONNECTED', `adapter link closed: ${why}`))));
  }

  private deliver(m: Uint8Array): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else this.inbox.push(m);
  }

  private fail(e: PackscopeError): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(e);
    } else this.rxError = e;
  }

  private next(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const cancelTimer = deadline(
        timeoutMs,
        () => {
          this.waiter = null;
          signal?.removeEventListener('abort', onAbort);
          reject(new PackscopeError('TIMEOUT', `no UDS response from ECU 0x${this.rxId.toString(16).toUpperCase()} within ${timeoutMs} ms`));
        },
        this.clock,
      );
      const onAbort = () => {
        cancelTimer();
        this.waiter = null;
        reject(new PackscopeError('CANCELLED', 'cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = (m) => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        if (m instanceof PackscopeError) reject(m);
        else resolve(m);
      };
    });
  }

  /** Sends a request and returns its positive response (or throws the negative one, by name). */
  async request<S extends UdsRequest['service']>(
    req: Extract<UdsRequest, { service: S }>,
    signal?: AbortSignal,
    options: UdsRequestOptions = {},
  ): Promise<Extract<UdsPositiveResponse, { service: S }>> {
    const sid = SID[req.service];
    const send = async (): Promise<void> => {
      this.inbox = [];
      this.rxError = null;
      try {
        await this.iso.send(encodeRequest(req), signal);
      } catch (e) {
        if (e instanceof IsoTpError && e.failure === 'N_ABORTED') throw new PackscopeError('CANCELLED', 'cancelled');
        throw e;
      }
      if (this.rxError) throw this.rxError;
    };
    await send();
    let timeout = options.timeoutMs ?? this.p2Ms;
    // busyRepeatRequest (0x21): the ECU is still on an earlier job (one a loaded tester gave up
    // waiting for, say) and asks to be asked again: ISO 14229-1 has the client repeat the
    // request. It is repeated for as long as a response-pending answer would be waited for.
    const busyUntil = this.clock.now() + this.p2StarMs;
    for (;;) {
      const bytes = await this.next(timeout, signal);
      let res: UdsResponse;
      try {
        res = decodeResponse(bytes);
      } catch (e) {
        throw new PackscopeError('PROTOCOL', `ECU answered ${serviceName(sid)} with bytes that do not decode: ${(e as Error).message}`);
      }
      if (res.service === 'negative') {
        if (res.sid !== sid) continue; // a late answer to an earlier request
        if (res.nrc === NRC.responsePending) {
          this.pendingSeen++;
          timeout = this.p2StarMs;
          continue;
        }
        if (res.nrc === NRC.busyRepeatRequest && this.clock.now() < busyUntil) {
          this.busySeen++;
          await this.clock.sleep(BUSY_REPEAT_GAP_MS, signal);
          if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
          await send();
          timeout = options.timeoutMs ?? this.p2Ms;
          continue;
        }
        throw new UdsNegativeResponseError(res.sid, res.nrc);
      }
      if (res.service !== req.service) continue;
      // A late answer for another identifier (one an earlier read gave up on) is not this one's.
      const asked: UdsRequest = req;
      if (res.service === 'ReadDataByIdentifier' && asked.service === 'ReadDataByIdentifier' && res.did !== asked.did) continue;
      return res as Extract<UdsPositiveResponse, { service: S }>;
    }
  }

  /**
   * Adopts the ECU's own timing from its DiagnosticSessionControl answer: P2 and P2* (what a
   * response-pending answer promises) never shrink below the client's generous defaults, but an
   * ECU that announces a longer P2* (a slow erase) is waited for that long.
   */
  adoptTiming(p2Ms: number, p2StarMs: number): void {
    // The adapter and USB add latency the ECU's figure does not count: keep a margin.
    this.p2Ms = Math.max(this.p2Ms, p2Ms + 200);
    this.p2StarMs = Math.max(this.p2StarMs, p2StarMs + 500);
  }

  /** Current waits (ms): for the first answer, and after a response-pending answer. */
  get timing(): { p2Ms: number; p2StarMs: number } {
    return { p2Ms: this.p2Ms, p2StarMs: this.p2StarMs };
  }

  /** Sends a request whose response is suppressed (tester present 3E 80). */
  async requestNoResponse(req: UdsRequest, signal?: AbortSignal): Promise<void> {
    await this.iso.send(encodeRequest(req), signal);
  }

  dispose(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }
}
