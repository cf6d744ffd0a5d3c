/**
 * Polls `check` until it returns undefined (the state reached) or `limitMs` passes, and resolves with
 * the milliseconds it took. A check returns what it saw instead; the last of these is in the error.
 * A wait for real processes on real sockets to reach a state, not a sleep standing in for it.
 * `retryOnError`: a check that throws counts as not reached (its message is what it saw).
 */
export async function until(
  what: string,
  limitMs: number,
  check: () => string | undefined | Promise<string | undefined>,
  opts: { intervalMs?: number; retryOnError?: boolean } = {},
): Promise<number> {
  const t0 = Date.now();
  let last: string | undefined = 'not checked';
  while (Date.now() - t0 < limitMs) {
    try {
      last = await check();
    } catch (e) {
      if (opts.retryOnError !== true) throw e;
      last = String(e);
    }
    if (last === undefined) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  throw new Error(`${what} not reached within ${limitMs} ms: ${last}`);
}
