import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode, RELOAD_VERSION, UNFRAGMENTED, encodeReloadPdu } from '../../../../src/reload/codec/index.js';
import type { ForwardingHeader } from '../../../../src/reload/codec/index.js';
import { MessageDispatcher } from '../../../../src/reload/overlay/message-dispatcher.js';
import type { LocalDelivery } from '../../../../src/reload/overlay/message-dispatcher.js';
import { OverlayCounters } from '../../../../src/reload/overlay/overlay-counters.js';
import type { RouteVerdict } from '../../../../src/reload/overlay/route-verdict.js';
import { noRoute } from '../../../../src/reload/overlay/routing-failure.js';
import type { Refusal } from '../../../../src/reload/overlay/routing-failure.js';

const OVERLAY = 0x1234;
const h: ForwardingHeader = {
  overlay: OVERLAY,
  configurationSequence: 0,
  version: RELOAD_VERSION,
  ttl: 100,
  fragment: UNFRAGMENTED,
  length: 0,
  transactionId: 9n,
  maxResponseLength: 0,
  viaList: [],
  destinationList: [{ type: 'node', nodeId: new Uint8Array(16) }],
  options: [],
};
const REQUEST = Uint8Array.of(0, MessageCode.ping_req);
const ANSWER = Uint8Array.of(0, MessageCode.ping_ans);

/** A dispatcher over a router that answers with `next`, and a delivery that records. */
function setup(next: () => RouteVerdict) {
  const counters = new OverlayCounters();
  const routed: Array<bigint | undefined> = [];
  const delivered: Array<bigint | undefined> = [];
  const refused: Array<{ from: bigint; refusal: Refusal }> = [];
  const d = new MessageDispatcher({
    router: {
      route: (_h, _p, from) => (routed.push(from), next()),
      routeFragment: (_h, _p, _l, from) => (routed.push(from), next()),
    },
    counters,
    overlayHash: OVERLAY,
    codecOptions: () => ({ maxMessageSize: 5000, nodeIdLength: 16 }),
  });
  const local: LocalDelivery = {
    deliver: (_h, _p, from) => void delivered.push(from),
    answerRefusal: (_h, from, refusal) => void refused.push({ from, refusal }),
  };
  d.setUser(local);
  return { d, counters, routed, delivered, refused };
}

describe('MessageDispatcher: acts on the router\'s verdicts', () => {
  test('deliver: handed to delivery; forward and a held fragment: nothing more', () => {
    let v: RouteVerdict = { kind: 'deliver', header: h, payload: REQUEST, from: 5n };
    const s = setup(() => v);
    s.d.receive(encodeReloadPdu(h, REQUEST, {}), 5n);
    assert.deepEqual(s.delivered, [5n]);
    assert.equal(s.counters.messagesIn, 1);
    v = { kind: 'forward', linkId: 'L', to: 6n };
    s.d.originate(h, REQUEST);
    v = { kind: 'fragment', held: true };
    s.d.originate(h, REQUEST);
    assert.deepEqual(s.routed, [5n, undefined, undefined]);
    assert.equal(s.delivered.length, 1);
    assert.equal(s.counters.droppedTotal, 0);
  });

  test('refuse: counted under its text; only a request from another node gets the error answer (RFC 6940 §6.1.2)', () => {
    let v: RouteVerdict = { kind: 'refuse', refusal: noRoute(), header: h, payload: REQUEST, from: 5n };
    const s = setup(() => v);
    s.d.originate(h, REQUEST);
    assert.deepEqual(s.refused, [{ from: 5n, refusal: noRoute() }]);
    v = { kind: 'refuse', refusal: noRoute(), header: h, payload: ANSWER, from: 5n };
    s.d.originate(h, ANSWER);
    v = { kind: 'refuse', refusal: noRoute(), header: h, payload: REQUEST, from: undefined };
    s.d.originate(h, REQUEST);
    assert.equal(s.refused.length, 1);
    assert.equal(s.counters.drops.get(noRoute().info), 3);
  });

  test('drop: counted under its reason; undecodable or foreign messages never reach the router', () => {
    const s = setup(() => ({ kind: 'drop', reason: 'loop' }));
    s.d.originate(h, REQUEST);
    assert.equal(s.counters.drops.get('loop'), 1);
    s.d.receive(Uint8Array.of(1, 2, 3), 5n);
    s.d.receive(encodeReloadPdu({ ...h, overlay: OVERLAY + 1 }, REQUEST, {}), 5n);
    assert.equal(s.counters.drops.get('undecodable'), 1);
    assert.equal(s.counters.drops.get('foreign overlay or version'), 1);
    assert.deepEqual(s.routed, [undefined]);
  });
});
