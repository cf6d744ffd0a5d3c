/**
 * What the dashboard streams (issue 17), fed by the peer's event hubs on a fake clock: summaries
 * with rates computed from the events, lookup latency and replication from the overlay's answers,
 * calls in progress and call failures with their reason, the per-interval budget of single events
 * (a REGISTER storm is not an SSE storm), the log budget, and clean unsubscription on stop.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { EventHub } from '../../../src/lib/event-hub.js';
import { MessageCode } from '../../../src/reload/codec/index.js';
import type { OverlayEventMap, RequestOutcome } from '../../../src/reload/overlay/overlay-types.js';
import type { PeerEventMap } from '../../../src/node/peer-events.js';
import {
  CALL_SETUP_STALE_MS,
  DashboardFeed,
  MAX_CALL_FAILURES,
  MAX_CALLS_TRACKED,
  MAX_LOG_LINES_PER_INTERVAL,
  MAX_STREAMED_EVENTS_PER_INTERVAL,
  SUMMARY_INTERVAL_MS,
} from '../../../src/node/dashboard/dashboard-feed.js';
import { HISTORY_SAMPLES, type FeedSample } from '../../../src/node/dashboard/feed-window.js';
import { LogTail } from '../../../src/node/dashboard/log-tail.js';

function setup(opts: { watchers?: number } = {}) {
  const clock = new ManualClock(1_000);
  const peer = new EventHub<PeerEventMap>();
  const overlay = new EventHub<OverlayEventMap>();
  const tail = new LogTail({ now: () => 1_700_000_000_000 + clock.now() });
  const sent: Array<{ name: string; data: Record<string, unknown> }> = [];
  const out = {
    clientCount: opts.watchers ?? 1,
    publish: (name: string, data: unknown) => sent.push({ name, data: data as Record<string, unknown> }),
  };
  const counters = { overlayMessagesIn: 0, overlayMessagesOut: 0 };
  const stored = { resources: 5, values: 6, bytes: 700 };
  const feed = new DashboardFeed({
    clock,
    wallNow: () => 1_700_000_000_000 + clock.now(),
    events: peer,
    overlay: { events: overlay, hex: (id) => id.toString(16).padStart(32, '0') },
    logTail: tail,
    cumulative: () => ({ ...counters }),
    gauges: () => ({ registrations: 3, storage: { ...stored }, state: 'joined', fingers: ['aa', 'bb'] }),
    links: () => [],
    kinds: () => ({ kinds: [{ kind: 1, name: 'SIP-REGISTRATION', values: 2, bytes: 300 }] }),
    out,
  });
  const summaries = (): Array<Record<string, unknown>> => sent.filter((s) => s.name === 'summary').map((s) => s.data);
  const named = (name: string) => sent.filter((s) => s.name === name);
  return { clock, peer, overlay, tail, sent, out, counters, stored, feed, summaries, named };
}

const answer = (o: Partial<RequestOutcome>): RequestOutcome => ({ tid: '00', code: MessageCode.fetch_req, target: 'resource', bytes: 100, ok: true, hops: 1, ms: 10, ...o });

describe('dashboard feed: summaries and rates', () => {
  test('one summary per interval with SIP rates, lookup latency, replication and overlay rates', () => {
    const { clock, peer, overlay, counters, stored, summaries } = setup();
    for (let i = 0; i < 10; i++) peer.emit('sip.request', { method: 'INVITE', callId: `c${i}`, transport: 'udp', source: '127.0.0.1:5' });
    peer.emit('sip.response', { method: 'INVITE', status: 200, callId: 'c0', elapsedMs: 5 });
    peer.emit('sip.response', { method: 'INVITE', status: 407, callId: 'c1', elapsedMs: 5 });
    peer.emit('sip.response', { method: 'INVITE', status: 404, callId: 'c2', elapsedMs: 5 });
    overlay.emit('answer', answer({ ms: 10 }));
    overlay.emit('answer', answer({ ms: 30, ok: false }));
    overlay.emit('answer', answer({ code: MessageCode.store_req, target: 'node', bytes: 1000 }));
    overlay.emit('answer', answer({ code: MessageCode.store_req, target: 'resource', bytes: 5000 })); // a Store of ours, not replication
    overlay.emit('answer', answer({ code: MessageCode.attach_req, target: 'node', ms: 999 })); // not a lookup
    counters.overlayMessagesIn = 40;
    clock.advance(SUMMARY_INTERVAL_MS - 1);
    assert.equal(summaries().length, 0);
    clock.advance(1);
    const [s] = summaries();
    const sample = s!['sample'] as FeedSample;
    assert.equal(sample.sipRequestsPerSec, 5);
    assert.equal(sample.sipResponsesPerSec, 1.5);
    assert.equal(sample.sipErrorsPerSec, 0.5, 'the 404 counts, the 407 challenge does not');
    assert.equal(sample.lookups, 2);
    assert.equal(sample.lookupsFailed, 1);
    assert.equal(sample.lookupMsAvg, 20);
    assert.equal(sample.lookupMsMax, 30);
    assert.equal(sample.replicationStoresPerSec, 0.5);
    assert.equal(sample.replicationBytesPerSec, 500);
    assert.equal(sample.overlayInPerSec, 0, 'the first interval has no earlier reading');
    assert.deepEqual(s!['fingers'], ['aa', 'bb']);
    assert.deepEqual((s!['storageByKind'] as { kinds: unknown[] }).kinds.length, 1);
    const totals = s!['totals'] as Record<string, unknown>;
    assert.equal(totals['sipRequests'], 10);
    assert.equal(totals['registrations'], 3);
    assert.deepEqual(totals['storage'], { resources: 5, values: 6, bytes: 700 });
    // the next interval starts from zero; overlay rates now from the counters' difference
    counters.overlayMessagesIn = 60;
    clock.advance(SUMMARY_INTERVAL_MS);
    const s2 = summaries()[1]!;
    const sample2 = s2['sample'] as FeedSample;
    assert.equal(sample2.sipRequestsPerSec, 0);
    assert.equal(sample2.lookupMsAvg, null, 'no lookup: no latency (not zero)');
    assert.equal(sample2.overlayInPerSec, 10);
    assert.equal(s2['fingers'], undefined, 'fingers ride along only when they changed');
    assert.equal(s2['storageByKind'], undefined, 'the per-kind walk rides on every 5th summary, or when the resource count changed');
    stored.resources = 6;
    clock.advance(SUMMARY_INTERVAL_MS);
    assert.notEqual(summaries()[2]!['storageByKind'], undefined, 'the count changed: walked again');
  });

  test('nobody watching: no event is sent, but the history keeps filling (bounded)', () => {
    const { clock, peer, feed, sent } = setup({ watchers: 0 });
    peer.emit('registration', { aor: 'sip:a@x', contact: 'sip:a@127.0.0.1', expires: 60, action: 'added' });
    for (let i = 0; i < HISTORY_SAMPLES + 20; i++) clock.advance(SUMMARY_INTERVAL_MS);
    assert.equal(sent.length, 0);
    const h = feed.window.history();
    assert.equal(h.length, HISTORY_SAMPLES);
    assert.ok(h[0]!.at < h[h.length - 1]!.at);
  });
});

describe('dashboard feed: single events and their budget', () => {
  test('registrations, overlay state, neighbours and links are streamed as they happen', () => {
    const { peer, overlay, named } = setup();
    peer.emit('registration', { aor: 'sip:alice@x', contact: '<sip:alice@127.0.0.1:5070>', expires: 600, action: 'added' });
    overlay.emit('state', 'joined');
    overlay.emit('neighbours', { successors: [1n], predecessors: [2n, 3n] });
    overlay.emit('link-down', { linkId: 'L1', nodeId: 1n, reason: 'closed' });
    assert.equal(named('registration')[0]!.data['aor'], 'sip:alice@x');
    assert.deepEqual(named('state')[0]!.data, { state: 'joined' });
    assert.deepEqual(named('neighbours')[0]!.data, { successors: ['1'.padStart(32, '0')], predecessors: ['2'.padStart(32, '0'), '3'.padStart(32, '0')] });
    assert.deepEqual(named('link-down')[0]!.data, { linkId: 'L1', nodeId: '1'.padStart(32, '0'), reason: 'closed' });
  });

  test(`past ${MAX_STREAMED_EVENTS_PER_INTERVAL} single events in an interval the rest are counted as missed (the page resynchronises)`, () => {
    const { clock, peer, named, summaries } = setup();
    for (let i = 0; i < 150; i++) peer.emit('registration', { aor: `sip:u${i}@x`, contact: `sip:u${i}@127.0.0.1`, expires: 60, action: 'added' });
    assert.equal(named('registration').length, MAX_STREAMED_EVENTS_PER_INTERVAL);
    clock.advance(SUMMARY_INTERVAL_MS);
    assert.equal(summaries()[0]!['missed'], 50);
    // the budget is per interval
    peer.emit('registration', { aor: 'sip:late@x', contact: 'sip:late@127.0.0.1', expires: 60, action: 'added' });
    assert.equal(named('registration').length, MAX_STREAMED_EVENTS_PER_INTERVAL + 1);
    clock.advance(SUMMARY_INTERVAL_MS);
    assert.equal(summaries()[1]!['missed'], 0);
  });

  test(`log lines are streamed up to ${MAX_LOG_LINES_PER_INTERVAL} per interval; the rest are counted, the tail keeps them`, () => {
    const { clock, tail, named, summaries } = setup();
    for (let i = 0; i < MAX_LOG_LINES_PER_INTERVAL + 7; i++) tail.push('info', { i }, `line ${i}`);
    assert.equal(named('log').length, MAX_LOG_LINES_PER_INTERVAL);
    assert.equal(named('log')[0]!.data['msg'], 'line 0');
    clock.advance(SUMMARY_INTERVAL_MS);
    assert.equal(summaries()[0]!['logSkipped'], 7);
    assert.equal(tail.lines().length, MAX_LOG_LINES_PER_INTERVAL + 7);
  });
});

describe('dashboard feed: calls', () => {
  const call = (callId: string, state: PeerEventMap['call']['state'], extra: Partial<PeerEventMap['call']> = {}): PeerEventMap['call'] => ({ callId, from: 'sip:alice@x', to: 'sip:bob@x', state, ...extra });

  test('calls in progress follow started/ringing/answered/ended; a failure is kept with its status and reason', () => {
    const { peer, feed, named } = setup();
    peer.emit('call', call('c1', 'started'));
    peer.emit('call', call('c1', 'ringing'));
    peer.emit('call', call('c2', 'started'));
    assert.deepEqual(feed.callsInProgress().map((c) => [c.callId, c.state]), [['c1', 'ringing'], ['c2', 'started']]);
    peer.emit('call', call('c1', 'answered', { status: 200 }));
    peer.emit('call', call('c1', 'ended'));
    peer.emit('call', call('c2', 'failed', { status: 486, reason: 'Busy Here' }));
    assert.deepEqual(feed.callsInProgress(), []);
    const [f] = feed.callFailures();
    assert.deepEqual({ callId: f!.callId, status: f!.status, reason: f!.reason, to: f!.to }, { callId: 'c2', status: 486, reason: 'Busy Here', to: 'sip:bob@x' });
    assert.equal(named('call').length, 6);
    assert.equal(named('call')[5]!.data['reason'], 'Busy Here');
    assert.equal(typeof named('call')[5]!.data['at'], 'number');
    assert.deepEqual(feed.callTotals, { started: 2, answered: 1, failed: 1, ended: 1, forgotten: 0 });
  });

  test(`failures keep the last ${MAX_CALL_FAILURES}, newest first; a failure without reason says its status`, () => {
    const { peer, feed } = setup();
    for (let i = 0; i < MAX_CALL_FAILURES + 5; i++) peer.emit('call', call(`f${i}`, 'failed', { status: 404 }));
    const fs = feed.callFailures();
    assert.equal(fs.length, MAX_CALL_FAILURES);
    assert.equal(fs[0]!.callId, `f${MAX_CALL_FAILURES + 4}`);
    assert.equal(fs[0]!.reason, 'status 404');
  });

  test(`at most ${MAX_CALLS_TRACKED} calls tracked (the oldest forgotten); an unanswered call is forgotten after ${CALL_SETUP_STALE_MS / 1000} s`, () => {
    const { clock, peer, feed } = setup();
    for (let i = 0; i < MAX_CALLS_TRACKED + 3; i++) peer.emit('call', call(`c${i}`, 'started'));
    const inProgress = feed.callsInProgress();
    assert.equal(inProgress.length, MAX_CALLS_TRACKED);
    assert.equal(inProgress[0]!.callId, 'c3');
    assert.equal(feed.callTotals.forgotten, 3);
    peer.emit('call', call('c3', 'answered', { status: 200 }));
    clock.advance(CALL_SETUP_STALE_MS + SUMMARY_INTERVAL_MS);
    assert.deepEqual(feed.callsInProgress().map((c) => c.callId), ['c3'], 'only the answered call stays');
  });
});

describe('dashboard feed: stop', () => {
  test('stop() removes every listener it added and its timer', () => {
    const { clock, peer, overlay, feed, tail, sent } = setup();
    feed.stop();
    for (const n of ['sip.request', 'sip.response', 'registration', 'call'] as const) assert.equal(peer.listenerCount(n), 0, n);
    for (const n of ['answer', 'state', 'neighbours', 'link-up', 'link-down'] as const) assert.equal(overlay.listenerCount(n), 0, n);
    assert.equal(clock.pendingTimers, 0);
    tail.push('info', {}, 'after stop');
    assert.equal(sent.length, 0);
  });
});
