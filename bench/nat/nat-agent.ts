/**
 * The NAT benchmark's agent inside one lab host's namespace, next to its p2psip peer
 * (`ip netns exec <ns> node --import tsx bench/nat/nat-agent.ts <bind> <user> <domain> <proxy host:port> <http>`):
 * a phone (harness/dialog-phone.ts: it answers every INVITE with 180 then 200) registered as
 * `sip:<user>@<domain>` at the peer, and a client of the peer's HTTP API on the namespace's loopback.
 * One long-lived process per host, so that a measurement never waits for a node start.
 *
 * Commands on stdin, one JSON object a line; each answered by one line `reply <id> <json>` (in order,
 * except `status` and `lookup`, answered at once):
 *   {"id":1,"op":"register","user":"u"}                       → {"status":200}  (a new user: a new phone)
 *   {"id":2,"op":"call","target":"sip:u@d","count":n,"timeoutMs":t}
 *                                                             → {"calls":[{"status","ringMs","finalMs","byeStatus","finalLine"}…]}
 *   {"id":3,"op":"status"}                                    → GET /api/status
 *   {"id":5,"op":"lookup","aor":"sip:u@d"}                    → GET /api/lookup (the overlay's registrations of the AoR)
 *   {"id":6,"op":"ping","ids":["hex",…]}                      → {"hops":[…],"ms":[…]}: GET /api/overlay/lookup, a Ping
 *       routed to the peer responsible for each Resource-ID (how many overlay hops it took)
 *   {"id":4,"op":"fetch","ids":["hex",…]}                     → {"timesMs":[…],"failed":n,"errors":[…]}
 *       (sequential Fetches of kind 3, CERTIFICATE_BY_NODE, at those Resource-IDs: routed to the
 *       responsible peer and answered, empty or not)
 * Ends at the end of stdin.
 */
import { DialogPhone } from '../../harness/dialog-phone.js';
import { apiGet as get } from '../../harness/nat-lab/api-get.js';

interface Command {
  readonly id: number;
  readonly op: string;
  readonly target?: string;
  readonly count?: number;
  readonly timeoutMs?: number;
  readonly ids?: readonly string[];
  readonly user?: string;
  readonly aor?: string;
}

interface PhoneRef {
  phone: DialogPhone;
}

function hostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

async function run(ref: PhoneRef, http: string, c: Command): Promise<unknown> {
  const phone = ref.phone;
  switch (c.op) {
    case 'register': {
      if (c.user !== undefined && c.user !== phone.user) {
        ref.phone = await DialogPhone.open(c.user, phone.domain, phone.proxy, phone.host);
        phone.close();
      }
      return { status: await ref.phone.register(600, 15_000).catch(() => 0) };
    }
    case 'ping': {
      const hops: number[] = [];
      const ms: number[] = [];
      for (const id of c.ids ?? []) {
        const r = await get(http, `/api/overlay/lookup?id=${id}`).catch(() => ({ status: 0, body: null }));
        const b = r.body as { ok?: boolean; hops?: number; ms?: number } | null;
        if (r.status === 200 && b?.ok === true && typeof b.hops === 'number') {
          hops.push(b.hops);
          ms.push(b.ms ?? 0);
        }
      }
      return { hops, ms };
    }
    case 'lookup':
      return (await get(http, `/api/lookup?aor=${encodeURIComponent(c.aor ?? '')}`)).body;
    case 'call': {
      const calls: unknown[] = [];
      for (let i = 0; i < (c.count ?? 1); i++) {
        const r = await phone.call(c.target ?? '', c.timeoutMs ?? 15_000).catch((e: unknown) => ({ status: 0, ringMs: undefined, finalMs: 0, byeStatus: undefined, finalLine: String(e) }));
        calls.push({ status: r.status, ringMs: r.ringMs, finalMs: r.finalMs, byeStatus: r.byeStatus, finalLine: r.finalLine });
      }
      return { calls };
    }
    case 'status':
      return (await get(http, '/api/status')).body;
    case 'fetch': {
      const timesMs: number[] = [];
      const errors: string[] = [];
      let failed = 0;
      for (const id of c.ids ?? []) {
        const t0 = performance.now();
        let r: { status: number; body: unknown };
        for (let attempt = 0; ; attempt++) {
          r = await get(http, `/api/storage/fetch?kind=3&id=${id}`).catch((e: unknown) => ({ status: 0, body: String(e) }));
          // the API's overlay-read rate limit (429) is a pause, not a failure
          if (r.status !== 429 || attempt >= 20) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        if (r.status === 200) timesMs.push(performance.now() - t0);
        else {
          failed++;
          if (errors.length < 5) errors.push(`${id}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
      }
      return { timesMs, failed, errors };
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

async function main(): Promise<void> {
  const [bind, user, domain, proxy, http] = process.argv.slice(2);
  if (bind === undefined || user === undefined || domain === undefined || proxy === undefined || http === undefined) {
    throw new Error('usage: nat-agent <bind> <user> <domain> <proxy host:port> <http host:port>');
  }
  const ref: PhoneRef = { phone: await DialogPhone.open(user, domain, hostPort(proxy), bind) };
  process.stdout.write(`ready ${ref.phone.contact}\n`);
  let chain = Promise.resolve();
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line === '') continue;
      const one = async (): Promise<void> => {
        let id = 0;
        try {
          const c = JSON.parse(line) as Command;
          id = c.id;
          process.stdout.write(`reply ${id} ${JSON.stringify(await run(ref, http, c))}\n`);
        } catch (e) {
          process.stdout.write(`reply ${id} ${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
        }
      };
      // calls, registrations and Fetches one at a time, in order; a status is answered at once (it
      // can watch a call in progress)
      if (line.includes('"op":"status"') || line.includes('"op":"lookup"')) void one();
      else chain = chain.then(one);
    }
  });
  process.stdin.on('end', () => {
    void chain.then(() => {
      ref.phone.close();
      process.exit(0);
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
