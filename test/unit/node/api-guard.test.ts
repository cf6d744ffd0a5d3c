/**
 * Who may use the HTTP API (issue 14), decided before any route: Host (DNS rebinding), Origin,
 * the token for state-changing methods, and the rate limit of overlay-traffic reads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { ApiGuard, LOGIN_PATH, SESSION_COOKIE, SESSION_LIFETIME_MS, isLoopbackHost, type ApiHeaders } from '../../../src/node/api-guard.js';

const TOKEN = 'ab'.repeat(32);
const PORT = 8060;

function guard(bind: { host: string; port: number; others?: string[] } | null = { host: '127.0.0.1', port: PORT }) {
  const clock = new ManualClock(0);
  const g = new ApiGuard({ clock }, { token: TOKEN, overlayRoutes: new Set(['/api/lookup']), overlayReads: { ratePerSec: 2, burst: 3 } });
  if (bind !== null) g.bind(bind.host, bind.port, bind.others ?? []);
  const check = (method: string, path: string, headers: ApiHeaders = { host: `127.0.0.1:${PORT}` }) => g.check(method, new URL(`http://x${path}`), headers);
  return { g, clock, check };
}

const statusOf = (r: { status: number } | undefined): number => r?.status ?? 0;

describe('API guard: Host', () => {
  test('before the server is bound every request gets 503', () => {
    assert.equal(statusOf(guard(null).check('GET', '/api/status')), 503);
  });

  test('its own address, localhost, 127.0.0.1 and [::1] with the port pass; any other name or port gets 421', () => {
    const { check } = guard({ host: '192.0.2.5', port: PORT });
    // bound beyond loopback: reads carry the token (issue 17); the Host check comes first regardless
    for (const h of [`192.0.2.5:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`, `127.0.0.1:${PORT}`, `[::1]:${PORT}`]) {
      assert.equal(check('GET', '/api/status', { host: h, authorization: `Bearer ${TOKEN}` }), undefined, h);
    }
    for (const h of [`evil.example:${PORT}`, 'localhost', `localhost:${PORT + 1}`, `192.0.2.6:${PORT}`, `127.0.0.1.evil.example:${PORT}`, `localhost:${PORT}.evil`]) {
      assert.equal(statusOf(check('GET', '/api/status', { host: h })), 421, h);
    }
    assert.equal(statusOf(check('GET', '/api/status', {})), 400, 'no Host');
  });

  test('bound to a wildcard: the machine addresses given pass; port 80 may be left out', () => {
    const { check } = guard({ host: '0.0.0.0', port: PORT, others: ['10.1.2.3', 'fe80::1'] });
    const auth = `Bearer ${TOKEN}`;
    assert.equal(check('GET', '/', { host: `10.1.2.3:${PORT}`, authorization: auth }), undefined);
    assert.equal(check('GET', '/', { host: `[fe80::1]:${PORT}`, authorization: auth }), undefined);
    assert.equal(statusOf(check('GET', '/', { host: `0.0.0.0:${PORT}` })), 421);
    const eighty = guard({ host: '127.0.0.1', port: 80 });
    assert.equal(eighty.check('GET', '/', { host: 'localhost' }), undefined);
    assert.equal(eighty.check('GET', '/', { host: 'localhost:80' }), undefined);
  });
});

describe('API guard: Origin and token', () => {
  const own = { host: `127.0.0.1:${PORT}` };
  const auth = { ...own, authorization: `Bearer ${TOKEN}` };

  test('a foreign or opaque Origin gets 403 on any route; the own origin passes', () => {
    const { check } = guard();
    for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${PORT}`, `http://127.0.0.1:${PORT}, http://evil.example`]) {
      assert.equal(statusOf(check('GET', '/api/status', { ...own, origin })), 403, origin);
      assert.equal(statusOf(check('POST', '/api/storage/store', { ...auth, origin })), 403, origin);
    }
    assert.equal(check('POST', '/api/storage/store', { ...auth, origin: `http://localhost:${PORT}` }), undefined);
  });

  test('every method but GET and HEAD needs the token: 401 with WWW-Authenticate', () => {
    const { check } = guard();
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FROB']) {
      const r = check(m, '/api/storage/store', own);
      assert.equal(statusOf(r), 401, m);
      assert.match(r!.headers!['www-authenticate']!, /^Bearer/);
    }
    assert.equal(check('GET', '/api/status', own), undefined);
    assert.equal(check('HEAD', '/api/status', own), undefined);
  });

  test('the right token passes (scheme case-insensitive); a wrong or malformed one is 401 on any route', () => {
    const { check } = guard();
    assert.equal(check('POST', '/api/storage/store', auth), undefined);
    assert.equal(check('POST', '/api/storage/store', { ...own, authorization: `bearer ${TOKEN}` }), undefined);
    for (const a of [`Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}0`, `Basic ${TOKEN}`, TOKEN, 'Bearer', `Bearer ${'cd'.repeat(32)}`]) {
      assert.equal(statusOf(check('POST', '/api/storage/store', { ...own, authorization: a })), 401, a);
      assert.equal(statusOf(check('GET', '/api/status', { ...own, authorization: a })), 401, a);
    }
  });

  test("a browser's cross-site request is refused even with the token", () => {
    const { check } = guard();
    assert.equal(statusOf(check('POST', '/api/storage/store', { ...auth, 'sec-fetch-site': 'cross-site' })), 403);
    assert.equal(check('POST', '/api/storage/store', { ...auth, 'sec-fetch-site': 'same-origin' }), undefined);
  });

  test('a token under 128 bits is refused when the guard is made', () => {
    assert.throws(() => new ApiGuard({ clock: new ManualClock(0) }, { token: 'ab'.repeat(15), overlayRoutes: new Set() }), RangeError);
  });
});

describe('API guard: rate limit of overlay-traffic routes', () => {
  test('past the burst: 429 with Retry-After in whole seconds; tokens come back with time', () => {
    const { check, clock } = guard();
    for (let i = 0; i < 3; i++) assert.equal(check('GET', '/api/lookup?aor=a'), undefined, `lookup ${i}`);
    const r = check('GET', '/api/lookup?aor=a');
    assert.equal(statusOf(r), 429);
    assert.equal(r!.headers!['retry-after'], '1');
    assert.equal(check('GET', '/api/status'), undefined, 'other routes are not limited');
    clock.advance(500);
    assert.equal(check('GET', '/api/lookup?aor=a'), undefined);
    assert.equal(statusOf(check('GET', '/api/lookup?aor=a')), 429);
  });

  test('requests with the token are not limited', () => {
    const { check } = guard();
    for (let i = 0; i < 50; i++) assert.equal(check('GET', '/api/lookup?aor=a', { host: `127.0.0.1:${PORT}`, authorization: `Bearer ${TOKEN}` }), undefined);
  });
});

describe('API guard: beyond loopback every request needs credentials (issue 17)', () => {
  const HOST = { host: `192.0.2.5:${PORT}` };
  const beyond = () => guard({ host: '192.0.2.5', port: PORT });
  const cookieOf = (setCookie: string): string => setCookie.split(';')[0]!;

  test('which addresses count as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '[::]', '192.0.2.5', '10.0.0.1', 'fe80::1', '127.0.0.1.evil.example', '1127.0.0.1', 'example.com']) assert.ok(!isLoopbackHost(h), h);
  });

  test('bound to loopback, reads stay open as before', () => {
    const { check } = guard();
    for (const p of ['/', '/api/status', '/api/events', '/metrics', '/api/dashboard']) assert.equal(check('GET', p), undefined, p);
  });

  test('bound beyond loopback (an address or a wildcard): the page, /api/status, /api/events and /metrics need the token', () => {
    for (const bind of [{ host: '192.0.2.5', port: PORT }, { host: '0.0.0.0', port: PORT }, { host: '::', port: PORT }]) {
      const { check } = guard(bind);
      for (const p of ['/api/status', '/api/events', '/metrics', '/api/dashboard', '/dashboard/app.js']) {
        const r = check('GET', p, { host: `127.0.0.1:${PORT}` });
        assert.equal(statusOf(r), 401, `${bind.host} ${p}`);
        assert.match(r!.headers!['www-authenticate']!, /^Bearer/);
        assert.equal(check('GET', p, { host: `127.0.0.1:${PORT}`, authorization: `Bearer ${TOKEN}` }), undefined, `${bind.host} ${p} with the token`);
      }
      assert.equal(statusOf(check('HEAD', '/api/status', { host: `127.0.0.1:${PORT}` })), 401, 'HEAD too');
    }
  });

  test('a browser asking for a page is sent to the login page (303); the login page and its assets are open', () => {
    const { check } = beyond();
    const r = check('GET', '/', { ...HOST, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(statusOf(r), 303);
    assert.equal(r!.headers!['location'], LOGIN_PATH);
    // an API path is never redirected (a script would follow the redirect and parse HTML)
    assert.equal(statusOf(check('GET', '/api/status', { ...HOST, accept: 'text/html' })), 401);
    for (const p of [LOGIN_PATH, '/dashboard/login.js', '/dashboard/style.css']) assert.equal(check('GET', p, HOST), undefined, p);
    assert.equal(statusOf(check('POST', LOGIN_PATH, HOST)), 401, 'open for reading only');
  });

  test('a session cookie issued by the guard lets a browser read; it is HttpOnly, SameSite=Strict, and good for reads only', () => {
    const { g, check } = beyond();
    const set = g.issueSession();
    assert.match(set, new RegExp(`^${SESSION_COOKIE}=[0-9a-z]+\\.[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_LIFETIME_MS / 1000}$`));
    const cookie = { ...HOST, cookie: `other=1; ${cookieOf(set)}; x=y` };
    assert.equal(check('GET', '/api/status', cookie), undefined);
    assert.equal(check('GET', '/api/events', cookie), undefined);
    assert.equal(statusOf(check('POST', '/api/storage/store', cookie)), 401, 'state changes still need the token itself');
  });

  test('a forged, altered or expired cookie, or one made with another token, is refused', () => {
    const { g, clock, check } = beyond();
    const good = cookieOf(g.issueSession());
    const [name, value] = good.split('=') as [string, string];
    const [issued, mac] = value.split('.') as [string, string];
    const refused = (c: string): boolean => statusOf(check('GET', '/api/status', { ...HOST, cookie: c })) === 401;
    assert.ok(refused(`${name}=${issued}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`), 'altered MAC');
    assert.ok(refused(`${name}=${(parseInt(issued, 36) + 1000).toString(36)}.${mac}`), 'altered time');
    assert.ok(refused(`${name}=junk`), 'junk');
    assert.ok(refused(`${name}=${'a'.repeat(200)}`), 'oversized');
    const other = new ApiGuard({ clock }, { token: 'cd'.repeat(32), overlayRoutes: new Set() });
    assert.ok(refused(cookieOf(other.issueSession())), 'issued with another token');
    assert.ok(!refused(good));
    clock.advance(SESSION_LIFETIME_MS - 1);
    assert.ok(!refused(good), 'still good just before its lifetime ends');
    clock.advance(1);
    assert.ok(refused(good), 'expired');
  });

  test('a cookie-authenticated read of an overlay route is still rate-limited; the token is not', () => {
    const { g, check } = beyond();
    const cookie = { ...HOST, cookie: cookieOf(g.issueSession()) };
    for (let i = 0; i < 3; i++) assert.equal(check('GET', '/api/lookup?aor=a', cookie), undefined);
    assert.equal(statusOf(check('GET', '/api/lookup?aor=a', cookie)), 429);
    assert.equal(check('GET', '/api/lookup?aor=a', { ...HOST, authorization: `Bearer ${TOKEN}` }), undefined);
  });
});
