import type { Clock, TimerHandle } from '../../lib/clock.js';

/** A transaction waiting out a wait timer (D, I, J, K, L or M) that ends it. */
export interface Lingering {
  /** The wait is over: the transaction ends (unless it ended already). */
  lingerExpired(): void;
}

/**
 * The wait timers of RFC 3261 §17 and RFC 6026 (D, I, J, K, L, M) of every transaction, on one clock
 * timer per distinct delay. They only end their transaction, and each has a fixed delay (64·T1, T4,
 * 32 s), so the transactions waiting with one delay end in the order they began to wait: a FIFO with
 * a timer for its head replaces a timer (and its closure) per transaction — issue 18: at 100 calls/s
 * about 3,200 calls wait out Timer L/M/J at any time, and their two timers each were ~0.6 KB of it.
 * A transaction that ends before its wait is over says so (`leave`): its entry is dropped at its turn,
 * and a queue with nothing left waiting stops its timer.
 */
export class LingerQueue {
  private readonly fifos = new Map<number, Fifo>();

  constructor(private readonly clock: Clock) {}

  /** `item` ends `delayMs` from now. An item waits in one queue at a time. */
  add(item: Lingering, delayMs: number): void {
    const delay = delayMs > 0 ? delayMs : 0;
    let fifo = this.fifos.get(delay);
    if (fifo === undefined) {
      fifo = new Fifo();
      this.fifos.set(delay, fifo);
    }
    fifo.push(item, this.clock.now() + delay);
    if (fifo.timer === undefined) this.arm(delay, fifo, delay);
  }

  /** `item`, waiting with `delayMs`, ended before its time: it is not called, and holds no timer. */
  leave(item: Lingering, delayMs: number): void {
    const delay = delayMs > 0 ? delayMs : 0;
    const fifo = this.fifos.get(delay);
    if (fifo === undefined || !fifo.drop(item)) return;
    if (fifo.live === 0) this.discard(delay, fifo);
  }

  /** Items waiting, every delay together. */
  get size(): number {
    let n = 0;
    for (const f of this.fifos.values()) n += f.live;
    return n;
  }

  /** Forgets every waiting item and stops every timer (nothing is called). */
  clear(): void {
    for (const f of this.fifos.values()) f.timer?.cancel();
    this.fifos.clear();
  }

  private arm(delay: number, fifo: Fifo, inMs: number): void {
    fifo.timer = this.clock.setTimer(inMs, () => {
      fifo.timer = undefined;
      const now = this.clock.now();
      // everything due now, in the order it began to wait; an item's end may add new items (later ones)
      for (let next = fifo.peekDue(); next !== undefined && next <= now; next = fifo.peekDue()) fifo.shift()?.lingerExpired();
      const due = fifo.peekDue();
      if (due === undefined) this.discard(delay, fifo);
      else if (fifo.timer === undefined) this.arm(delay, fifo, due - now);
    });
  }

  private discard(delay: number, fifo: Fifo): void {
    fifo.timer?.cancel();
    fifo.timer = undefined;
    if (this.fifos.get(delay) === fifo) this.fifos.delete(delay);
  }
}

/** Items in the order they were added, with their due times; dropped items leave a hole until their turn. */
class Fifo {
  timer: TimerHandle | undefined;
  live = 0;
  private items: (Lingering | undefined)[] = [];
  private due: number[] = [];
  private head = 0;
  /** Index of each live item (an item is in at most one place). */
  private readonly where = new Map<Lingering, number>();

  push(item: Lingering, dueAt: number): void {
    this.drop(item);
    this.where.set(item, this.items.length);
    this.items.push(item);
    this.due.push(dueAt);
    this.live++;
  }

  drop(item: Lingering): boolean {
    const i = this.where.get(item);
    if (i === undefined) return false;
    this.where.delete(item);
    this.items[i] = undefined;
    this.live--;
    return true;
  }

  /** Due time of the first live item, skipping holes. */
  peekDue(): number | undefined {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
    this.compact();
    return this.head < this.items.length ? this.due[this.head] : undefined;
  }

  shift(): Lingering | undefined {
    if (this.peekDue() === undefined) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    this.where.delete(item);
    this.live--;
    return item;
  }

  /** Drops the consumed prefix once it is most of the arrays (indexes in `where` shift with it). */
  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.items.length) return;
    const cut = this.head;
    this.items = this.items.slice(cut);
    this.due = this.due.slice(cut);
    this.head = 0;
    for (const [item, i] of this.where) this.where.set(item, i - cut);
  }
}
