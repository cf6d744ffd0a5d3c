/**
 * Fuzzer of the HTTP API (issue 14): a real server on loopback (platform/http-server.ts) running the
 * real API (node/http-api.ts: guard, storage and status routes) over a stand-in peer (a SipPeer on
 * the in-memory driver with made-up registrations, a fake overlay storage; no overlay, no SIP
 * sockets). Inputs are raw bytes on raw TCP connections, so malformed requests really reach node's
 * parser: valid requests of every route (right and wrong Host, Origin, token, paging, bodies),
 * mutations of them (bit flips, interesting bytes, inserted/deleted/duplicated lines, repeated
 * chunks, truncation, spliced header lines) and random bytes. Seeded; `concurrency` connections at
 * a time; each connection is half-closed after its bytes and must end within `answerTimeoutMs`.
 *
 * Fails on: an exception escaping anywhere in the process (uncaughtException / unhandledRejection),
 * a 500 (a handler threw: caught, but a bug), an answer that is not HTTP, a connection not ended in
 * time, or a health check (GET /api/status, every `healthEvery` inputs) not answered 200.
 *
 * Run by scripts/fuzz.ts (`npm run fuzz -- --only http`).
 */
import { connect } from 'node:net';
import { SeededRandom } from '../src/lib/random.js';
import { TextMutator } from './fuzz-text-mutator.js';
import { createHttpApi } from '../src/node/http-api.js';
import { startHttpServer } from '../src/platform/http-server.js';
import { SystemClock } from '../src/platform/system-clock.js';
import { fakeOverlayStorage } from '../test/support/node/fake-overlay-storage.js';
import { fakeStatusSource } from '../test/support/node/fake-status-source.js';

/** Default number of inputs of `npm run fuzz -- --only http` (about a minute on a quiet machine). */
export const DEFAULT_HTTP_FUZZ_COUNT = 400_000;
const MAX_INPUT = 70_000;
const TOKEN = 'f0'.repeat(32);

export interface HttpFuzzOptions {
  /** Connections in flight at once (default 8). */
  concurrency?: number;
  /** A connection must be ended by the server this long after its bytes (default 5000 ms). */
  answerTimeoutMs?: number;
  /** GET /api/status after every this many inputs (default 50). */
  healthEvery?: number;
}

const INTERESTING = Buffer.from(' \t\r\n:;,<>"\\%[]@=?&/#0912*.-+~\x00\x7f\xff\xc3');

class HttpMutator extends TextMutator {
  constructor(r: SeededRandom) {
    super(r, { interesting: INTERESTING, maxInput: MAX_INPUT, maxRandomLength: 4000, maxRepeat: 2000, rounds: 'mostly-one' });
  }

  protected override extraEdits(): number {
    return 1;
  }

  /** The request line's target: a new, possibly hostile one. */
  protected override extraEdit(_i: number, b: Buffer): Buffer {
    const text = b.toString('latin1');
    const sp = text.indexOf(' ');
    const sp2 = text.indexOf(' ', sp + 1);
    return sp > 0 && sp2 > sp ? Buffer.from(text.slice(0, sp + 1) + this.target() + text.slice(sp2), 'latin1') : b;
  }

  /** A request target: a route with random parameters, or something the URL parser may refuse. */
  target(): string {
    const hex = (n: number): string => Buffer.from(this.r.bytes(n)).toString('hex');
    const word = (): string =>
      this.int(8) === 0
        ? this.pick(['%00', '%zz', 'a'.repeat(this.int(3000)), '-1', '1e9', '999999999999', '\u00e9', '%E9', '%C3%A9', 'sip:%0d%0a@x'])
        : this.pick(['bob', 'sip:bob@p2psip.local', 'alice%40x', '', '0', '5', '150', hex(16)]);
    switch (this.int(14)) {
      case 0:
        return this.pick(['//[', 'http://[', '//a:b:c', '//x:99999', '*', 'example.com:80', 'http://127.0.0.1/api/status', '/%', '/..%2f..%2fetc/passwd', '']);
      case 1:
        return `/api/status?offset=${word()}&limit=${word()}`;
      case 2:
        return `/api/lookup?aor=${word()}`;
      case 3:
        return `/api/overlay/lookup?id=${this.int(2) === 0 ? hex(16) : word()}`;
      case 4:
        return `/api/storage/${this.pick(['store', 'fetch', 'stat', 'held', 'replay', 'nope'])}?kind=${this.pick(['1', '2', '3', '99', '-1', '4294967296', word()])}&${this.int(2) === 0 ? `name=${word()}` : `id=${this.int(2) === 0 ? hex(16) : word()}`}&value=${word()}&lifetime=${word()}&index=${word()}&key=${word()}&at=${this.int(2) === 0 ? hex(16) : word()}`;
      case 5:
        return `/?${Array.from({ length: this.int(200) }, (_, i) => `p${i}=${i}`).join('&')}`;
      case 6:
        return `/${'a/'.repeat(this.int(3000))}`;
      default:
        return this.pick(['/', '/api/status', '/api/storage', '/api/lookup?aor=sip:bob@p2psip.local', '/favicon.ico', '/api/status?limit=5']);
    }
  }
}

/** The valid requests the mutations start from. */
function seedRequests(port: number, mut: HttpMutator, n: number): Buffer[] {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `evil.example:${port}`, `127.0.0.1:${port + 1}`, ''];
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    // mostly requests node's parser accepts, so that the guard and the routes get them
    const method = mut.int(4) === 0 ? mut.pick(['HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'FROB']) : mut.pick(['GET', 'GET', 'POST']);
    const version = mut.int(10) === 0 ? mut.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/0.9']) : 'HTTP/1.1';
    const h: string[] = [];
    const host = mut.int(3) === 0 ? mut.pick(hosts) : hosts[0]!;
    if (host !== '') h.push(`Host: ${host}`);
    if (mut.int(3) === 0) h.push(`Origin: ${mut.pick([`http://127.0.0.1:${port}`, 'http://evil.example', 'null', `http://localhost:${port}`])}`);
    if (mut.int(2) === 0) h.push(`Authorization: ${mut.pick([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`, 'Bearer nope', `Basic ${TOKEN}`, 'Bearer'])}`);
    if (mut.int(5) === 0) h.push(`Sec-Fetch-Site: ${mut.pick(['cross-site', 'same-origin', 'none'])}`);
    if (mut.int(4) === 0) h.push(`Accept: application/json`, `User-Agent: fuzz/${i}`);
    let body = '';
    const bodyKind = mut.int(10);
    if (bodyKind === 0) {
      body = JSON.stringify({ aor: 'sip:bob@p2psip.local', n: i });
      h.push(`Content-Length: ${body.length}`, 'Content-Type: application/json');
    } else if (bodyKind === 1) {
      body = `5\r\nhello\r\n0\r\n\r\n`;
      h.push('Transfer-Encoding: chunked');
    } else if (bodyKind === 2) {
      h.push(`Content-Length: ${mut.pick(['100000000', '-1', '0x10', '10, 20', '1'])}`);
      body = 'x'.repeat(mut.int(50));
    }
    out.push(Buffer.from(`${method} ${mut.target()} ${version}\r\n${h.join('\r\n')}${h.length > 0 ? '\r\n' : ''}\r\n${body}`, 'latin1'));
  }
  return out;
}

interface Exchange {
  answer: string;
  timedOut: boolean;
}

function exchange(port: number, bytes: Buffer, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ answer: got, timedOut });
    };
    const t = setTimeout(() => finish(true), timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      if (got.length < 4096) got += d;
    });
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    s.end(bytes);
  });
}

interface Failure {
  what: string;
  input: string;
}

/** Runs `count` HTTP inputs from `seed`; prints a summary and failures; true when none failed. */
export async function fuzzHttp(count: number, seed: number, options: HttpFuzzOptions = {}): Promise<boolean> {
  const concurrency = options.concurrency ?? 8;
  const answerTimeoutMs = options.answerTimeoutMs ?? 5000;
  const healthEvery = options.healthEvery ?? 50;
  const started = Date.now();
  const failures: Failure[] = [];
  const escaped = (e: unknown): void => {
    failures.push({ what: `exception escaped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, input: '' });
  };
  process.on('uncaughtException', escaped);
  process.on('unhandledRejection', escaped);
  const clock = new SystemClock();
  const api = createHttpApi(
    {
      clock,
      status: fakeStatusSource({ aors: 300, contacts: 2, statics: 5, clock, describeAor: (aor) => Promise.resolve({ resourceId: aor.length.toString(16), registrations: [] }) }),
      storage: fakeOverlayStorage(),
    },
    { token: TOKEN },
  );
  const server = await startHttpServer('127.0.0.1', 0, (m, u, req) => api.handle(m, u, req), {
    logger: { warn: (obj, msg) => failures.length < 100 && msg === 'HTTP handler failed' && failures.push({ what: `${msg}: ${JSON.stringify(obj).slice(0, 300)}`, input: '' }) },
  });
  api.bind(server.host, server.port);
  const r = new SeededRandom(seed);
  const mut = new HttpMutator(r);
  const corpus = seedRequests(server.port, mut, 400);
  const statuses = new Map<string, number>();
  let healthChecks = 0;
  let timedOut = 0;
  let bytesSent = 0;

  const health = async (): Promise<void> => {
    healthChecks++;
    const h = await exchange(server.port, Buffer.from(`GET /api/status?limit=1 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`), answerTimeoutMs);
    if (!/^HTTP\/1\.1 200 /.test(h.answer)) failures.push({ what: `health check failed: ${JSON.stringify(h.answer.slice(0, 200))}${h.timedOut ? ' (timed out)' : ''}`, input: '' });
  };

  const one = async (input: Buffer): Promise<void> => {
    bytesSent += input.length;
    const x = await exchange(server.port, input, answerTimeoutMs);
    const code = /^HTTP\/1\.[01] (\d{3}) /.exec(x.answer)?.[1];
    const key = x.timedOut ? 'timeout' : code ?? (x.answer === '' ? 'closed' : 'not-http');
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (x.timedOut) timedOut++;
    if (x.timedOut || key === 'not-http' || code === '500') {
      failures.push({ what: `${key}: ${JSON.stringify(x.answer.slice(0, 200))}`, input: input.toString('base64').slice(0, 2000) });
    }
  };

  try {
    for (let i = 0; i < count && failures.length < 20; ) {
      const batch: Buffer[] = [];
      for (let k = 0; k < concurrency && i < count; k++, i++) {
        const kind = mut.int(20);
        batch.push(kind === 0 ? mut.randomBytes() : kind < 8 ? mut.pick(corpus) : mut.mutate(mut.pick(corpus), corpus));
      }
      await Promise.all(batch.map(one));
      if (Math.floor(i / healthEvery) !== Math.floor((i - batch.length) / healthEvery)) await health();
    }
    await health();
  } finally {
    await server.close();
    process.off('uncaughtException', escaped);
    process.off('unhandledRejection', escaped);
  }
  const wall = (Date.now() - started) / 1000;
  const hist = [...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${v}`).join(' ');
  console.log(
    `fuzz http: seed ${seed}, ${count} inputs (${(bytesSent / 1e6).toFixed(1)} MB) over raw TCP to a real server running the API, ` +
      `${concurrency} at a time, ${healthChecks} health checks (GET /api/status), answers ${hist}, ${timedOut} timeouts, ${failures.length} failures, ${wall.toFixed(1)} s`,
  );
  for (const f of failures.slice(0, 5)) console.error(`FAIL ${f.what}${f.input === '' ? '' : `\n  input (base64): ${f.input}`}`);
  return failures.length === 0;
}
