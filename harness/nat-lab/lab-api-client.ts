/**
 * Runs inside a lab namespace next to a p2psip peer (`ip netns exec <ns> node --import tsx
 * harness/nat-lab/lab-api-client.ts …`) and talks to its HTTP API on the namespace's own loopback:
 *
 *   status <http>                         prints GET /api/status as one JSON line
 *   fetch-random <http> <count> <seed>    Fetches `count` Resource-IDs drawn from `seed` (kind 3,
 *                                         CERTIFICATE_BY_NODE: routed to whichever peer is responsible,
 *                                         answered empty or not), sequentially; prints one JSON line
 *                                         {"ok":n,"failed":n,"errors":[…],"medianMs":n,"maxMs":n}
 */
import { createHash } from 'node:crypto';
import { apiGet } from './api-get.js';

const [mode, http, ...rest] = process.argv.slice(2);

function get(path: string): Promise<{ status: number; body: unknown }> {
  return apiGet(http!, path);
}

async function main(): Promise<void> {
  if (http === undefined) throw new Error('usage: lab-api-client status|fetch-random <http> …');
  if (mode === 'status') {
    const r = await get('/api/status');
    process.stdout.write(`${JSON.stringify(r.body)}\n`);
    return;
  }
  if (mode === 'fetch-random') {
    const count = Number(rest[0] ?? '100');
    const seed = rest[1] ?? 'seed';
    let ok = 0;
    let failed = 0;
    const errors: string[] = [];
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = createHash('sha256').update(`${seed}:${i}`).digest('hex').slice(0, 32);
      const t0 = performance.now();
      let r: { status: number; body: unknown };
      for (let attempt = 0; ; attempt++) {
        r = await get(`/api/storage/fetch?kind=3&id=${id}`).catch((e: unknown) => ({ status: 0, body: String(e) }));
        // the API's overlay-read rate limit (429) is a pause, not a failure
        if (r.status !== 429 || attempt >= 20) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      times.push(performance.now() - t0);
      if (r.status === 200) ok++;
      else {
        failed++;
        if (errors.length < 5) errors.push(`${id}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
    times.sort((a, b) => a - b);
    const median = times.length === 0 ? 0 : times[Math.floor(times.length / 2)]!;
    process.stdout.write(`${JSON.stringify({ ok, failed, errors, medianMs: Math.round(median * 10) / 10, maxMs: Math.round((times.at(-1) ?? 0) * 10) / 10 })}\n`);
    return;
  }
  throw new Error(`unknown mode ${String(mode)}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
