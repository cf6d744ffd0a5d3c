import type { Clock, TimerHandle } from '../../lib/clock.js';

/**
 * The named timers of one transaction (A, B, D, …) on the injected Clock. Setting a name again
 * replaces its timer; `cancelAll` leaves nothing behind on termination.
 */
export class TimerSlots<N extends string> {
  private readonly handles = new Map<N, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  set(name: N, delayMs: number, fn: () => void): void {
    this.cancel(name);
    const handle = this.clock.setTimer(delayMs, () => {
      if (this.handles.get(name) !== handle) return;
      this.handles.delete(name);
      fn();
    });
    this.handles.set(name, handle);
  }

  cancel(name: N): void {
    const h = this.handles.get(name);
    if (h === undefined) return;
    h.cancel();
    this.handles.delete(name);
  }

  has(name: N): boolean {
    return this.handles.has(name);
  }

  cancelAll(): void {
    for (const h of this.handles.values()) h.cancel();
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}
