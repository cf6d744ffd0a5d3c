/**
 * Consent freshness (RFC 7675) on the selected pair, which is also ICE's keepalive (RFC 8445 §11,
 * RFC 6940 §6.5.1.10.3): a consent check every `intervalMs` randomised to ±`jitter` (5 s ± 20 %, so
 * 4–6 s, §5.1), consent lost when no check has been answered for `timeoutMs` (30 s). Sans-I/O: the
 * owner sends the check (`probe`) and says when an authenticated answer came back (`granted`).
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';

export interface ConsentFreshnessOptions {
  /** Mean time between consent checks (default 5,000 ms). */
  intervalMs?: number;
  /** Randomisation of each interval, as a fraction (default 0.2: 0.8–1.2 × interval). */
  jitter?: number;
  /** Consent expires this long after the last answer (default 30,000 ms). */
  timeoutMs?: number;
}

export const DEFAULT_CONSENT: Required<ConsentFreshnessOptions> = { intervalMs: 5_000, jitter: 0.2, timeoutMs: 30_000 };

export interface ConsentFreshnessDeps {
  clock: Clock;
  random: Random;
  /** Sends one consent check (the owner cancels the previous one if it is still in flight). */
  probe(): void;
  /** Consent expired: no answer for `silentMs`. Called once; nothing runs after it. */
  lost(silentMs: number): void;
}

export type ConsentState = 'idle' | 'granted' | 'lost' | 'stopped';

export class ConsentFreshness {
  private readonly o: Required<ConsentFreshnessOptions>;
  private tick: TimerHandle | undefined;
  private expiry: TimerHandle | undefined;
  private lastGranted = 0;
  private current: ConsentState = 'idle';

  constructor(
    private readonly deps: ConsentFreshnessDeps,
    options: ConsentFreshnessOptions = {},
  ) {
    this.o = { ...DEFAULT_CONSENT, ...options };
    if (!(this.o.intervalMs > 0) || !(this.o.timeoutMs > 0) || !(this.o.jitter >= 0 && this.o.jitter < 1)) {
      throw new RangeError('consent freshness: intervalMs and timeoutMs must be > 0, jitter in [0, 1)');
    }
  }

  get state(): ConsentState {
    return this.current;
  }

  /** Time of the last answer (or of `start()`). */
  get lastGrantedAt(): number {
    return this.lastGranted;
  }

  /** Consent is granted now (ICE just succeeded on the pair); checks start. */
  start(): void {
    if (this.current !== 'idle') return;
    this.current = 'granted';
    this.granted();
    this.scheduleTick();
  }

  /** An authenticated answer to a consent check arrived: consent is fresh again. */
  granted(): void {
    if (this.current !== 'granted') return;
    this.lastGranted = this.deps.clock.now();
    this.expiry?.cancel();
    this.expiry = this.deps.clock.setTimer(this.o.timeoutMs, () => this.expire());
  }

  stop(): void {
    if (this.current === 'granted' || this.current === 'idle') this.current = 'stopped';
    this.cancelTimers();
  }

  private scheduleTick(): void {
    const f = 1 - this.o.jitter + 2 * this.o.jitter * this.deps.random.float();
    this.tick = this.deps.clock.setTimer(this.o.intervalMs * f, () => {
      this.tick = undefined;
      if (this.current !== 'granted') return;
      this.deps.probe();
      if (this.current === 'granted') this.scheduleTick();
    });
  }

  private expire(): void {
    this.expiry = undefined;
    if (this.current !== 'granted') return;
    this.current = 'lost';
    this.cancelTimers();
    this.deps.lost(this.deps.clock.now() - this.lastGranted);
  }

  private cancelTimers(): void {
    this.tick?.cancel();
    this.tick = undefined;
    this.expiry?.cancel();
    this.expiry = undefined;
  }
}
