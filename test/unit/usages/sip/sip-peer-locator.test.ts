import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { MessageCode, ReloadErrorCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../../../src/reload/codec/index.js';
import type { InboundRequest, OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { appAttachHandler } from '../../../../src/usages/sip/app-attach-handler.js';
import { SIP_APPLICATION_ID, sipAddressOf, sipCandidates } from '../../../../src/usages/sip/sip-app-attach.js';
import { SipPeerLocator, type OverlayRequest } from '../../../../src/usages/sip/sip-peer-locator.js';

const REMOTE: TransportAddress[] = [
  { protocol: 'udp', host: '127.0.0.1', port: 5071 },
  { protocol: 'tcp', host: '127.0.0.1', port: 5071 },
];
const random = new SeededRandom(3);
const handler = appAttachHandler({ random, sipAddresses: () => REMOTE });

function answerOf(reply: ReturnType<typeof handler>): OverlayAnswer {
  if ('error' in reply) return { ok: false, errorCode: reply.error, info: reply.info, responder: undefined, hops: 1 };
  return { ok: true, code: reply.code, body: reply.body, responder: undefined, hops: 1, signer: undefined };
}

function setup(overlay?: OverlayRequest): { clock: ManualClock; locator: SipPeerLocator; calls: { n: number } } {
  const clock = new ManualClock(0);
  const calls = { n: 0 };
  const request: OverlayRequest =
    overlay ??
    ((_d, code, body) => {
      calls.n++;
      return Promise.resolve(answerOf(handler({ code, body } as unknown as InboundRequest)));
    });
  const locator = new SipPeerLocator(
    { clock, random, request: (d, c, b, o) => (calls.n += overlay ? 1 : 0, request(d, c, b, o)), sipAddresses: () => [{ protocol: 'udp', host: '127.0.0.1', port: 5070 }] },
    { idleMs: 600_000, negativeTtlMs: 5_000, maxEntries: 2 },
  );
  return { clock, locator, calls };
}

const NODE = new Uint8Array(16).fill(1);

describe('AppAttach for SIP (RFC 6940 §6.5.2, application 5060)', () => {
  test('candidates round-trip: UDP first, TCP kept, IPv6 too', () => {
    const c = sipCandidates([REMOTE[1]!, REMOTE[0]!, { protocol: 'udp', host: '::1', port: 5080 }, { protocol: 'ws', host: '127.0.0.1', port: 80 }]);
    assert.equal(c.length, 3);
    const ans = { ufrag: new Uint8Array(1), password: new Uint8Array(1), application: 5060, role: new Uint8Array(1), candidates: c };
    assert.deepEqual(sipAddressOf(ans), REMOTE[0]);
    assert.deepEqual(sipAddressOf({ ...ans, candidates: sipCandidates([REMOTE[1]!]) }), REMOTE[1]);
    assert.deepEqual(sipAddressOf({ ...ans, candidates: sipCandidates([{ protocol: 'udp', host: '::1', port: 5080 }]) }), { protocol: 'udp', host: '::1', port: 5080 });
    assert.equal(sipAddressOf({ ...ans, candidates: [] }), undefined);
  });

  test('the handler answers application 5060 with the SIP front, refuses others and garbage', () => {
    const body = encodeAppAttachReqAns({ ufrag: new Uint8Array(2), password: new Uint8Array(2), application: SIP_APPLICATION_ID, role: new Uint8Array(0), candidates: [] });
    const ok = handler({ code: MessageCode.app_attach_req, body } as unknown as InboundRequest);
    assert.ok(!('error' in ok));
    assert.equal(ok.code, MessageCode.app_attach_ans);
    const d = decodeAppAttachReqAns(ok.body);
    assert.ok(d.ok);
    assert.deepEqual(sipAddressOf(d.value), REMOTE[0]);
    const other = encodeAppAttachReqAns({ ufrag: new Uint8Array(2), password: new Uint8Array(2), application: 5061, role: new Uint8Array(0), candidates: [] });
    const r = handler({ code: MessageCode.app_attach_req, body: other } as unknown as InboundRequest);
    assert.ok('error' in r && r.error === ReloadErrorCode.Forbidden);
    const g = handler({ code: MessageCode.app_attach_req, body: Uint8Array.of(1, 2, 3) } as unknown as InboundRequest);
    assert.ok('error' in g && g.error === ReloadErrorCode.InvalidMessage);
    const none = appAttachHandler({ random, sipAddresses: () => [] })({ code: MessageCode.app_attach_req, body } as unknown as InboundRequest);
    assert.ok('error' in none && none.error === ReloadErrorCode.NotFound);
  });
});

describe('SipPeerLocator', () => {
  test('locates by AppAttach, then answers from the cache until it has been idle for idleMs', async () => {
    const { clock, locator, calls } = setup();
    const r1 = await locator.locate(NODE);
    assert.deepEqual(r1, { ok: true, address: REMOTE[0], cached: false });
    const r2 = await locator.locate(NODE);
    assert.deepEqual(r2, { ok: true, address: REMOTE[0], cached: true });
    assert.equal(calls.n, 1);
    clock.advance(600_001);
    const r3 = await locator.locate(NODE);
    assert.equal(r3.ok && r3.cached, false, 'idle for 10 min: AppAttached again');
    assert.equal(calls.n, 2);
    assert.equal(locator.appAttaches, 2);
    assert.equal(locator.stats.idleDrops, 1);
  });

  test('a peer in use is kept past idleMs (each use restarts it; re-checks run in the background only)', async () => {
    const { clock, locator, calls } = setup();
    await locator.locate(NODE);
    // a call every 5 minutes for 2 hours: no AppAttach on any call's path
    for (let i = 0; i < 24; i++) {
      clock.advance(300_000);
      const r = await locator.locate(NODE);
      assert.ok(r.ok && r.cached, `call ${i} answered from the cache`);
      await Promise.resolve();
    }
    assert.equal(locator.stats.idleDrops, 0);
    assert.equal(locator.stats.appAttaches, 1 + locator.stats.revalidations, 'every later AppAttach was a background re-check');
    assert.equal(calls.n, locator.stats.appAttaches);
  });

  test('sweep() drops peers idle for idleMs and old failures; entries() lists the located ones', async () => {
    const { clock, locator } = setup();
    await locator.locate(NODE);
    assert.equal(locator.entries().length, 1);
    assert.equal(locator.entries()[0]!.sip, 'udp:127.0.0.1:5071');
    clock.advance(599_000);
    assert.equal(locator.sweep(), 0);
    clock.advance(2_000);
    assert.equal(locator.sweep(), 1);
    assert.equal(locator.size, 0);
    assert.equal(locator.stats.idleDrops, 1);
  });

  test('the cache is LRU: a recently used peer survives, the least recently used one goes', async () => {
    const { locator, calls } = setup();
    const n1 = new Uint8Array(16).fill(1);
    const n2 = new Uint8Array(16).fill(2);
    const n3 = new Uint8Array(16).fill(3);
    await locator.locate(n1);
    await locator.locate(n2);
    await locator.locate(n1); // n1 is now the most recently used
    await locator.locate(n3); // evicts n2
    assert.equal(locator.size, 2);
    assert.equal(locator.stats.evictions, 1);
    const before = calls.n;
    assert.ok((await locator.locate(n1)).ok);
    assert.equal(calls.n, before, 'n1 still cached');
    await locator.locate(n2);
    assert.equal(calls.n, before + 1, 'n2 was evicted: AppAttach again');
  });

  test('an older cached address is used and checked again in the background; a failed check drops it', async () => {
    let alive = true;
    let n = 0;
    const { clock, locator } = setup((_d, code, body) => {
      n++;
      if (!alive) return Promise.resolve({ ok: false, errorCode: 0, info: 'no answer after 3 transmission(s)', responder: undefined, hops: 0 });
      return Promise.resolve(answerOf(handler({ code, body } as unknown as InboundRequest)));
    });
    await locator.locate(NODE);
    clock.advance(10_000);
    assert.ok((await locator.locate(NODE)).ok);
    assert.equal(n, 1, 'young entry: no check');
    clock.advance(6_000);
    alive = false;
    const r = await locator.locate(NODE);
    assert.ok(r.ok && r.cached, 'the call in progress still uses the cached address');
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(n, 2, 'one background AppAttach');
    const after = await locator.locate(NODE);
    assert.equal(after.ok, false, 'the failed check replaced the entry');
    assert.equal(n, 2, 'and the failure is cached');
  });

  test('concurrent lookups of one node share one AppAttach', async () => {
    const { locator, calls } = setup();
    const rs = await Promise.all([locator.locate(NODE), locator.locate(NODE), locator.locate(NODE)]);
    assert.ok(rs.every((r) => r.ok));
    assert.equal(calls.n, 1);
  });

  test('a failure is remembered for the negative TTL only', async () => {
    let n = 0;
    const { clock, locator } = setup(() => {
      n++;
      return Promise.resolve({ ok: false, errorCode: 0, info: 'no answer after 3 transmission(s)', responder: undefined, hops: 0 });
    });
    const r = await locator.locate(NODE);
    assert.ok(!r.ok);
    assert.match(r.info, /no answer/);
    await locator.locate(NODE);
    assert.equal(n, 1);
    clock.advance(5_001);
    await locator.locate(NODE);
    assert.equal(n, 2);
  });

  test('wrong answers are failures, a throwing overlay too', async () => {
    const cases: OverlayRequest[] = [
      () => Promise.resolve({ ok: true, code: MessageCode.ping_ans, body: new Uint8Array(0), responder: undefined, hops: 1, signer: undefined }),
      () => Promise.resolve({ ok: true, code: MessageCode.app_attach_ans, body: Uint8Array.of(9, 9), responder: undefined, hops: 1, signer: undefined }),
      () =>
        Promise.resolve({
          ok: true,
          code: MessageCode.app_attach_ans,
          body: encodeAppAttachReqAns({ ufrag: new Uint8Array(1), password: new Uint8Array(1), application: 80, role: new Uint8Array(0), candidates: sipCandidates(REMOTE) }),
          responder: undefined,
          hops: 1,
          signer: undefined,
        }),
      () => Promise.reject(new Error('boom')),
    ];
    for (const c of cases) {
      const { locator } = setup(c);
      const r = await locator.locate(NODE);
      assert.equal(r.ok, false);
    }
  });

  test('the cache holds at most maxEntries nodes', async () => {
    const { locator } = setup();
    for (let i = 0; i < 5; i++) await locator.locate(new Uint8Array(16).fill(i + 1));
    assert.equal(locator.size, 2);
  });
});
