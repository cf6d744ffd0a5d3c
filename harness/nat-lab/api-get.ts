/**
 * GET on a p2psip peer's HTTP API (inside a lab namespace, on its loopback): the status and the body,
 * parsed as JSON when it is JSON, else the text. Bounded: 15 s.
 */
export async function apiGet(http: string, path: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`http://${http}${path}`, { signal: AbortSignal.timeout(15_000) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: r.status, body };
}
