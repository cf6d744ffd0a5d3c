import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { formatUri } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import { parseEventHeader } from '../../../../src/usages/presence/event-header.js';
import { nextHopUri } from '../../../../src/usages/presence/notify-request.js';
import type { EventPackage } from '../../../../src/usages/presence/event-package.js';
import type { SubscriptionLimits } from '../../../../src/usages/presence/subscription-limits.js';
import { Notifier, type SubscribeInput } from '../../../../src/usages/presence/subscriptions.js';
import { bodyText, settle, sipRequest, type RequestSpec } from './presence-fixtures.js';

const ALICE = 'sip:alice@p2psip.local';
const BOB = 'sip:bob@p2psip.local';
const OUR_CONTACT = 'sip:192.0.2.1:5060';
const FLOW = { destination: { protocol: 'tcp' as const, host: '192.0.2.10', port: 40000 }, flowId: 'f1' };
const FLOW2 = { destination: { protocol: 'tcp' as const, host: '192.0.2.10', port: 40001 }, flowId: 'f2' };

/** A package whose state is a counter the test changes. */
class CounterPackage implements EventPackage {
  readonly event = 'presence';
  readonly contentType = 'application/pidf+xml';
  readonly defaultExpires = 3600;
  value = 0;
  reads = 0;
  fail = false;
  watchers = new Map<string, () => void>();
  unwatched: string[] = [];

  state(aor: string) {
    this.reads++;
    if (this.fail) return Promise.reject(new Error('down'));
    const v = `${aor}=${this.value}`;
    return Promise.resolve({ key: v, body: (version: number) => `${v} v${version}` });
  }

  watch(aor: string, onChange: () => void) {
    this.watchers.set(aor, onChange);
    return () => {
      this.watchers.delete(aor);
      this.unwatched.push(aor);
    };
  }

  change(aor: string, v: number): void {
    this.value = v;
    this.watchers.get(aor)?.();
  }
}

function world(limits: Partial<SubscriptionLimits> = {}) {
  const clock = new ManualClock(1_000_000);
  const sent: Array<{ at: number; request: SipRequest; arrivedOn: unknown }> = [];
  let answer: (r: SipRequest) => Promise<number> = () => Promise.resolve(200);
  const notifier = new Notifier(
    {
      clock,
      send: (request, arrivedOn) => {
        sent.push({ at: clock.now(), request, arrivedOn });
        return answer(request);
      },
      localContact: () => OUR_CONTACT,
    },
    limits,
  );
  const pkg = new CounterPackage();
  return {
    clock,
    sent,
    notifier,
    pkg,
    answerWith(fn: (r: SipRequest) => Promise<number>) {
      answer = fn;
    },
  };
}

function input(pkg: EventPackage, spec: Partial<RequestSpec> = {}, o: Partial<SubscribeInput> = {}): SubscribeInput {
  const request = sipRequest({ method: 'SUBSCRIBE', headers: [['Event', 'presence']], ...spec });
  return { request, pkg, event: parseEventHeader(request.headers.get('event'))!, presentity: ALICE, watcher: BOB, toTag: 'our1', expires: 600, cseq: 1, arrivedOn: FLOW, ...o };
}

function state(r: SipRequest): string {
  return r.headers.get('subscription-state') ?? '';
}

describe('notifier (RFC 6665)', () => {
  test('SUBSCRIBE → 200, then at once a NOTIFY built as a UAS in-dialog request', async () => {
    const w = world();
    const spec = {
      callId: 'sub-1',
      fromTag: 'w1',
      contact: 'sip:bob@192.0.2.10:5062;transport=tcp',
      headers: [
        ['Event', 'presence;id=42'],
        ['Record-Route', '<sip:192.0.2.50;lr>, <sip:192.0.2.51;lr>'],
        ['Record-Route', '<sip:192.0.2.52;lr>'],
      ] as Array<[string, string]>,
    };
    const out = w.notifier.subscribe(input(w.pkg, spec));
    assert.deepEqual(out, { status: 200, expires: 600 });
    assert.equal(w.sent.length, 0, 'the NOTIFY follows the answer');
    await settle();
    assert.equal(w.sent.length, 1);
    const n = w.sent[0]!.request;
    assert.equal(n.method, 'NOTIFY');
    assert.equal(formatUri(n.uri), 'sip:bob@192.0.2.10:5062;transport=tcp');
    assert.deepEqual(n.headers.getAll('route'), ['<sip:192.0.2.50;lr>', '<sip:192.0.2.51;lr>', '<sip:192.0.2.52;lr>']);
    assert.equal(n.headers.get('from'), '<sip:alice@p2psip.local>;tag=our1');
    assert.equal(n.headers.get('to'), '<sip:bob@p2psip.local>;tag=w1');
    assert.equal(n.headers.get('call-id'), 'sub-1');
    assert.equal(n.headers.get('cseq'), '1 NOTIFY');
    assert.equal(n.headers.get('contact'), `<${OUR_CONTACT}>`);
    assert.equal(n.headers.get('event'), 'presence;id=42');
    assert.equal(state(n), 'active;expires=600');
    assert.equal(n.headers.get('max-forwards'), '70');
    assert.equal(n.headers.get('content-type'), 'application/pidf+xml');
    assert.equal(n.headers.has('via'), false, 'the host adds the Via');
    assert.equal(bodyText(n), `${ALICE}=0 v0`);
    assert.equal(formatUri(nextHopUri(n)), 'sip:192.0.2.50;lr');
    assert.equal(w.notifier.stats().subscriptions, 1);
  });

  test('refresh: 200 and a NOTIFY with the new expiry; CSeq must grow; the Contact is a target refresh', async () => {
    const w = world();
    const first = input(w.pkg);
    w.notifier.subscribe(first);
    await settle();
    w.clock.advance(100_000);
    const refresh = sipRequest({ method: 'SUBSCRIBE', toTag: 'our1', cseq: 2, contact: 'sip:bob@192.0.2.11:5070', headers: [['Event', 'presence']] });
    const ev = parseEventHeader('presence')!;
    assert.deepEqual(w.notifier.refresh(refresh, ev, 'ft1', 'our1', 1200, 2, FLOW2), { status: 200, expires: 1200 });
    await settle();
    assert.equal(w.sent.length, 2);
    const n = w.sent[1]!.request;
    assert.equal(state(n), 'active;expires=1200');
    assert.equal(n.headers.get('cseq'), '2 NOTIFY');
    assert.equal(formatUri(n.uri), 'sip:bob@192.0.2.11:5070');
    assert.equal(bodyText(n), `${ALICE}=0 v1`, 'the version counts the NOTIFYs');
    assert.deepEqual(w.sent[0]!.arrivedOn, FLOW);
    assert.deepEqual(w.sent[1]!.arrivedOn, FLOW2, 'where the last SUBSCRIBE came from');
    assert.equal(w.notifier.refresh(refresh, ev, 'ft1', 'our1', 1200, 2, FLOW2).status, 500, 'CSeq not above the last');
    assert.equal(w.notifier.refresh(refresh, ev, 'ft1', 'other', 1200, 3, FLOW2).status, 481, 'unknown dialog');
    assert.equal(w.notifier.refresh(refresh, parseEventHeader('presence;id=9')!, 'ft1', 'our1', 1200, 3, FLOW2).status, 481, 'another event id');
    assert.deepEqual(w.notifier.refresh(refresh, ev, 'ft1', 'our1', 10, 3, FLOW2), { status: 423, minExpires: 60 });
  });

  test('unsubscribe (Expires 0): NOTIFY terminated;reason=timeout with the state, then the subscription is gone', async () => {
    const w = world();
    w.notifier.subscribe(input(w.pkg));
    await settle();
    const unsub = sipRequest({ method: 'SUBSCRIBE', toTag: 'our1', cseq: 2, headers: [['Event', 'presence']] });
    assert.deepEqual(w.notifier.refresh(unsub, parseEventHeader('presence')!, 'ft1', 'our1', 0, 2, FLOW2), { status: 200, expires: 0 });
    await settle();
    assert.equal(w.sent.length, 2);
    assert.equal(state(w.sent[1]!.request), 'terminated;reason=timeout');
    assert.equal(bodyText(w.sent[1]!.request), `${ALICE}=0 v1`);
    assert.equal(w.notifier.stats().subscriptions, 0);
    assert.deepEqual(w.pkg.unwatched, [ALICE]);
    assert.equal(w.notifier.refresh(unsub, parseEventHeader('presence')!, 'ft1', 'our1', 600, 3, FLOW2).status, 481);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('expiry: NOTIFY terminated;reason=timeout when the subscription runs out', async () => {
    const w = world();
    w.notifier.subscribe(input(w.pkg, {}, { expires: 120 }));
    await settle();
    w.clock.advance(119_999);
    await settle();
    assert.equal(w.sent.length, 1);
    w.clock.advance(1);
    await settle();
    assert.equal(w.sent.length, 2);
    assert.equal(state(w.sent[1]!.request), 'terminated;reason=timeout');
    assert.equal(w.notifier.stats().subscriptions, 0);
  });

  test('a fetch (initial Expires 0): one terminated NOTIFY with the state', async () => {
    const w = world();
    assert.deepEqual(w.notifier.subscribe(input(w.pkg, {}, { expires: 0 })), { status: 200, expires: 0 });
    await settle();
    assert.equal(w.sent.length, 1);
    assert.equal(state(w.sent[0]!.request), 'terminated;reason=timeout');
    assert.equal(bodyText(w.sent[0]!.request), `${ALICE}=0 v0`);
    assert.equal(w.notifier.stats().subscriptions, 0);
  });

  test('a NOTIFY answered 481, or timing out (408), removes the subscription; a 500 does not', async () => {
    for (const status of [481, 408]) {
      const w = world();
      w.answerWith(() => Promise.resolve(status));
      w.notifier.subscribe(input(w.pkg));
      await settle();
      assert.equal(w.notifier.stats().subscriptions, 0, String(status));
      assert.equal(w.notifier.stats().removedByNotifyFailure, 1);
      assert.deepEqual(w.pkg.unwatched, [ALICE]);
      w.pkg.change(ALICE, 1);
      await settle();
      assert.equal(w.sent.length, 1, 'nothing more is sent');
    }
    const w = world();
    w.answerWith(() => Promise.reject(new Error('transport')));
    w.notifier.subscribe(input(w.pkg));
    await settle();
    assert.equal(w.notifier.stats().subscriptions, 0, 'a send that fails counts as a timeout');
    const kept = world();
    kept.answerWith(() => Promise.resolve(500));
    kept.notifier.subscribe(input(kept.pkg));
    await settle();
    assert.equal(kept.notifier.stats().subscriptions, 1);
  });

  test('Expires: 423 below the minimum, clamped to the maximum, the package default when absent', () => {
    const w = world({ minExpires: 60, maxExpires: 1800 });
    assert.deepEqual(w.notifier.subscribe(input(w.pkg, { callId: 'a' }, { expires: 30 })), { status: 423, minExpires: 60 });
    assert.deepEqual(w.notifier.subscribe(input(w.pkg, { callId: 'b' }, { expires: 86_400 })), { status: 200, expires: 1800 });
    assert.deepEqual(w.notifier.subscribe(input(w.pkg, { callId: 'c' }, { expires: undefined })), { status: 200, expires: 1800 });
  });

  test('limits per watcher, per presentity and per peer → 503 with Retry-After', () => {
    const w = world({ maxPerWatcher: 2, maxPerPresentity: 3, maxTotal: 5, retryAfter: 17 });
    const sub = (callId: string, watcher: string, presentity: string) => w.notifier.subscribe(input(w.pkg, { callId }, { watcher, presentity }));
    assert.equal(sub('1', BOB, ALICE).status, 200);
    assert.equal(sub('2', BOB, 'sip:carol@p2psip.local').status, 200);
    const perWatcher = sub('3', BOB, 'sip:dave@p2psip.local');
    assert.equal(perWatcher.status, 503);
    assert.equal(perWatcher.status === 503 && perWatcher.retryAfter, 17);
    assert.match(perWatcher.status === 503 ? perWatcher.reason : '', /this watcher/);
    assert.equal(sub('4', 'sip:w1@p2psip.local', ALICE).status, 200);
    assert.equal(sub('5', 'sip:w2@p2psip.local', ALICE).status, 200);
    const perPresentity = sub('6', 'sip:w3@p2psip.local', ALICE);
    assert.match(perPresentity.status === 503 ? perPresentity.reason : '', /this presentity/);
    assert.equal(sub('7', 'sip:w4@p2psip.local', 'sip:erin@p2psip.local').status, 200);
    const total = sub('8', 'sip:w5@p2psip.local', 'sip:erin@p2psip.local');
    assert.match(total.status === 503 ? total.reason : '', /this peer/);
    assert.equal(w.notifier.stats().subscriptions, 5);
  });

  test('bad SUBSCRIBEs: no Contact, no From tag → 400', () => {
    const w = world();
    assert.equal(w.notifier.subscribe(input(w.pkg, { contact: null })).status, 400);
    const noTag = input(w.pkg);
    noTag.request.headers.set('From', '<sip:bob@p2psip.local>');
    assert.equal(w.notifier.subscribe(noTag).status, 400);
    assert.equal(w.notifier.stats().subscriptions, 0);
  });

  test('throttle: the first change goes at once, later ones are coalesced; every change reaches the watcher within 1 s', async () => {
    const w = world({ throttleMs: 200 });
    w.notifier.subscribe(input(w.pkg));
    await settle();
    w.clock.advance(5_000);
    const t0 = w.clock.now();
    w.pkg.change(ALICE, 1);
    await settle();
    assert.equal(w.sent.length, 2, 'first change after a quiet spell: at once');
    assert.equal(w.sent[1]!.at, t0);
    for (let i = 2; i <= 5; i++) {
      w.clock.advance(30);
      w.pkg.change(ALICE, i);
      await settle();
    }
    assert.equal(w.sent.length, 2, 'changes inside the window wait');
    w.clock.advanceTo(t0 + 199);
    await settle();
    assert.equal(w.sent.length, 2);
    w.clock.advanceTo(t0 + 200);
    await settle();
    assert.equal(w.sent.length, 3, 'coalesced into one NOTIFY');
    assert.equal(w.sent[2]!.at, t0 + 200);
    assert.equal(bodyText(w.sent[2]!.request), `${ALICE}=5 v2`, 'with the latest state');
    assert.ok(w.sent[2]!.at - (t0 + 120) < 1000);
  });

  test('an unchanged state is not notified again; one read serves every watcher of the resource', async () => {
    const w = world();
    w.notifier.subscribe(input(w.pkg, { callId: 'a' }));
    w.notifier.subscribe(input(w.pkg, { callId: 'b' }, { watcher: 'sip:w2@p2psip.local' }));
    await settle();
    assert.equal(w.sent.length, 2);
    assert.equal(w.pkg.reads, 1);
    w.clock.advance(1_000);
    w.pkg.watchers.get(ALICE)!(); // a change signal, same value
    await settle();
    assert.equal(w.sent.length, 2);
    w.clock.advance(1_000);
    w.pkg.change(ALICE, 7);
    await settle();
    assert.equal(w.sent.length, 4);
  });

  test('one NOTIFY at a time per subscription: a change waits for the answer to the last', async () => {
    const w = world({ throttleMs: 0 });
    let release: (s: number) => void = () => {};
    w.answerWith(() => new Promise<number>((resolve) => (release = resolve)));
    w.notifier.subscribe(input(w.pkg));
    await settle();
    assert.equal(w.sent.length, 1);
    w.pkg.change(ALICE, 1);
    await settle();
    assert.equal(w.sent.length, 1, 'the first is unanswered');
    release(200);
    await settle();
    assert.equal(w.sent.length, 2);
    assert.equal(w.sent[1]!.request.headers.get('cseq'), '2 NOTIFY');
  });

  test('a state that cannot be read: the first NOTIFY goes without a body, changes are not notified', async () => {
    const w = world();
    w.pkg.fail = true;
    w.notifier.subscribe(input(w.pkg));
    await settle();
    assert.equal(w.sent.length, 1);
    assert.equal(w.sent[0]!.request.body.length, 0);
    assert.equal(w.sent[0]!.request.headers.has('content-type'), false);
    w.clock.advance(2_000);
    w.pkg.change(ALICE, 1);
    await settle();
    assert.equal(w.sent.length, 1);
  });

  test('a state that never comes: the NOTIFY goes without a body after stateTimeoutMs', async () => {
    const w = world({ stateTimeoutMs: 3_000 });
    w.pkg.state = () => new Promise(() => {});
    w.notifier.subscribe(input(w.pkg));
    await settle();
    assert.equal(w.sent.length, 0);
    w.clock.advance(3_000);
    await settle();
    assert.equal(w.sent.length, 1);
    assert.equal(w.sent[0]!.request.body.length, 0);
  });

  test('terminateAll: NOTIFY terminated;reason=deactivated to everyone, resolved once answered', async () => {
    const w = world();
    w.notifier.subscribe(input(w.pkg, { callId: 'a' }));
    w.notifier.subscribe(input(w.pkg, { callId: 'b' }, { presentity: 'sip:carol@p2psip.local' }));
    await settle();
    let done = false;
    void w.notifier.terminateAll().then(() => (done = true));
    await settle();
    assert.ok(done);
    assert.deepEqual(w.sent.slice(2).map((s) => state(s.request)), ['terminated;reason=deactivated', 'terminated;reason=deactivated']);
    assert.equal(w.notifier.stats().subscriptions, 0);
    assert.equal(w.notifier.stats().resources, 0);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('a strict-routing first hop: it becomes the Request-URI and the target the last Route', async () => {
    const w = world();
    w.notifier.subscribe(input(w.pkg, { headers: [['Event', 'presence'], ['Record-Route', '<sip:192.0.2.60>']] }));
    await settle();
    const n = w.sent[0]!.request;
    assert.equal(formatUri(n.uri), 'sip:192.0.2.60');
    assert.deepEqual(n.headers.getAll('route'), ['<sip:bob@192.0.2.10:5060>']);
  });
});
