/**
 * The one start/stop contract of stateful parts, and periodic work on the injected Clock (so the
 * simulator and fake-clock tests see it too; no setInterval in protocol code).
 */
import type { Clock, TimerHandle } from './clock.js';

/**
 * A stateful part: `start()` before use (it may resolve with what it started, e.g. bound addresses),
 * `stop()` releases its timers, sockets and subscriptions. Both are safe to call twice.
 */
export interface Lifecycle {
  start(): void | Promise<unknown>;
  stop(): void | Promise<void>;
}

/**
 * Runs `task` every `periodMs` on `clock` between start() and stop(). A task that throws is
 * reported to `onError` and the schedule goes on; a task still running (async) when the next
 * period comes is not started twice.
 */
export class PeriodicTask implements Lifecycle {
  private timer: TimerHandle | undefined;
  private running = false;
  private busy = false;

  constructor(
    private readonly clock: Clock,
    readonly periodMs: number,
    private readonly task: () => void | Promise<unknown>,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    if (!(periodMs > 0)) throw new RangeError(`period must be positive, got ${periodMs}`);
  }

  get started(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.periodMs, () => {
      if (!this.running) return;
      this.schedule();
      this.runOnce();
    });
  }

  private runOnce(): void {
    if (this.busy) return;
    let r: void | Promise<unknown>;
    try {
      r = this.task();
    } catch (e) {
      this.onError(e);
      return;
    }
    if (r instanceof Promise) {
      this.busy = true;
      r.catch(this.onError).finally(() => {
        this.busy = false;
      });
    }
  }
}
