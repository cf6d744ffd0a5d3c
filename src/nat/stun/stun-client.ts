/**
 * STUN client transactions over an unreliable transport (RFC 8489 §6.2.1), sans-I/O: the clock,
 * the random source and the datagram sender are injected; received datagrams are handed in.
 *
 * - A request is sent at 0, RTO, 3·RTO, 7·RTO … (doubling) until `maxTransmissions` (Rc, 7 by
 *   default) have gone; then the client waits `lastWaitFactor`·RTO (Rm, 16) more and the
 *   transaction times out. ICE checks and TURN refreshes pass their own, shorter, schedules.
 * - A response matches by transaction ID only when it comes back from the address the request went
 *   to (a response from elsewhere is ignored: RFC 8445 §7.2.5.2.1 makes that a failure, and for the
 *   other users it is a spoofing attempt) and when the caller's `accept` (integrity) admits it.
 * - The RTT is measured only for a response to an unretransmitted request (Karn).
 * - At most `maxPending` transactions at once: more are refused at once (outcome 'refused').
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { sameIp } from '../../lib/ip.js';
import type { Random } from '../../lib/random.js';
import { encodeStun, transactionKey } from './stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute, StunEncodeOptions } from './stun-message.js';

export interface StunClientDeps {
  clock: Clock;
  random: Random;
  send(datagram: Uint8Array, to: StunAddress): void;
}

export interface StunClientLimits {
  /** Transactions in flight at once (default 1,024). */
  maxPending?: number;
}

export interface StunRequestOptions extends StunEncodeOptions {
  /** First retransmission timeout (default 500 ms, RFC 8489 §6.2.1). */
  rtoMs?: number;
  /** Transmissions in all (Rc, default 7). */
  maxTransmissions?: number;
  /** Wait after the last transmission, in RTOs (Rm, default 16). */
  lastWaitFactor?: number;
  /** Decides whether a matching response counts (integrity, say); a refused one is ignored. */
  accept?(response: DecodedStun): boolean;
  /**
   * Takes the response from any source (RFC 5780 CHANGE-REQUEST: the server answers from its
   * alternate address). Default false: only from the address the request went to.
   */
  anySource?: boolean;
  /**
   * The transaction ID to use (12 bytes, fresh from a Random) instead of drawing one: attributes that
   * are XOR-ed with it (an IPv6 XOR-PEER-ADDRESS, RFC 8489 §14.2) need it before the request is built.
   */
  transactionId?: Uint8Array;
}

export type StunOutcome =
  | { kind: 'response'; response: DecodedStun; from: StunAddress; rttMs: number | undefined; transmissions: number }
  | { kind: 'timeout'; transmissions: number }
  | { kind: 'cancelled' }
  | { kind: 'refused'; reason: string };

export interface StunTransaction {
  readonly transactionId: Uint8Array;
  readonly outcome: Promise<StunOutcome>;
  cancel(): void;
}

interface Pending {
  readonly to: StunAddress;
  readonly bytes: Uint8Array;
  readonly opts: StunRequestOptions;
  readonly firstSentAt: number;
  transmissions: number;
  rto: number;
  timer: TimerHandle | undefined;
  done(o: StunOutcome): void;
}

export class StunClient {
  private readonly pendingTx = new Map<string, Pending>();
  private readonly maxPending: number;
  private stopped = false;

  constructor(
    private readonly deps: StunClientDeps,
    limits: StunClientLimits = {},
  ) {
    this.maxPending = limits.maxPending ?? 1024;
  }

  /** Sends a request; the outcome settles once (response, timeout, cancel or refusal). */
  request(method: number, attributes: StunAttribute[], to: StunAddress, opts: StunRequestOptions = {}): StunTransaction {
    const transactionId = opts.transactionId ?? this.deps.random.bytes(12);
    const key = transactionKey(transactionId);
    let resolve!: (o: StunOutcome) => void;
    const outcome = new Promise<StunOutcome>((r) => (resolve = r));
    if (this.stopped || this.pendingTx.size >= this.maxPending || this.pendingTx.has(key)) {
      const reason = this.stopped ? 'STUN client stopped' : this.pendingTx.has(key) ? 'transaction ID already in use' : `${this.maxPending} STUN transactions already pending`;
      resolve({ kind: 'refused', reason });
      return { transactionId, outcome, cancel: () => undefined };
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeStun({ method, cls: 'request', transactionId, attributes }, opts);
    } catch (e) {
      resolve({ kind: 'refused', reason: e instanceof Error ? e.message : String(e) });
      return { transactionId, outcome, cancel: () => undefined };
    }
    const p: Pending = {
      to,
      bytes,
      opts,
      firstSentAt: this.deps.clock.now(),
      transmissions: 0,
      rto: opts.rtoMs ?? 500,
      timer: undefined,
      done: (o) => {
        if (p.timer !== undefined) p.timer.cancel();
        p.timer = undefined;
        if (this.pendingTx.get(key) === p) this.pendingTx.delete(key);
        resolve(o);
      },
    };
    this.pendingTx.set(key, p);
    this.transmit(p);
    return { transactionId, outcome, cancel: () => p.done({ kind: 'cancelled' }) };
  }

  /**
   * A decoded success or error response received from `from`. True when it settled a transaction
   * of ours (the caller stops looking at it), false otherwise.
   */
  receive(msg: DecodedStun, from: StunAddress): boolean {
    if (msg.cls !== 'success' && msg.cls !== 'error') return false;
    const p = this.pendingTx.get(transactionKey(msg.transactionId));
    if (p === undefined) return false;
    if (p.opts.anySource !== true && (p.to.port !== from.port || !sameIp(p.to.host, from.host))) return false;
    if (p.opts.accept !== undefined && !p.opts.accept(msg)) return false;
    const rttMs = p.transmissions === 1 ? this.deps.clock.now() - p.firstSentAt : undefined;
    p.done({ kind: 'response', response: msg, from, rttMs, transmissions: p.transmissions });
    return true;
  }

  /** True when `tid` is one of ours in flight (for demultiplexing). */
  has(tid: Uint8Array): boolean {
    return this.pendingTx.has(transactionKey(tid));
  }

  pending(): number {
    return this.pendingTx.size;
  }

  /** Cancels every transaction; later requests are refused. */
  stop(): void {
    this.stopped = true;
    for (const p of [...this.pendingTx.values()]) p.done({ kind: 'cancelled' });
  }

  private transmit(p: Pending): void {
    p.transmissions++;
    this.deps.send(p.bytes, p.to);
    const max = p.opts.maxTransmissions ?? 7;
    if (p.transmissions >= max) {
      const wait = p.rto * (p.opts.lastWaitFactor ?? 16);
      p.timer = this.deps.clock.setTimer(wait, () => p.done({ kind: 'timeout', transmissions: p.transmissions }));
      return;
    }
    const wait = p.rto * 2 ** (p.transmissions - 1);
    p.timer = this.deps.clock.setTimer(wait, () => this.transmit(p));
  }
}
