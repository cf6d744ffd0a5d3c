import type { Clock } from '../../lib/clock.js';
import type { MessageContents } from '../codec/index.js';

/**
 * Answers already given, by transaction ID, so a retransmitted request gets the same answer
 * (RFC 6940 §6.2.1: "semantically equivalent responses ... within the maximum request lifetime
 * (15 seconds)"). Bounded: the oldest entry goes first.
 */
export class ReplyCache {
  private readonly map = new Map<bigint, { at: number; contents: MessageContents; extraCertificates: readonly Uint8Array[] | undefined }>();

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

  set(tid: bigint, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): void {
    this.map.delete(tid);
    this.map.set(tid, { at: this.clock.now(), contents, extraCertificates });
    const now = this.clock.now();
    for (const [k, v] of this.map) {
      if (this.map.size <= this.max && now - v.at <= this.lifetimeMs) break;
      this.map.delete(k);
    }
  }
}
