/**
 * The composed HTTP API (guard in front of the storage and status routes), called as a pure
 * handler, no port (issue 14).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { createHttpApi } from '../../../src/node/http-api.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

const TOKEN = '5a'.repeat(32);

function api() {
  const clock = new ManualClock(0);
  const a = createHttpApi({ clock, status: fakeStatusSource({ aors: 3, clock }), storage: undefined }, { token: TOKEN });
  a.bind('127.0.0.1', 8060);
  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    a.handle(method, new URL(`http://127.0.0.1:8060${path}`), { headers: { host: '127.0.0.1:8060', ...headers } });
  return { a, clock, call };
}

describe('HTTP API: the guard in front of every route', () => {
  test('reads are open on localhost; the contract fields are there', async () => {
    const r = await api().call('GET', '/api/status');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).localRegistrationsTotal, 3);
  });

  test('the store of the issue (foreign Host and Origin, no token) is refused; with the token it reaches the route', async () => {
    const { call } = api();
    const store = '/api/storage/store?kind=1&name=bob&value=sip:mallory@192.0.2.66';
    assert.equal((await call('POST', store, { host: 'evil.example:8060', origin: 'http://evil.example' })).status, 421);
    assert.equal((await call('POST', store, { origin: 'http://evil.example' })).status, 403);
    assert.equal((await call('POST', store)).status, 401);
    const ok = await call('POST', store, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 404, 'reaches the storage route (this peer has no overlay storage)');
    assert.match(ok.body, /no overlay storage/);
  });

  test('overlay reads beyond the default burst (40) get 429 with Retry-After; the clock refills them', async () => {
    const { call, clock } = api();
    for (let i = 0; i < 40; i++) assert.equal((await call('GET', '/api/lookup?aor=bob@p2psip.local')).status, 200, `lookup ${i}`);
    const limited = await call('GET', '/api/overlay/lookup?id=00');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers?.['retry-after'], '1');
    assert.equal((await call('GET', '/api/storage/fetch?kind=1&name=bob')).status, 429);
    assert.equal((await call('GET', '/api/status')).status, 200);
    clock.advance(1000);
    assert.equal((await call('GET', '/api/lookup?aor=bob@p2psip.local')).status, 200);
  });
});
