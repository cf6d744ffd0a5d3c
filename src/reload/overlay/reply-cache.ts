import type { Clock } from '../../lib/clock.js';
import type { MessageContents } from '../codec/index.js';

/**
 * Answers already given, by transaction ID, so a retransmitted request gets the same answer
 * (RFC 6940 §6.2.1: "semantically equivalent responses ... within the maximum request lifetime
 * (15 seconds)"). Bounded: the oldest entry goes first.
 *
 * Requests still being answered are remembered too ({@link begin}): a retransmission that arrives
 * while the first copy waits (a Store waiting for its replica) is not handled a second time — that
 * stored the value twice and answered the copy "data too old" with the same storage time, which could
 * reach the requester first and tell it a write had failed that had succeeded. The retransmission is
 * dropped; the first copy's answer, or the cached one for a later retransmission, serves it.
 */
export class ReplyCache {
  private readonly map = new Map<bigint, { at: number; contents: MessageContents; extraCertificates: readonly Uint8Array[] | undefined }>();
  /** Transaction IDs being answered, with when they began (bounded like the answers). */
  private readonly pending = new Map<bigint, number>();

  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs: number,
    private readonly max: number,
  ) {}

  get(tid: bigint): { contents: MessageContents; extraCertificates: readonly Uint8Array[] | undefined } | undefined {
    const e = this.map.get(tid);
    if (e === undefined) return undefined;
    if (this.clock.now() - e.at > this.lifetimeMs) {
      this.map.delete(tid);
      return undefined;
    }
    return e;
  }

  /**
   * Marks `tid` as being answered. False when it already is (a retransmission of a request in
   * progress, not older than the lifetime): the caller drops it. Past `max` requests in progress the
   * oldest is forgotten (its retransmissions are then handled again, as before this existed).
   */
  begin(tid: bigint): boolean {
    const now = this.clock.now();
    const since = this.pending.get(tid);
    if (since !== undefined && now - since <= this.lifetimeMs) return false;
    this.pending.delete(tid);
    this.pending.set(tid, now);
    for (const [k, at] of this.pending) {
      if (this.pending.size <= this.max && now - at <= this.lifetimeMs) break;
      this.pending.delete(k);
    }
    return true;
  }

  /** `tid` is no longer being answered (its answer was {@link set}, or handling it failed). */
  end(tid: bigint): void {
    this.pending.delete(tid);
  }

  /** Requests being answered now. */
  get inProgress(): number {
    return this.pending.size;
  }

  /** Answers kept (some may be past their lifetime until the next `set` or `get` drops them). */
  get size(): number {
    return this.map.size;
  }

  set(tid: bigint, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): void {
    this.pending.delete(tid);
    this.map.delete(tid);
    // kept 15 s: an exact-size copy (an array grown by push has room for 17)
    const extra = extraCertificates === undefined || extraCertificates.length === 0 ? undefined : extraCertificates.slice();
    this.map.set(tid, { at: this.clock.now(), contents, extraCertificates: extra });
    const now = this.clock.now();
    for (const [k, v] of this.map) {
      if (this.map.size <= this.max && now - v.at <= this.lifetimeMs) break;
      this.map.delete(k);
    }
  }
}
