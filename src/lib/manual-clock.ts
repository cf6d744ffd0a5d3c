import type { Clock, TimerHandle } from './clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A virtual clock for tests and the simulator: time moves only when `advance()` or
 * `runUntilIdle()` is called, and timers fire in (time, registration) order.
 * A binary heap keeps it usable with many thousands of timers.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: Pending[] = [];
  /** Cancelled timers still in the heap; compacted away when they are many (the simulator cancels most timers). */
  private cancelledInHeap = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.push(p);
    return {
      cancel: () => {
        if (p.cancelled) return;
        p.cancelled = true;
        this.cancelledInHeap++;
        if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
      },
    };
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Drops cancelled timers (their callbacks would otherwise stay reachable until their time). */
  private compact(): void {
    const live = this.heap.filter((p) => !p.cancelled);
    this.heap = [];
    this.cancelledInHeap = 0;
    for (const p of live) this.push(p);
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > target) break;
      this.pop();
      if (top.cancelled) {
        this.cancelledInHeap--;
        continue;
      }
      top.cancelled = true; // fired: a later cancel() is a no-op
      this.current = top.at;
      top.fn();
    }
    this.current = target;
  }

  /** Fires timers until none is left or `limitMs` of virtual time has passed. */
  runUntilIdle(limitMs = 24 * 3600 * 1000): void {
    const end = this.current + limitMs;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > end) break;
      this.pop();
      if (top.cancelled) {
        this.cancelledInHeap--;
        continue;
      }
      top.cancelled = true; // fired: a later cancel() is a no-op
      this.current = top.at;
      top.fn();
    }
  }

  private less(a: Pending, b: Pending): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pi = h[parent]!;
      if (!this.less(p, pi)) break;
      h[i] = pi;
      i = parent;
    }
    h[i] = p;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < h.length && this.less(h[l]!, best)) {
        m = l;
        best = h[l]!;
      }
      if (r < h.length && this.less(h[r]!, best)) {
        m = r;
        best = h[r]!;
      }
      if (m === i) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}
