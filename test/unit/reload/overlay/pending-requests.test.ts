/** PendingRequests (RFC 6940 §6.2.1 end-to-end retransmission) and its re-routing of requests on a lost link. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { PendingRequests } from '../../../../src/reload/overlay/pending-requests.js';
import type { OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';

const ANSWER: OverlayAnswer = { ok: true, code: 0x0f, body: new Uint8Array(0), responder: undefined, hops: 1, signer: undefined };

describe('PendingRequests', () => {
  test('retransmits on the reliability timer and fails after the last transmission', async () => {
    const clock = new ManualClock(0);
    const p = new PendingRequests(clock, 3000, 3, 10);
    const sent: number[] = [];
    const a = p.start(1n, () => void sent.push(clock.now()));
    clock.advance(9000);
    assert.deepEqual(sent, [0, 3000, 6000]);
    assert.equal((await a).ok, false);
    assert.equal(p.size, 0);
  });

  test('a request whose latest transmission left on a lost link is sent again at once; others wait for their timer', async () => {
    const clock = new ManualClock(0);
    const p = new PendingRequests(clock, 3000, 5, 10);
    const viaA: number[] = [];
    const viaB: number[] = [];
    let route = 'A';
    const a = p.start(1n, () => {
      viaA.push(clock.now());
      return route;
    });
    const b = p.start(2n, () => {
      viaB.push(clock.now());
      return 'B';
    });
    clock.advance(1000);
    route = 'C'; // routing now avoids link A
    assert.equal(p.rerouteFrom('A'), 1);
    assert.deepEqual(viaA, [0], 'not from inside the link event: on a zero timer');
    clock.advance(0);
    assert.deepEqual(viaA, [0, 1000]);
    // it left on C this time: A's loss again changes nothing; its timer restarted from the re-send
    assert.equal(p.rerouteFrom('A'), 0);
    clock.advance(2999);
    assert.deepEqual(viaA, [0, 1000]);
    clock.advance(1);
    assert.deepEqual(viaA, [0, 1000, 4000]);
    assert.deepEqual(viaB, [0, 3000], 'the request on link B kept its own timer');
    assert.equal(p.finish(1n, ANSWER), true);
    assert.equal(p.finish(2n, ANSWER), true);
    assert.equal((await a).ok, true);
    assert.equal((await b).ok, true);
  });

  test('no transmission left: a lost link does not add one (the request fails on its timer)', async () => {
    const clock = new ManualClock(0);
    const p = new PendingRequests(clock, 3000, 1, 10);
    const sent: number[] = [];
    const a = p.start(1n, () => {
      sent.push(clock.now());
      return 'A';
    });
    clock.advance(500);
    assert.equal(p.rerouteFrom('A'), 0);
    clock.advance(2500);
    assert.deepEqual(sent, [0]);
    assert.equal((await a).ok, false);
  });

  test('a request that left on no link (dropped: no route) is not re-routed by a link loss', () => {
    const clock = new ManualClock(0);
    const p = new PendingRequests(clock, 3000, 5, 10);
    let n = 0;
    void p.start(1n, () => {
      n++;
      return undefined;
    });
    assert.equal(p.rerouteFrom('A'), 0);
    clock.advance(100);
    assert.equal(n, 1);
    p.failAll('done');
  });
});
