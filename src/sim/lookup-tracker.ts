import { onArc, toHex, type RingOracle } from './ring-oracle.js';
import type { SimLookupResult } from './sim-peer.js';
import { mean, quantile, type SimRunStats } from './sim-stats.js';

interface Change {
  readonly at: number;
  readonly hex: string;
}

/**
 * Issues nothing itself: records lookups the runner issues and classifies their outcomes against
 * the ring oracle (success = the responsible peer at issue or at completion answered).
 */
export class LookupTracker {
  attempted = 0;
  done = 0;
  private succeeded = 0;
  private failed = 0;
  private failedNearChurn = 0;
  private abandoned = 0;
  private readonly reasons = new Map<string, number>();
  private readonly hops: number[] = [];
  private readonly latencies: number[] = [];
  private changes: Change[] = [];
  private changesHead = 0;

  constructor(
    private readonly oracle: RingOracle,
    private readonly graceMs: number,
    private readonly keepMs: number,
  ) {}

  /** A peer joined or departed at `at`. */
  noteChange(at: number, hex: string): void {
    this.changes.push({ at, hex });
    while (this.changesHead < this.changes.length && this.changes[this.changesHead]!.at < at - this.keepMs) this.changesHead++;
    if (this.changesHead > 1024 && this.changesHead * 2 > this.changes.length) {
      this.changes = this.changes.slice(this.changesHead);
      this.changesHead = 0;
    }
  }

  /** Records the issue of a lookup; returns the key's responsible Node-ID now. */
  issue(key: Uint8Array): string | undefined {
    this.attempted++;
    return this.oracle.responsible(toHex(key));
  }

  abandon(): void {
    this.done++;
    this.abandoned++;
  }

  /** Classifies the outcome of a lookup issued at `issuedAt` for `key` (hex) expecting `expected`. */
  complete(key: string, expected: string | undefined, issuedAt: number, now: number, result: SimLookupResult): void {
    this.done++;
    if (result.ok) {
      const got = toHex(result.responder);
      if (got === expected || got === this.oracle.responsible(key)) {
        this.succeeded++;
        this.hops.push(result.hops);
        this.latencies.push(now - issuedAt);
        return;
      }
    }
    const reason = result.ok ? 'wrong-responder' : result.reason;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (this.nearChurn(key, issuedAt - this.graceMs, now)) this.failedNearChurn++;
    else this.failed++;
  }

  /** Whether a membership change in [from, to] moved responsibility for `key`. */
  private nearChurn(key: string, from: number, to: number): boolean {
    const resp = this.oracle.responsible(key);
    for (let i = this.changes.length - 1; i >= this.changesHead; i--) {
      const c = this.changes[i]!;
      if (c.at > to) continue;
      if (c.at < from) break;
      // A joined X took the key iff X is now first clockwise from it; a departed X had it iff it
      // lay between the key and today's responsible peer.
      if (resp === undefined || onArc(c.hex, key, resp)) return true;
    }
    return false;
  }

  summary(): Pick<SimRunStats, 'lookups' | 'hops' | 'latencyMs'> {
    const hops = [...this.hops].sort((a, b) => a - b);
    const lat = [...this.latencies].sort((a, b) => a - b);
    const denominator = this.attempted - this.abandoned;
    return {
      lookups: {
        attempted: this.attempted,
        succeeded: this.succeeded,
        failed: this.failed,
        failedNearChurn: this.failedNearChurn,
        abandoned: this.abandoned,
        successRate: denominator > 0 ? this.succeeded / denominator : 0,
        failureReasons: Object.fromEntries([...this.reasons].sort(([a], [b]) => (a < b ? -1 : 1))),
      },
      hops: { mean: mean(hops), median: quantile(hops, 0.5), p99: quantile(hops, 0.99) },
      latencyMs: { mean: mean(lat), p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99) },
    };
  }
}
