/**
 * The dashboard's routes behind the whole HTTP API (issue 17), called as a pure handler: the page
 * and its assets (with a strict Content-Security-Policy, nothing from elsewhere), /api/dashboard,
 * /api/events as a streamed reply within its client limit (503 past it), /api/ping's input checks,
 * the login that trades the token for a session cookie, and close() ending every stream.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { EventHub } from '../../../src/lib/event-hub.js';
import { createHttpApi, LOGIN_API_PATH } from '../../../src/node/http-api.js';
import { createDashboardRoute } from '../../../src/node/dashboard/dashboard-route.js';
import { DASHBOARD_ASSETS } from '../../../src/node/dashboard/dashboard-page.js';
import { SUMMARY_INTERVAL_MS } from '../../../src/node/dashboard/dashboard-feed.js';
import { LogTail } from '../../../src/node/dashboard/log-tail.js';
import type { PeerEventMap } from '../../../src/node/peer-events.js';
import type { PeerRoutesContext } from '../../../src/node/peer-routes-context.js';
import type { ApiStreamSink } from '../../../src/node/status-api.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

const TOKEN = '7e'.repeat(32);

function setup(bindHost = '127.0.0.1') {
  const clock = new ManualClock(0);
  const status = fakeStatusSource({ aors: 2, clock });
  const events = new EventHub<PeerEventMap>();
  const logTail = new LogTail({ now: () => 1_700_000_000_000 });
  const ctx: PeerRoutesContext = {
    clock,
    logger: { info: () => undefined, warn: () => undefined },
    status,
    events,
    sip: status.peer,
    sipAddresses: () => [],
    overlay: undefined,
    sipUsage: undefined,
    domain: 'p2psip.local',
    httpAddress: () => ({ host: bindHost, port: 8060 }),
    logTail,
  };
  const route = createDashboardRoute(ctx, { streams: { maxClients: 2 } });
  const api = createHttpApi({ clock, status, storage: undefined, routes: [route] }, { token: TOKEN });
  api.bind(bindHost, 8060);
  const call = (method: string, path: string, headers: Record<string, string> = {}) => api.handle(method, new URL(`http://127.0.0.1:8060${path}`), { headers: { host: '127.0.0.1:8060', ...headers } });
  return { clock, events, logTail, route, call };
}

/** Starts a streamed reply on a recording sink. */
function startStream(reply: { stream?: { start(s: ApiStreamSink): void; closed(): void } }) {
  const chunks: string[] = [];
  const sink = { ended: false, write: (c: string) => (chunks.push(c), true), end: () => void (sink.ended = true), destroy: () => undefined };
  assert.ok(reply.stream, 'a streamed reply');
  reply.stream.start(sink);
  return { chunks, sink, stream: reply.stream };
}

describe('dashboard route: the page', () => {
  test('GET / is the live page: its script and style come from this peer only, under a strict CSP', async () => {
    const { call } = setup();
    const r = await call('GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/html/);
    assert.match(r.headers!['content-security-policy']!, /default-src 'self'; script-src 'self'/);
    assert.match(r.body, /<script type="module" src="\/dashboard\/app\.js"><\/script>/);
    assert.doesNotMatch(r.body, /https?:\/\/(?!www\.w3\.org)/, 'no URL elsewhere');
    for (const [path, asset] of Object.entries(DASHBOARD_ASSETS)) {
      const a = await call('GET', path);
      assert.equal(a.status, 200, path);
      assert.equal(a.body, asset.body);
      assert.doesNotMatch(a.body, /https?:\/\/(?!www\.w3\.org)/, `${path}: nothing fetched from elsewhere`);
    }
    // the script parses as JavaScript (a module: top-level await-free plain code)
    assert.doesNotThrow(() => new Function(DASHBOARD_ASSETS['/dashboard/app.js']!.body));
    assert.doesNotThrow(() => new Function(DASHBOARD_ASSETS['/dashboard/login.js']!.body));
    const plain = await call('GET', '/plain');
    assert.match(plain.body, /2 registrations/, 'the server-rendered page stays at /plain');
  });

  test('a method other than GET/HEAD on a dashboard path is 405 (with the token)', async () => {
    const { call } = setup();
    const r = await call('POST', '/api/dashboard', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 405);
    assert.equal(r.headers!['allow'], 'GET, HEAD');
  });
});

describe('dashboard route: data', () => {
  test('/api/dashboard: graph history, totals, calls, failures, log tail, stream limits', async () => {
    const { call, clock, events, logTail } = setup();
    logTail.push('warn', { a: 1 }, 'something to see');
    events.emit('call', { callId: 'x1', from: 'sip:a@p2psip.local', to: 'sip:nobody@p2psip.local', state: 'failed', status: 404, reason: 'Not Found' });
    clock.advance(SUMMARY_INTERVAL_MS * 3);
    const d = JSON.parse((await call('GET', '/api/dashboard')).body);
    assert.equal(d.intervalMs, SUMMARY_INTERVAL_MS);
    assert.equal(d.history.length, 3);
    assert.equal(d.totals.registrations, 2);
    assert.deepEqual(d.failures.map((f: { reason: string; status: number }) => [f.status, f.reason]), [[404, 'Not Found']]);
    assert.equal(d.log.lines[0].msg, 'something to see');
    assert.deepEqual(d.links, []);
    assert.deepEqual(d.storageByKind, { kinds: [] });
    assert.equal(d.streams.limits.maxClients, 2);
  });

  test("the page's lookup: 'bob' is bob of this overlay (as when dialling)", async () => {
    const { call } = setup();
    const r = await call('GET', '/api/lookup?aor=bob');
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).aor, 'sip:bob@p2psip.local');
    assert.equal(JSON.parse((await call('GET', '/api/lookup?aor=bob@example.com')).body).aor, 'sip:bob@example.com');
  });

  test('/api/ping without an overlay is 404', async () => {
    const { call } = setup();
    assert.equal((await call('GET', '/api/ping?node=00')).status, 404);
  });
});

describe('dashboard route: /api/events', () => {
  test('a streamed text/event-stream reply: retry first, then the events; past the client limit 503 with Retry-After', async () => {
    const { call, events } = setup();
    const r1 = await call('GET', '/api/events');
    assert.equal(r1.status, 200);
    assert.equal(r1.contentType, 'text/event-stream; charset=utf-8');
    assert.equal(r1.body, 'retry: 3000\n\n');
    const s1 = startStream(r1);
    events.emit('registration', { aor: 'sip:alice@p2psip.local', contact: 'sip:alice@127.0.0.1:5070', expires: 600, action: 'added' });
    assert.equal(s1.chunks.length, 1);
    assert.match(s1.chunks[0]!, /^event: registration\nid: 1\ndata: \{"aor":"sip:alice@p2psip.local"/);
    const r2 = await call('GET', '/api/events');
    assert.equal(r2.status, 200);
    const full = await call('GET', '/api/events');
    assert.equal(full.status, 503);
    assert.equal(full.headers!['retry-after'], '5');
    assert.match(JSON.parse(full.body).error, /too many live dashboards/);
    // the first leaves: room for one more
    s1.stream.closed();
    assert.equal((await call('GET', '/api/events')).status, 200);
    // HEAD answers the head and opens nothing
    const head = await call('HEAD', '/api/events');
    assert.equal(head.stream, undefined);
  });

  test('close() (the peer stops) ends every stream and refuses new ones', async () => {
    const { call, route } = setup();
    const s = startStream(await call('GET', '/api/events'));
    route.close();
    assert.ok(s.sink.ended);
    assert.equal((await call('GET', '/api/events')).status, 503);
  });
});

describe('login: the token for a session cookie', () => {
  test('POST /api/login with the token sets the session cookie; without it 401; GET 405', async () => {
    const { call } = setup('192.0.2.5');
    assert.equal((await call('POST', LOGIN_API_PATH)).status, 401);
    const ok = await call('POST', LOGIN_API_PATH, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    const cookie = ok.headers!['set-cookie']!;
    assert.match(cookie, /^p2psip_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.equal((await call('GET', LOGIN_API_PATH, { authorization: `Bearer ${TOKEN}` })).status, 405);
    // beyond loopback: without credentials the page redirects to /login, which is open; the cookie opens the rest
    const page = await call('GET', '/', { accept: 'text/html' });
    assert.equal(page.status, 303);
    assert.equal((await call('GET', '/login')).status, 200);
    assert.equal((await call('GET', '/api/events')).status, 401);
    const withCookie = { cookie: cookie.split(';')[0]! };
    assert.equal((await call('GET', '/', withCookie)).status, 200);
    assert.equal((await call('GET', '/api/status', withCookie)).status, 200);
    assert.equal((await call('GET', '/api/events', withCookie)).status, 200);
  });
});
