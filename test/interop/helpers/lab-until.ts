/**
 * Polls `check` until it returns a value (the state reached) or `limitMs` passes; a check returns a
 * string describing what it saw instead, and the last one (or the last error thrown) is in the error.
 * For the NAT lab tests, whose checks ask peers in namespaces for their status.
 */
export async function until<T>(what: string, limitMs: number, check: () => Promise<T | string>, intervalMs = 500): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < limitMs) {
    try {
      const v = await check();
      if (typeof v !== 'string') return v;
      last = v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} not reached within ${limitMs} ms${last === undefined ? '' : `: ${String(last)}`}`);
}
