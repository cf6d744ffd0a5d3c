/**
 * Who may use the HTTP API (issue 14), decided before any route: Host (DNS rebinding), Origin,
 * the token for state-changing methods, and the rate limit of overlay-traffic reads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { ApiGuard, type ApiHeaders } from '../../../src/node/api-guard.js';

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
    for (const h of [`192.0.2.5:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`, `127.0.0.1:${PORT}`, `[::1]:${PORT}`]) {
      assert.equal(check('GET', '/api/status', { host: h }), undefined, h);
    }
    for (const h of [`evil.example:${PORT}`, 'localhost', `localhost:${PORT + 1}`, `192.0.2.6:${PORT}`, `127.0.0.1.evil.example:${PORT}`, `localhost:${PORT}.evil`]) {
      assert.equal(statusOf(check('GET', '/api/status', { host: h })), 421, h);
    }
    assert.equal(statusOf(check('GET', '/api/status', {})), 400, 'no Host');
  });

  test('bound to a wildcard: the machine addresses given pass; port 80 may be left out', () => {
    const { check } = guard({ host: '0.0.0.0', port: PORT, others: ['10.1.2.3', 'fe80::1'] });
    assert.equal(check('GET', '/', { host: `10.1.2.3:${PORT}` }), undefined);
    assert.equal(check('GET', '/', { host: `[fe80::1]:${PORT}` }), undefined);
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
