import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { OverlayAnswer } from './overlay-types.js';

interface Pending {
  resolve: (a: OverlayAnswer) => void;
  timer: TimerHandle;
  transmissions: number;
  limit: number;
  retransmit: () => void;
  /** The link its latest transmission left on (undefined: not sent on a link). */
  via: string | undefined;
}

/**
 * Requests this node originated (RFC 6940 §6.2.1): matched to answers by transaction ID; the
 * request is sent again with the same ID each time the overlay-reliability-timer fires, and fails
 * after `maxTransmissions`. Bounded by `max` (beyond it a request fails at once).
 */
export class PendingRequests {
  private readonly map = new Map<bigint, Pending>();

  constructor(
    private readonly clock: Clock,
    private readonly timerMs: number,
    private readonly maxTransmissions: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  has(tid: bigint): boolean {
    return this.map.has(tid);
  }

  /**
   * Tracks a request; `send` transmits it (called now and on each retransmission) and returns the id
   * of the link the transmission left on, if any (see {@link rerouteFrom}). `timerMs` and
   * `transmissions` override the defaults for this request (e.g. a join Attach may wait less).
   */
  start(tid: bigint, send: () => string | undefined | void, opts: { timerMs?: number; transmissions?: number } = {}): Promise<OverlayAnswer> {
    return new Promise((resolve) => {
      if (this.map.size >= this.max) {
        resolve({ ok: false, errorCode: 0, info: `too many requests in progress (${this.max})`, responder: undefined, hops: 0 });
        return;
      }
      const wait = opts.timerMs ?? this.timerMs;
      const limit = opts.transmissions ?? this.maxTransmissions;
      const p: Pending = {
        resolve,
        transmissions: 1,
        limit,
        timer: undefined as unknown as TimerHandle,
        via: undefined,
        retransmit: () => {
          if (p.transmissions >= limit) {
            this.map.delete(tid);
            resolve({ ok: false, errorCode: 0, info: `no answer after ${limit} transmission(s)`, responder: undefined, hops: 0 });
            return;
          }
          p.transmissions++;
          p.timer = this.clock.setTimer(wait, p.retransmit);
          p.via = send() ?? undefined;
        },
      };
      p.timer = this.clock.setTimer(wait, p.retransmit);
      this.map.set(tid, p);
      p.via = send() ?? undefined;
    });
  }

  /**
   * The link `linkId` failed or became suspect: every request whose latest transmission left on it
   * (and that has transmissions left) is sent again now, so routing picks another way, instead of
   * waiting out its reliability timer for an answer that will not come. Returns how many.
   */
  rerouteFrom(linkId: string): number {
    let n = 0;
    for (const [tid, p] of this.map) {
      if (p.via !== linkId) continue;
      p.via = undefined;
      // a zero timer, not a send from inside the link's event: the link layer finishes its own work first
      if (this.retrySoon(tid, 0)) n++;
    }
    return n;
  }

  /**
   * Brings the next transmission of a request forward to `delayMs` from now, when it has
   * transmissions left; false otherwise (the caller then finishes it).
   */
  retrySoon(tid: bigint, delayMs: number): boolean {
    const p = this.map.get(tid);
    if (p === undefined || p.transmissions >= p.limit) return false;
    p.timer.cancel();
    p.timer = this.clock.setTimer(delayMs, p.retransmit);
    return true;
  }

  /** Completes a request with its answer; false when it is unknown (late or foreign). */
  finish(tid: bigint, answer: OverlayAnswer): boolean {
    const p = this.map.get(tid);
    if (p === undefined) return false;
    this.map.delete(tid);
    p.timer.cancel();
    p.resolve(answer);
    return true;
  }

  /** Fails every request (shutdown). */
  failAll(info: string): void {
    for (const [tid, p] of this.map) {
      this.map.delete(tid);
      p.timer.cancel();
      p.resolve({ ok: false, errorCode: 0, info, responder: undefined, hops: 0 });
    }
  }
}
