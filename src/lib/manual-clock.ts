import type { Clock, TimerHandle } from './clock.js';

/** A registered timer; it is its own handle (one object per timer, no closure). */
class Pending implements TimerHandle {
  cancelled = false;

  constructor(
    private readonly owner: ManualClock,
    readonly at: number,
    readonly seq: number,
    public fn: (() => void) | undefined,
  ) {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.fn = undefined; // release what the callback holds at once
    this.owner.noteCancelled();
  }
}

/**
 * A virtual clock for tests and the simulator: time moves only when `advance()` or
 * `runUntilIdle()` is called, and timers fire in (time, registration) order.
 * A binary heap keeps scheduling O(log n) with millions of timers; cancelled timers are
 * compacted away when they are the majority.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: Pending[] = [];
  /** Cancelled timers still in the heap; compacted away when they are many (the simulator cancels most timers). */
  private cancelledInHeap = 0;
  private fired = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const d = delayMs > 0 ? delayMs : 0;
    const p = new Pending(this, this.current + d, this.seq++, fn);
    this.push(p);
    return p;
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Number of timer callbacks run so far. */
  get firedCount(): number {
    return this.fired;
  }

  /** When the earliest live timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (!top.cancelled) return top.at;
      this.pop();
      this.cancelledInHeap--;
    }
  }

  /** @internal Called by a timer's cancel(). */
  noteCancelled(): void {
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
  }

  /** Drops cancelled timers (O(n) rebuild: bottom-up heapify). */
  private compact(): void {
    const live = this.heap.filter((p) => !p.cancelled);
    this.heap = live;
    this.cancelledInHeap = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + Math.max(0, ms));
  }

  /** Moves time forward to `time` (never backwards), firing every timer due at or before it. */
  advanceTo(time: number): void {
    const target = Math.max(this.current, time);
    this.fireUntil(target);
    this.current = target;
  }

  /** Fires timers until none is left or `limitMs` of virtual time has passed. */
  runUntilIdle(limitMs = 24 * 3600 * 1000): void {
    this.fireUntil(this.current + limitMs);
  }

  private fireUntil(end: number): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > end) break;
      this.pop();
      if (top.cancelled) {
        this.cancelledInHeap--;
        continue;
      }
      const fn = top.fn!;
      top.cancelled = true; // fired: a later cancel() is a no-op
      top.fn = undefined;
      this.current = top.at;
      this.fired++;
      fn();
    }
  }

  private push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pi = h[parent]!;
      if (!(p.at < pi.at || (p.at === pi.at && p.seq < pi.seq))) break;
      h[i] = pi;
      i = parent;
    }
    h[i] = p;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[start]!;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      let best = h[l]!;
      if (r < n) {
        const hr = h[r]!;
        if (hr.at < best.at || (hr.at === best.at && hr.seq < best.seq)) {
          m = r;
          best = hr;
        }
      }
      if (!(best.at < item.at || (best.at === item.at && best.seq < item.seq))) break;
      h[i] = best;
      i = m;
    }
    h[i] = item;
  }
}
