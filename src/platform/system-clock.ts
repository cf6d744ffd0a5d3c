import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../lib/clock.js';

/** The real clock: performance.now() and setTimeout(), unref'd so timers never keep a process alive. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }
}
