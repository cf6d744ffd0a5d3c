import type { Clock, TimerHandle } from '../../lib/clock.js';

/**
 * The named timers of one transaction (A, B, D, …) on the injected Clock. Setting a name again
 * replaces its timer; `cancelAll` leaves nothing behind on termination.
 */
export class TimerSlots<N extends string> {
  /** Made on the first timer and dropped when the last one goes: most transactions spend most of their life with none. */
  private handles: Map<N, TimerHandle> | undefined;

  constructor(private readonly clock: Clock) {}

  set(name: N, delayMs: number, fn: () => void): void {
    this.cancel(name);
    const handle = this.clock.setTimer(delayMs, () => {
      if (this.handles?.get(name) !== handle) return;
      this.forget(name);
      fn();
    });
    (this.handles ??= new Map()).set(name, handle);
  }

  cancel(name: N): void {
    const h = this.handles?.get(name);
    if (h === undefined) return;
    h.cancel();
    this.forget(name);
  }

  has(name: N): boolean {
    return this.handles?.has(name) ?? false;
  }

  cancelAll(): void {
    for (const h of this.handles?.values() ?? []) h.cancel();
    this.handles = undefined;
  }

  get size(): number {
    return this.handles?.size ?? 0;
  }

  private forget(name: N): void {
    this.handles?.delete(name);
    if (this.handles?.size === 0) this.handles = undefined;
  }
}
