/**
 * Keeps one TURN relay for a peer that cannot do without it (issue 12: a peer behind a router that
 * blocks UDP reaches other peers' SIP only through a relay it holds over TCP). `attempt` obtains one
 * (credentials from a TURN peer, then the Allocate); when it gets none, or the relay is lost later (a
 * refresh failed, the TCP connection closed), it tries again after `retryMs[0]`, then `retryMs[1]`, …,
 * the last delay repeating — so a peer with no TURN peer in reach asks once a minute by default, never
 * in a loop. Sans-I/O: the clock is injected; what an attempt does is the owner's.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';

/** What the keeper holds: an allocation it can release and that says when it is lost. */
export interface KeptRelay {
  onLost(fn: (reason: string) => void): void;
  stop(): Promise<void>;
}

export interface TurnRelayKeeperOptions {
  /** Delays before the next attempt after a failed one or a loss, ms; the last repeats (default 5 s, 30 s, 60 s). */
  retryMs?: readonly number[];
}

export interface TurnRelayKeeperStats {
  attempts: number;
  allocations: number;
  losses: number;
  /** Why there is no relay now (the last failure or loss), if there is none. */
  problem: string | null;
  /** How long until the next attempt, ms, if one is scheduled. */
  nextAttemptInMs: number | null;
}

export class TurnRelayKeeper<R extends KeptRelay> {
  private relay: R | undefined;
  private timer: TimerHandle | undefined;
  private nextAt: number | undefined;
  private stopped = false;
  private failures = 0;
  private running: Promise<void> | undefined;
  private readonly retryMs: readonly number[];
  private readonly counts = { attempts: 0, allocations: 0, losses: 0 };
  private why: string | undefined;

  constructor(
    private readonly clock: Clock,
    /** One attempt; `fail` records why it found no relay. */
    private readonly attempt: (fail: (reason: string) => void) => Promise<R | undefined>,
    options: TurnRelayKeeperOptions = {},
  ) {
    this.retryMs = options.retryMs ?? [5_000, 30_000, 60_000];
    if (this.retryMs.length === 0 || this.retryMs.some((d) => !Number.isFinite(d) || d < 0)) throw new RangeError('TurnRelayKeeper: retryMs must be delays >= 0, at least one');
  }

  /** The relay held now, if any. */
  get current(): R | undefined {
    return this.relay;
  }

  stats(): TurnRelayKeeperStats {
    return { ...this.counts, problem: this.relay === undefined ? (this.why ?? null) : null, nextAttemptInMs: this.nextAt === undefined ? null : Math.max(0, Math.round(this.nextAt - this.clock.now())) };
  }

  /** The first attempt; resolves when it is over (with a relay or a retry scheduled). */
  start(): Promise<void> {
    return this.run();
  }

  /** No more attempts; the relay held is released (one an attempt in flight still gets is released when it comes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.nextAt = undefined;
    const r = this.relay;
    this.relay = undefined;
    await r?.stop().catch(() => undefined);
  }

  private run(): Promise<void> {
    if (this.stopped || this.running !== undefined || this.relay !== undefined) return this.running ?? Promise.resolve();
    this.timer = undefined;
    this.nextAt = undefined;
    const p = this.once().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async once(): Promise<void> {
    this.counts.attempts++;
    let reason = 'no relay obtained';
    const r = await this.attempt((why) => {
      reason = why;
    }).catch((e: unknown) => {
      reason = e instanceof Error ? e.message : String(e);
      return undefined;
    });
    if (this.stopped) {
      await r?.stop().catch(() => undefined);
      return;
    }
    if (r === undefined) {
      this.why = reason;
      this.schedule();
      return;
    }
    this.relay = r;
    this.failures = 0;
    this.why = undefined;
    this.counts.allocations++;
    r.onLost((lost) => {
      if (this.relay !== r) return;
      this.relay = undefined;
      this.counts.losses++;
      this.why = `relay lost: ${lost}`;
      if (!this.stopped) this.schedule();
    });
  }

  private schedule(): void {
    const delay = this.retryMs[Math.min(this.failures, this.retryMs.length - 1)]!;
    this.failures++;
    this.nextAt = this.clock.now() + delay;
    this.timer = this.clock.setTimer(delay, () => void this.run());
  }
}
