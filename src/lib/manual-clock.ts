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
 * A binary heap keeps scheduling O(log n) with millions of timers; its keys live in typed arrays
 * (cache-friendly sifting); cancelled timers are compacted away when they are the majority.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  /** Heap order: keys (due time, registration number) in typed arrays, the timers alongside. */
  private keyAt = new Float64Array(256);
  private keySeq = new Float64Array(256);
  private items: (Pending | undefined)[] = [];
  private size = 0;
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
    return this.size - this.cancelledInHeap;
  }

  /** Number of timer callbacks run so far. */
  get firedCount(): number {
    return this.fired;
  }

  /** When the earliest live timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    while (this.size > 0) {
      const top = this.items[0]!;
      if (!top.cancelled) return top.at;
      this.pop();
      this.cancelledInHeap--;
    }
    return undefined;
  }

  /** @internal Called by a timer's cancel(). */
  noteCancelled(): void {
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.size) this.compact();
  }

  /** Drops cancelled timers (O(n) rebuild: bottom-up heapify). */
  private compact(): void {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      const p = this.items[i]!;
      if (p.cancelled) continue;
      this.items[n] = p;
      this.keyAt[n] = p.at;
      this.keySeq[n] = p.seq;
      n++;
    }
    for (let i = n; i < this.size; i++) this.items[i] = undefined;
    this.items.length = n;
    this.size = n;
    this.cancelledInHeap = 0;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
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
    while (this.size > 0 && this.keyAt[0]! <= end) {
      const top = this.items[0]!;
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
    if (this.size === this.keyAt.length) {
      const at = new Float64Array(this.size * 2);
      at.set(this.keyAt);
      this.keyAt = at;
      const sq = new Float64Array(this.size * 2);
      sq.set(this.keySeq);
      this.keySeq = sq;
    }
    const ka = this.keyAt;
    const ks = this.keySeq;
    const items = this.items;
    let i = this.size++;
    const at = p.at;
    const seq = p.seq;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = ka[parent]!;
      if (!(at < pa || (at === pa && seq < ks[parent]!))) break;
      ka[i] = pa;
      ks[i] = ks[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    ka[i] = at;
    ks[i] = seq;
    items[i] = p;
  }

  /** Removes the top. */
  private pop(): void {
    const last = --this.size;
    if (last > 0) {
      this.keyAt[0] = this.keyAt[last]!;
      this.keySeq[0] = this.keySeq[last]!;
      this.items[0] = this.items[last];
      this.items[last] = undefined;
      this.siftDown(0);
    } else {
      this.items[0] = undefined;
    }
  }

  private siftDown(start: number): void {
    const ka = this.keyAt;
    const ks = this.keySeq;
    const items = this.items;
    const n = this.size;
    const at = ka[start]!;
    const seq = ks[start]!;
    const item = items[start];
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      let ma = ka[l]!;
      let ms = ks[l]!;
      if (r < n) {
        const ra = ka[r]!;
        if (ra < ma || (ra === ma && ks[r]! < ms)) {
          m = r;
          ma = ra;
          ms = ks[r]!;
        }
      }
      if (!(ma < at || (ma === at && ms < seq))) break;
      ka[i] = ma;
      ks[i] = ms;
      items[i] = items[m];
      i = m;
    }
    ka[i] = at;
    ks[i] = seq;
    items[i] = item;
  }
}
