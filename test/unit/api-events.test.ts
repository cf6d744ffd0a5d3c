/**
 * The library API's events (src/api/api-events.ts), fed from hubs this test publishes to itself: the
 * overlay's (state, neighbours) and the peer's SIP side (registration, call). Sources are subscribed
 * to only while the application listens; payloads are plain data with hex Node-IDs; a listener that
 * throws reaches the error callback, never the publisher.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub } from '../../src/lib/event-hub.js';
import type { OverlayEventMap } from '../../src/reload/overlay/overlay-types.js';
import type { PeerEventMap } from '../../src/node/peer-events.js';
import { ApiEvents, type PeerEventMapApi } from '../../src/api/api-events.js';

function rig(): { overlay: EventHub<OverlayEventMap>; peer: EventHub<PeerEventMap>; events: ApiEvents; errors: string[] } {
  const overlay = new EventHub<OverlayEventMap>();
  const peer = new EventHub<PeerEventMap>();
  const errors: string[] = [];
  const events = new ApiEvents({ overlay, peer, hex: (id) => id.toString(16).padStart(4, '0'), nodeId: '00aa' }, (event, err) => errors.push(`${event}: ${String(err)}`));
  return { overlay, peer, events, errors };
}

describe('ApiEvents', () => {
  test('state, joined and neighbours from the overlay hub; hex Node-IDs', () => {
    const { overlay, events } = rig();
    const seen: Array<[string, unknown]> = [];
    events.on('state', (s) => seen.push(['state', s]));
    events.on('joined', (j) => seen.push(['joined', j]));
    events.on('neighbours', (n) => seen.push(['neighbours', n]));
    overlay.emit('state', 'joining');
    overlay.emit('state', 'joined');
    overlay.emit('neighbours', { successors: [0xbbn, 0xccn], predecessors: [0x1n] });
    assert.deepEqual(seen, [
      ['state', { state: 'joining' }],
      ['state', { state: 'joined' }],
      ['joined', { nodeId: '00aa' }],
      ['neighbours', { successors: ['00bb', '00cc'], predecessors: ['0001'] }],
    ]);
  });

  test('registration and call from the peer hub, copied as plain data', () => {
    const { peer, events } = rig();
    const regs: Array<PeerEventMapApi['registration']> = [];
    const calls: Array<PeerEventMapApi['call']> = [];
    events.on('registration', (r) => regs.push(r));
    events.on('call', (c) => calls.push(c));
    peer.emit('registration', { aor: 'sip:a@x', contact: '<sip:a@1.2.3.4>', expires: 600, action: 'added' });
    peer.emit('call', { callId: 'c1', from: 'sip:a@x', to: 'sip:b@x', state: 'failed', status: 486, reason: 'Busy Here' });
    assert.deepEqual(regs, [{ aor: 'sip:a@x', contact: '<sip:a@1.2.3.4>', expires: 600, action: 'added' }]);
    assert.deepEqual(calls, [{ callId: 'c1', from: 'sip:a@x', to: 'sip:b@x', state: 'failed', status: 486, reason: 'Busy Here' }]);
  });

  test('sources are subscribed only while somebody listens (an unobserved peer builds no payloads)', () => {
    const { overlay, peer, events } = rig();
    assert.equal(peer.hasListeners('registration'), false);
    assert.equal(overlay.hasListeners('neighbours'), false);
    const off1 = events.on('registration', () => undefined);
    const off2 = events.on('registration', () => undefined);
    assert.equal(peer.listenerCount('registration'), 1, 'one source subscription for any number of listeners');
    off1();
    assert.equal(peer.hasListeners('registration'), true);
    off2();
    off2();
    assert.equal(peer.hasListeners('registration'), false);
    const off3 = events.on('neighbours', () => undefined);
    assert.equal(overlay.hasListeners('neighbours'), true);
    events.close();
    assert.equal(overlay.hasListeners('neighbours'), false, 'close drops the source subscriptions');
    off3();
  });

  test('request notices only go out when listened to; a throwing listener is reported, the others still run', () => {
    const { peer, events, errors } = rig();
    events.emitRequest({ method: 'MESSAGE', from: 'a', to: 'b', user: 'b', callId: 'x' });
    const got: string[] = [];
    events.on('request', () => {
      throw new Error('listener bug');
    });
    events.on('request', (r) => got.push(r.callId));
    events.emitRequest({ method: 'MESSAGE', from: 'a', to: 'b', user: 'b', callId: 'y' });
    assert.deepEqual(got, ['y']);
    assert.deepEqual(errors, ['request: Error: listener bug']);
    events.on('call', () => {
      throw new Error('again');
    });
    assert.doesNotThrow(() => peer.emit('call', { callId: 'c', from: 'a', to: 'b', state: 'started' }));
    assert.equal(errors.length, 2);
  });

  test('an unknown event name is refused', () => {
    const { events } = rig();
    assert.throws(() => events.on('nope' as never, () => undefined), RangeError);
  });
});
