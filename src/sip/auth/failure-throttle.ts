/**
 * Failed digest answers counted per source network (an IPv4 address, an IPv6 /64: lib/ip sourceNetwork),
 * in fixed windows: past `maxFailures` in `windowMs` a source is answered 403 without the verifier being
 * asked until its window ends. The verifier is an overlay round trip; without this bound the SIP front
 * would turn each guessed password into overlay work (an amplifier) and allow unlimited guessing.
 * Bounded: at most `maxSources` sources are tracked, the one whose window began first forgotten first.
 */
import { sourceNetwork } from '../../lib/ip.js';

interface Window {
  start: number;
  failures: number;
}

export interface FailureThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxSources: number;
}

export class FailureThrottle {
  private readonly sources = new Map<string, Window>();

  constructor(private readonly o: FailureThrottleOptions) {
    if (!(Number.isInteger(o.maxFailures) && o.maxFailures >= 1)) throw new RangeError('FailureThrottle: maxFailures must be an integer >= 1');
    if (!(o.windowMs > 0)) throw new RangeError('FailureThrottle: windowMs must be positive');
    if (!(Number.isInteger(o.maxSources) && o.maxSources >= 1)) throw new RangeError('FailureThrottle: maxSources must be an integer >= 1');
  }

  get size(): number {
    return this.sources.size;
  }

  /** True while `host` has used up its failures for the current window. */
  blocked(host: string, now: number): boolean {
    const w = this.sources.get(keyOf(host));
    return w !== undefined && now - w.start < this.o.windowMs && w.failures >= this.o.maxFailures;
  }

  /** Counts one failure of `host`. */
  fail(host: string, now: number): void {
    const key = keyOf(host);
    const w = this.sources.get(key);
    if (w !== undefined && now - w.start < this.o.windowMs) {
      w.failures++;
      return;
    }
    // a new window: (re)inserted last, so the map's first entry is the oldest window
    this.sources.delete(key);
    while (this.sources.size >= this.o.maxSources) {
      const oldest = this.sources.keys().next();
      if (oldest.done === true) break;
      this.sources.delete(oldest.value);
    }
    this.sources.set(key, { start: now, failures: 1 });
  }
}

function keyOf(host: string): string {
  return sourceNetwork(host) ?? host.toLowerCase();
}
