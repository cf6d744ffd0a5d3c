/**
 * The congestion window of the SR sender (RFC 6940 §6.6.3: "The sender algorithm used MUST meet the
 * requirements of [RFC5405]", now RFC 8085 §3.1), counted in messages (data frames) in flight:
 * - slow start from `initialWindow` up to `ssthresh` (+1 per message ACKed), then additive increase,
 *   +1 per window of ACKs (one per RTT) — and only while the window limits the sender (RFC 7661: an
 *   application-limited sender does not grow a window it does not use);
 * - a loss seen in an ACK bitmask halves the window (at most once per window of data, as TCP's fast
 *   recovery, RFC 5681 §3.2);
 * - a retransmission timeout is taken as congestion (RFC 8085 §3.1.1: timer expiry MUST adapt the rate
 *   to a safe, conservative one): ssthresh = half, window = 1 (RFC 5681 §3.1), at most once per window.
 * The window never leaves [1, maxWindow]. Sans-I/O: the sender numbers its transmissions, this class
 * remembers which ones were sent before the last reduction.
 */
export class SrCongestionWindow {
  private cwnd: number;
  private threshold: number;
  /** Transmissions numbered at or below this were sent before the last reduction: their losses do not reduce again. */
  private recoverPoint = -1;
  /** Reductions by kind (stats). */
  lossReductions = 0;
  timeoutReductions = 0;

  constructor(
    initialWindow: number,
    private readonly maxWindow: number,
  ) {
    this.cwnd = initialWindow;
    this.threshold = maxWindow;
  }

  /** Messages that may be in flight now. */
  get window(): number {
    return Math.max(1, Math.floor(this.cwnd));
  }

  /** The exact window (fractional during additive increase). */
  get cwndExact(): number {
    return this.cwnd;
  }

  get ssthresh(): number {
    return this.threshold;
  }

  /** `acked` messages newly acknowledged; `limited`: the window was full when they were. */
  onAck(acked: number, limited: boolean): void {
    if (!limited || acked <= 0) return;
    for (let i = 0; i < acked; i++) {
      if (this.cwnd < this.threshold) this.cwnd += 1;
      else this.cwnd += 1 / this.cwnd;
    }
    if (this.cwnd > this.maxWindow) this.cwnd = this.maxWindow;
  }

  /**
   * A transmission (numbered `tx`) was lost, seen from an ACK bitmask; `highestTx` is the newest
   * transmission sent so far. Returns true when the window was halved.
   */
  onLoss(tx: number, highestTx: number): boolean {
    if (tx <= this.recoverPoint) return false;
    this.recoverPoint = highestTx;
    this.threshold = Math.max(2, this.cwnd / 2);
    this.cwnd = Math.max(1, this.cwnd / 2);
    this.lossReductions++;
    return true;
  }

  /** The retransmission timer of transmission `tx` expired. Returns true when the window was collapsed. */
  onTimeout(tx: number, highestTx: number): boolean {
    if (tx <= this.recoverPoint) return false;
    this.recoverPoint = highestTx;
    this.threshold = Math.max(2, this.cwnd / 2);
    this.cwnd = 1;
    this.timeoutReductions++;
    return true;
  }
}
