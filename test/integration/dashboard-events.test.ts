/**
 * The dashboard's live stream over real HTTP (issue 17):
 * - the platform server carrying the SSE core on real sockets: events arrive as they are published,
 *   a client that goes away is forgotten at once, a client that stops reading is dropped once its
 *   bounded queue is full (the peer never buffers for it without bound), the request timeout does
 *   not cut a long stream, and closing the server ends every stream;
 * - a real `p2psip up`: GET /api/events gets the `registration` event of a phone's REGISTER and the
 *   periodic `summary`, past its client limit the next stream gets 503, and stopping the peer ends
 *   the streams.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startHttpServer, type RunningHttpServer } from '../../src/platform/http-server.js';
import { SystemClock } from '../../src/platform/system-clock.js';
import { DEFAULT_EVENT_STREAM_LIMITS, EventStreamHub } from '../../src/node/dashboard/event-stream.js';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

interface SseEvent {
  event: string;
  data: string;
}

/** A minimal EventSource over node's http client: parses `event:`/`data:` blocks as they arrive. */
class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  ended = false;
  private buf = '';
  private res: IncomingMessage | undefined;
  private readonly req: ReturnType<typeof request>;

  private constructor(url: string, headers: Record<string, string>, opened: (c: SseClient) => void) {
    this.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      this.res = res;
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (d: string) => this.feed(d));
      res.on('end', () => (this.ended = true));
      res.on('close', () => (this.ended = true));
      res.on('error', () => (this.ended = true));
      opened(this);
    });
    this.req.on('error', () => (this.ended = true));
    this.req.end();
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve) => new SseClient(url, headers, resolve));
  }

  private feed(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const ev: SseEvent = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
        else if (line.startsWith(':') || line.startsWith('retry:') || line.startsWith('id:')) continue;
      }
      if (ev.data !== '') this.events.push(ev);
    }
  }

  /** Waits (bounded) for an event matching `pred`. */
  async waitFor(what: string, pred: (e: SseEvent) => boolean, limitMs = 10_000): Promise<SseEvent> {
    let found: SseEvent | undefined;
    await until(what, limitMs, () => ((found = this.events.find(pred)) === undefined ? `${this.events.length} events: ${this.events.map((e) => e.event).join(' ')}` : undefined), { intervalMs: 20 });
    return found!;
  }

  close(): void {
    this.res?.destroy();
    this.req.destroy();
  }
}

describe('SSE on the platform HTTP server (real sockets)', () => {
  let server: RunningHttpServer;
  let hub: EventStreamHub;
  let closedCalls = 0;
  const warnings: string[] = [];
  const clock = new SystemClock();

  before(async () => {
    hub = new EventStreamHub({ clock }, { maxClients: 4, maxQueuedBytes: 128 * 1024, heartbeatMs: 100 });
    server = await startHttpServer(
      '127.0.0.1',
      0,
      async (_method, url) => {
        if (url.pathname === '/throws') {
          // a stream whose start() throws: the reply ends, closed() still comes once, the server goes on
          return { status: 200, body: '', contentType: 'text/event-stream', stream: { start: () => { throw new Error('boom'); }, drained: () => undefined, closed: () => void closedCalls++ } };
        }
        const o = hub.open();
        if (!o.ok) return { status: 503, body: '{"error":"full"}', contentType: 'application/json' };
        return { status: 200, body: o.first, contentType: 'text/event-stream', stream: o.stream };
      },
      // a short request timeout: a stream must outlive it (the request is complete, the reply goes on)
      { limits: { requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 300 }, logger: { warn: (_o, msg) => void warnings.push(msg) } },
    );
  });
  after(async () => {
    hub.close();
    await server.close();
  });

  test('events arrive as published; heartbeats keep a stream open past the request timeout; a client that leaves is forgotten', async () => {
    const c = await SseClient.open(`http://127.0.0.1:${server.port}/`);
    assert.equal(c.status, 200);
    await until('the stream is registered', 2000, () => (hub.clientCount === 1 ? undefined : `${hub.clientCount} clients`), { intervalMs: 10 });
    hub.publish('hello', { n: 1 });
    assert.equal((await c.waitFor('hello', (e) => e.event === 'hello')).data, '{"n":1}');
    // well past requestTimeoutMs (300 ms): the stream is still open and still delivers
    const beats = hub.stats.eventsSent;
    const opened = Date.now();
    await until('1 s of stream', 5000, () => (c.ended ? 'ended' : Date.now() - opened >= 1000 ? undefined : 'waiting'), { intervalMs: 50 });
    hub.publish('later', { n: 2 });
    await c.waitFor('later', (e) => e.event === 'later');
    assert.equal(c.ended, false);
    assert.ok(hub.stats.eventsSent > beats);
    c.close();
    await until('the server forgets the client', 2000, () => (hub.clientCount === 0 ? undefined : `${hub.clientCount} clients`), { intervalMs: 10 });
    assert.equal(hub.stats.closedByClient, 1);
  });
  test('past maxClients the next stream is refused; a client that stops reading is dropped when its queue is full', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => SseClient.open(`http://127.0.0.1:${server.port}/`)));
    await until('4 streams', 2000, () => (hub.clientCount === 4 ? undefined : `${hub.clientCount}`), { intervalMs: 10 });
    const refused = await SseClient.open(`http://127.0.0.1:${server.port}/`);
    assert.equal(refused.status, 503);
    refused.close();
    for (const c of clients) c.close();
    await until('0 streams', 2000, () => (hub.clientCount === 0 ? undefined : `${hub.clientCount}`), { intervalMs: 10 });

    // a raw client that sends its request and never reads: kernel buffers fill, then our queue, then the drop
    const stalled: Socket = connect(server.port, '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    stalled.pause();
    await until('the stalled stream is open', 2000, () => (hub.clientCount === 1 ? undefined : `${hub.clientCount}`), { intervalMs: 10 });
    // a reading client beside it keeps up and stays
    const reader = await SseClient.open(`http://127.0.0.1:${server.port}/`);
    await until('both streams open', 2000, () => (hub.clientCount === 2 ? undefined : `${hub.clientCount}`), { intervalMs: 10 });
    const payload = { blob: 'z'.repeat(32 * 1024) };
    let published = 0;
    // one event per turn of the event loop, so the sockets flush between them; bounded: 64 MB at most
    while (hub.stats.droppedSlow === 0 && published < 2048) {
      hub.publish('bulk', payload);
      published++;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(hub.stats.droppedSlow, 1, `dropped after ${published} events of 32 KiB`);
    console.log(`# stalled client dropped after ${published} events of 32 KiB (${Math.round((published * 32) / 1024)} MiB offered)`);
    assert.ok(published > 8, 'more than its own queue (128 KiB) went out: the kernel buffers filled first');
    assert.equal(hub.clientCount, 1, 'the reading client stays');
    await reader.waitFor('the reader got every bulk event', (e) => e.event === 'bulk' && reader.events.filter((x) => x.event === 'bulk').length === published, 10_000);
    reader.close();
    stalled.destroy();
  });

  test('a stream that throws in start() ends its reply (logged), is told closed() once, and the server keeps serving', async () => {
    const c = await SseClient.open(`http://127.0.0.1:${server.port}/throws`);
    await until('the broken stream ends', 2000, () => (c.ended ? undefined : 'open'), { intervalMs: 10 });
    await until('closed() called', 2000, () => (closedCalls === 1 ? undefined : `${closedCalls}`), { intervalMs: 10 });
    assert.ok(warnings.some((w) => /start\(\) failed/.test(w)), warnings.join(' | '));
    const ok = await SseClient.open(`http://127.0.0.1:${server.port}/`);
    assert.equal(ok.status, 200);
    ok.close();
    assert.equal(closedCalls, 1);
  });

  test('closing the server ends every open stream', async () => {
    const c = await SseClient.open(`http://127.0.0.1:${server.port}/`);
    await until('stream open', 2000, () => (hub.clientCount === 1 ? undefined : `${hub.clientCount}`), { intervalMs: 10 });
    hub.close();
    await until('the client sees the end', 2000, () => (c.ended ? undefined : 'open'), { intervalMs: 10 });
    assert.equal(hub.clientCount, 0);
  });
});

describe('GET /api/events of a real p2psip up', { timeout: 120_000 }, () => {
  let peer: PeerProcess;
  before(async () => {
    peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'info']);
  });
  after(async () => {
    await peer.stop('SIGKILL', true);
  });

  test("a phone's REGISTER arrives as a registration event, summaries follow; /api/dashboard has the log tail", async () => {
    const c = await SseClient.open(`http://${peer.http}/api/events`);
    assert.equal(c.status, 200);
    const sip = peer.sip.get('udp')!;
    const phone = await SipPhoneProbe.open('alice', sip, 'p2psip.local');
    try {
      assert.match(await phone.register(600), /^SIP\/2\.0 200/);
      const reg = JSON.parse((await c.waitFor('registration event', (e) => e.event === 'registration')).data) as Record<string, unknown>;
      assert.equal(reg['aor'], 'sip:alice@p2psip.local');
      assert.equal(reg['action'], 'added');
      assert.match(String(reg['contact']), new RegExp(`sip:alice@127\\.0\\.0\\.1:${phone.udp.port}`));
      const summary = JSON.parse((await c.waitFor('a summary after the REGISTER', (e) => e.event === 'summary' && (JSON.parse(e.data) as { totals: { registrations: number } }).totals.registrations === 1)).data) as {
        sample: { at: number };
        totals: { sipRequests: number };
      };
      assert.ok(summary.totals.sipRequests >= 1, 'the REGISTER counted');
      const status = (await (await fetch(`http://${peer.http}/api/status`)).json()) as { localRegistrationsTotal: number };
      assert.equal(status.localRegistrationsTotal, 1);
      const d = (await (await fetch(`http://${peer.http}/api/dashboard`)).json()) as { log: { lines: Array<{ msg: string }> }; history: unknown[] };
      assert.ok(d.log.lines.some((l) => l.msg === 'overlay state'), `the start-up lines are in the tail: ${d.log.lines.map((l) => l.msg).join(' | ')}`);
      assert.ok(d.history.length >= 1);
    } finally {
      phone.udp.close();
      c.close();
    }
  });

  test(`past ${DEFAULT_EVENT_STREAM_LIMITS.maxClients} streams the next gets 503; stopping the peer ends the streams`, async () => {
    const url = `http://${peer.http}/api/events`;
    const clients = await Promise.all(Array.from({ length: DEFAULT_EVENT_STREAM_LIMITS.maxClients }, () => SseClient.open(url)));
    try {
      assert.deepEqual([...new Set(clients.map((c) => c.status))], [200]);
      const refused = await fetch(url, { signal: AbortSignal.timeout(5000) });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.equal(await peer.stop('SIGTERM', false), 0);
      await until('every stream ended', 5000, () => {
        const open = clients.filter((c) => !c.ended).length;
        return open === 0 ? undefined : `${open} open`;
      });
    } finally {
      for (const c of clients) c.close();
    }
  });
});
