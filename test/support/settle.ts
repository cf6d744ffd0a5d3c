/**
 * Running an in-memory test world to quiet: the one settle() and advance() of the tests on a
 * ManualClock (SipTestNetwork, OverlaySipWorld, the static registrations' tests, and the
 * simulator runner's `settle` dependency in test/sim).
 */
import type { ManualClock } from '../../src/lib/manual-clock.js';

/** What settle() drives: a network whose queued events `flush()` delivers (MemoryNetwork). */
export interface FlushableNetwork {
  /** Delivers what is queued; returns how many events it delivered. */
  flush(): number;
  /** Events still queued. */
  readonly pending: number;
}

/** Bound on settle(): rounds of flush + microtask turns before it gives up waiting for quiet. */
const ROUNDS = 200;
const MICROTASK_TURNS = 10;

/** One macrotask turn: every pending promise continuation runs first. */
function macrotaskTurn(): Promise<void> {
  return new Promise<void>((r) => setImmediate(r));
}

/**
 * Delivers every queued event of `network` and lets promise continuations run, until nothing
 * moves (and a macrotask turn found nothing new), or after 200 rounds. Without a network: one
 * macrotask turn, so every pending promise continuation has run.
 */
export async function settle(network?: FlushableNetwork): Promise<void> {
  if (network === undefined) return macrotaskTurn();
  for (let i = 0; i < ROUNDS; i++) {
    const moved = network.flush();
    for (let j = 0; j < MICROTASK_TURNS; j++) await Promise.resolve();
    if (moved === 0 && network.pending === 0) {
      await macrotaskTurn();
      if (network.pending === 0) return;
    }
  }
}

/** Advances the virtual clock by `ms` in steps of `step` ms, settling `network` after each step. */
export async function advance(clock: ManualClock, ms: number, step: number, network?: FlushableNetwork): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle(network);
  }
}
