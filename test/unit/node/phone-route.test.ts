/**
 * The browser phone's routes (issue 17) behind the whole HTTP API, called as a pure handler: the page
 * and its files with a strict Content-Security-Policy, /phone/config.json naming the SIP WebSocket
 * listener (with the page's host for a wildcard listener) or saying which flag opens one, 404/405 for
 * what is not there, and JsSIP served once packed (or a 500 that says why).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { EventHub } from '../../../src/lib/event-hub.js';
import { createHttpApi } from '../../../src/node/http-api.js';
import type { PeerEventMap } from '../../../src/node/peer-events.js';
import type { PeerRoutesContext } from '../../../src/node/peer-routes-context.js';
import { createPhoneRoute, PHONE_CSP } from '../../../src/node/phone/phone-route.js';
import { hostOfHostHeader, phoneConfig, webSocketUrls, type PhoneConfig } from '../../../src/node/phone/phone-config.js';
import { PHONE_HTML } from '../../../src/node/phone/phone-page.js';
import { PHONE_SCRIPT } from '../../../src/node/phone/phone-script.js';
import type { BrowserBundle, JsSipAsset } from '../../../src/platform/browser-jssip.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

const TOKEN = '3c'.repeat(32);
const WS: TransportAddress = { protocol: 'ws', host: '127.0.0.1', port: 5066 };

function setup(o: { addresses?: TransportAddress[]; jssip?: JsSipAsset; auth?: string; bindHost?: string } = {}) {
  const clock = new ManualClock(0);
  const status = { ...fakeStatusSource({ clock }), ...(o.auth === undefined ? {} : { authStatus: () => ({ mode: o.auth }) }) };
  const warnings: string[] = [];
  const ctx: PeerRoutesContext = {
    clock,
    logger: { info: () => undefined, warn: (_obj, msg) => warnings.push(msg) },
    status,
    events: new EventHub<PeerEventMap>(),
    sip: status.peer,
    sipAddresses: () => o.addresses ?? [{ protocol: 'udp', host: '127.0.0.1', port: 5060 }, WS],
    overlay: undefined,
    sipUsage: undefined,
    domain: 'p2psip.local',
    httpAddress: () => ({ host: '0.0.0.0', port: 8060 }),
  };
  const packs = { count: 0 };
  const jssip: JsSipAsset = o.jssip ?? {
    get: () => {
      packs.count++;
      return Promise.resolve<BrowserBundle>({ script: 'self.JsSIP = { version: "test" };', version: 'test', modules: 1, bytes: 30 });
    },
  };
  const route = createPhoneRoute(ctx, { jssip });
  const api = createHttpApi({ clock, status, storage: undefined, routes: [route] }, { token: TOKEN });
  // bound beyond loopback, the guard wants credentials for reads too (the dashboard's login): the token here
  const bindHost = o.bindHost ?? '127.0.0.1';
  api.bind(bindHost, 8060, bindHost === '0.0.0.0' ? ['192.0.2.5'] : []);
  const credentials: Record<string, string> = bindHost === '127.0.0.1' ? {} : { authorization: `Bearer ${TOKEN}` };
  const call = (method: string, path: string, host = '127.0.0.1:8060', headers: Record<string, string> = {}) =>
    api.handle(method, new URL(`http://${host}${path}`), { headers: { host, ...credentials, ...headers } });
  return { call, warnings, packs };
}

describe('phone route: the page and its files', () => {
  test('GET /phone and /phone/ give the page; its script, style and JsSIP come from this peer only', async () => {
    const { call } = setup();
    for (const path of ['/phone', '/phone/']) {
      const r = await call('GET', path);
      assert.equal(r.status, 200);
      assert.match(r.contentType, /^text\/html/);
      assert.equal(r.body, PHONE_HTML);
      assert.equal(r.headers?.['content-security-policy'], PHONE_CSP);
    }
    const srcs = [...PHONE_HTML.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(srcs.filter((s) => !s.startsWith('data:')), ['/phone/phone.css', '/phone/jssip.js', '/phone/phone.js']);
    assert.doesNotMatch(PHONE_HTML, /<script>|<style>|\son[a-z]+=/i, 'no inline script, style or handler (the CSP forbids them)');
    assert.match(PHONE_CSP, /script-src 'self'/);
    assert.doesNotMatch(PHONE_CSP, /unsafe-inline|unsafe-eval/);
    const js = await call('GET', '/phone/phone.js');
    assert.equal(js.body, PHONE_SCRIPT);
    assert.match(js.contentType, /^text\/javascript/);
    assert.match((await call('GET', '/phone/phone.css')).contentType, /^text\/css/);
  });

  test('the page script has no STUN/TURN server and parses as JavaScript', () => {
    assert.match(PHONE_SCRIPT, /iceServers: \[\]/);
    assert.doesNotMatch(PHONE_SCRIPT, /stun:|turn:/i);
    // compiles (not run): a syntax error in the shipped text fails here, not in a browser
    assert.doesNotThrow(() => new Function(PHONE_SCRIPT));
  });

  test('JsSIP is packed once and served from then on', async () => {
    const { call, packs } = setup();
    for (let i = 0; i < 3; i++) {
      const r = await call('GET', '/phone/jssip.js');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'self.JsSIP = { version: "test" };');
    }
    assert.equal(packs.count, 3, 'the route asks the asset each time');
  });

  test('JsSIP that cannot be packed: 500 saying why, logged once', async () => {
    const failing: JsSipAsset = { get: () => Promise.reject(new Error('package jssip is not installed')) };
    const { call, warnings } = setup({ jssip: failing });
    for (let i = 0; i < 2; i++) {
      const r = await call('GET', '/phone/jssip.js');
      assert.equal(r.status, 500);
      assert.match(JSON.parse(r.body).error, /JsSIP is not available to the browser phone: package jssip is not installed/);
    }
    assert.equal(warnings.length, 1);
  });

  test('unknown files 404, other methods 405 (after the guard: with the token), other paths are not ours', async () => {
    const { call } = setup();
    const nf = await call('GET', '/phone/../api/x');
    assert.notEqual(nf.status, 200);
    const missing = await call('GET', '/phone/secret.txt');
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).error, /no such file of the browser phone/);
    assert.equal((await call('POST', '/phone')).status, 401, 'the guard first: no token');
    const post = await call('POST', '/phone/config.json', '127.0.0.1:8060', { authorization: `Bearer ${TOKEN}` });
    assert.equal(post.status, 405);
    assert.equal(post.headers?.['allow'], 'GET, HEAD');
    assert.equal((await call('HEAD', '/phone')).status, 200);
    assert.equal((await call('GET', '/phonebook')).status, 404, 'not a phone path: the status routes answer');
  });
});

describe('phone route: /phone/config.json', () => {
  const config = async (s: ReturnType<typeof setup>, host?: string): Promise<PhoneConfig> => {
    const r = await s.call('GET', '/phone/config.json', host);
    assert.equal(r.status, 200);
    return JSON.parse(r.body) as PhoneConfig;
  };

  test('names the ws listener as bound, and the auth mode', async () => {
    const c = await config(setup({ auth: 'closed' }));
    assert.deepEqual(c, { domain: 'p2psip.local', webSockets: ['ws://127.0.0.1:5066'], problem: null, auth: 'closed' });
  });

  test('a wildcard listener takes the host the browser used for the page', async () => {
    const s = setup({ bindHost: '0.0.0.0', addresses: [{ protocol: 'ws', host: '0.0.0.0', port: 5066 }, { protocol: 'wss', host: '::', port: 5067 }] });
    assert.deepEqual((await config(s)).webSockets, ['ws://127.0.0.1:5066', 'wss://127.0.0.1:5067']);
    assert.deepEqual((await config(s, '192.0.2.5:8060')).webSockets, ['ws://192.0.2.5:5066', 'wss://192.0.2.5:5067']);
    assert.deepEqual((await config(s, 'localhost:8060')).webSockets, ['ws://localhost:5066', 'wss://localhost:5067']);
    assert.deepEqual((await config(s, '[::1]:8060')).webSockets, ['ws://[::1]:5066', 'wss://[::1]:5067']);
  });

  test('no ws listener: no URL and the flag that opens one', async () => {
    const c = await config(setup({ addresses: [{ protocol: 'udp', host: '127.0.0.1', port: 5060 }] }));
    assert.deepEqual(c.webSockets, []);
    assert.match(c.problem ?? '', /no SIP WebSocket listener/);
    assert.match(c.problem ?? '', /--sip-ws host:port/);
    assert.equal(c.auth, 'none');
  });
});

describe('phone config (pure)', () => {
  test('hostOfHostHeader', () => {
    assert.equal(hostOfHostHeader('127.0.0.1:8060'), '127.0.0.1');
    assert.equal(hostOfHostHeader('[::1]:8060'), '[::1]');
    assert.equal(hostOfHostHeader('LocalHost'), 'localhost');
    assert.equal(hostOfHostHeader(undefined), undefined);
    assert.equal(hostOfHostHeader(''), undefined);
    assert.equal(hostOfHostHeader('a b:1'), undefined);
  });

  test('webSocketUrls: ws before wss, IPv6 bracketed, duplicates once, other transports ignored', () => {
    const addrs: TransportAddress[] = [
      { protocol: 'wss', host: '::1', port: 5067 },
      { protocol: 'tcp', host: '127.0.0.1', port: 5060 },
      { protocol: 'ws', host: '::1', port: 5066 },
      { protocol: 'ws', host: '::1', port: 5066 },
    ];
    assert.deepEqual(webSocketUrls(addrs, 'ignored'), ['ws://[::1]:5066', 'wss://[::1]:5067']);
    assert.deepEqual(webSocketUrls([{ protocol: 'ws', host: '::', port: 1 }], undefined), ['ws://[::1]:1'], 'no Host: loopback of the family');
    assert.equal(phoneConfig({ domain: 'd', addresses: [], hostHeader: undefined, auth: 'open' }).problem?.includes('--sip-ws'), true);
  });
});
