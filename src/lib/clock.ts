/** A cancellable timer registered on a {@link Clock}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time as protocol code sees it. Protocol cores never call Date.now() or setTimeout():
 * they receive a Clock, so the same code runs on real timers (platform/) and on a
 * virtual clock (tests, simulator).
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (origin unspecified). */
  now(): number;
  /** Runs `fn` once after `delayMs` milliseconds (clamped to >= 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}
