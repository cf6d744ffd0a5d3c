/**
 * RFC 6298 §2 retransmission-timeout estimator, as RFC 6940 §6.6.3.1 and §6.6.5 use it: RTT samples
 * come from the framing ACKs, the RTO is rounded up to the millisecond (not the second), and on
 * TLS/TCP it is never used to retransmit, only to decide when a link is suspect.
 */
export interface RtoOptions {
  /** RTO before the first sample (RFC 6298 (2.1): 1 s). Default 1000 ms. */
  initialRtoMs?: number;
  /** Lower bound (RFC 6298 (2.4) says 1 s; RFC 6940 §6.6.3.1 allows less). Default 1000 ms. */
  minRtoMs?: number;
  /** Upper bound (RFC 6298 (2.5): at least 60 s). Default 60000 ms. */
  maxRtoMs?: number;
  /** Clock granularity G of RFC 6298 (2.2). Default 1 ms. */
  granularityMs?: number;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RtoEstimator {
  private srtt: number | undefined;
  private rttvar = 0;
  private current: number;
  private last: number | undefined;
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly g: number;

  constructor(options: RtoOptions = {}) {
    this.minRto = options.minRtoMs ?? 1000;
    this.maxRto = options.maxRtoMs ?? 60_000;
    this.g = options.granularityMs ?? 1;
    this.current = this.clamp(options.initialRtoMs ?? 1000);
  }

  /** Adds one RTT measurement (ms, ≥ 0): RFC 6298 (2.2) for the first, (2.3) for later ones. */
  sample(rttMs: number): void {
    const r = Number.isFinite(rttMs) && rttMs > 0 ? rttMs : 0;
    this.last = r;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    this.current = this.clamp(this.srtt + Math.max(this.g, K * this.rttvar));
  }

  /** Current RTO in whole milliseconds. */
  get rtoMs(): number {
    return this.current;
  }

  /** Smoothed RTT, undefined before the first sample. */
  get srttMs(): number | undefined {
    return this.srtt;
  }

  get rttvarMs(): number {
    return this.rttvar;
  }

  /** The latest sample, undefined before the first. */
  get lastRttMs(): number | undefined {
    return this.last;
  }

  private clamp(ms: number): number {
    return Math.min(this.maxRto, Math.max(this.minRto, Math.ceil(ms)));
  }
}
