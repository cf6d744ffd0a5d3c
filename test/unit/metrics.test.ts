/**
 * The peer's metrics (issue 17): names, labels and values of the scrape, fed by a hub of peer
 * events, the overlay's `answer` events and counters read at scrape time; one registry per peer;
 * label values from bounded sets; the /metrics route.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { EventHub } from '../../src/lib/event-hub.js';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { MessageCode } from '../../src/reload/codec/index.js';
import { OverlayCounters } from '../../src/reload/overlay/overlay-counters.js';
import type { OverlayEventMap, OverlayState } from '../../src/reload/overlay/overlay-types.js';
import type { PeerEventMap } from '../../src/node/peer-events.js';
import { createPeerMetrics, STORAGE_SCAN_MIN_INTERVAL_MS, type MetricsOverlay, type MetricsSip } from '../../src/node/metrics/peer-metrics.js';
import { callOutcome, reloadMessageLabel, reloadMethodLabel, SIP_METHODS, sipMethodLabel, sipStatusLabel } from '../../src/node/metrics/metric-labels.js';
import { createMetricsRoute } from '../../src/node/metrics/metrics-route.js';
import type { PeerRoutesContext } from '../../src/node/peer-routes-context.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (enough of the format for these tests; the interop test uses a real parser). */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = all.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length);
  return s?.value;
}

class FakeSip implements MetricsSip {
  server = 0;
  client = 0;
  aors = 0;
  calls = 0;
  transactions = { stats: () => ({ serverTransactions: this.server, clientTransactions: this.client }) };
  transport = { stats: () => ({ openConnections: 3 }) };
  location = { size: () => this.aors };
  callsInProgress(): number {
    return this.calls;
  }
}

function fakeOverlay() {
  const counters = new OverlayCounters();
  const events = new EventHub<OverlayEventMap>();
  const byKind = new Map<number, { values: number; bytes: number }>([[1, { values: 2, bytes: 300 }]]);
  let scans = 0;
  const replicaCounters = { replicaStoresSent: 4, handoversSent: 1, sendFailures: 2 };
  const state: { value: OverlayState } = { value: 'joined' };
  const overlay: MetricsOverlay = {
    node: {
      counters,
      events,
      get state() {
        return state.value;
      },
      status: () => ({ nodeId: 'ab'.repeat(16), successors: ['1', '2'], predecessors: ['3'], fingers: ['1', '2', '4'], connections: 5 }),
    },
    links: { linkIds: () => ['l1', 'l2', 'l3'], stats: (id) => (id === 'l3' ? { srttMs: undefined } : { srttMs: id === 'l1' ? 10 : 30 }) },
    iceLinks: {
      describe: () => [
        { phase: 'open', pair: 'host→host', sr: { srttMs: 4 } },
        { phase: 'open', pair: 'relay→srflx', sr: { srttMs: 80 } },
        { phase: 'ice' },
      ],
    },
    storage: {
      summary: () => ({ resources: 7, values: 2, bytes: 300 }),
      engine: {
        summaryByKind: () => {
          scans++;
          return byKind;
        },
      },
      kinds: (id) => (id === 1 ? { name: 'SIP-REGISTRATION' } : undefined),
      replicas: { counters: replicaCounters },
    },
  };
  return { overlay, counters, events, byKind, scans: () => scans, state };
}

describe('metric labels are bounded', () => {
  test('SIP methods: the known ones as written, anything else other (methods are case-sensitive)', () => {
    for (const m of SIP_METHODS) assert.equal(sipMethodLabel(m), m);
    assert.equal(sipMethodLabel('invite'), 'other');
    assert.equal(sipMethodLabel('FOO'), 'other');
    assert.equal(sipMethodLabel('X'.repeat(5000)), 'other');
  });
  test('status codes: 100–699 as numbers, else other', () => {
    assert.equal(sipStatusLabel(100), '100');
    assert.equal(sipStatusLabel(486), '486');
    assert.equal(sipStatusLabel(699), '699');
    for (const s of [99, 700, 0, -1, 200.5, Number.NaN]) assert.equal(sipStatusLabel(s), 'other');
  });
  test('RELOAD codes: RFC 6940 names, else other; request methods without _req', () => {
    assert.equal(reloadMessageLabel(MessageCode.store_req), 'store_req');
    assert.equal(reloadMessageLabel(MessageCode.error), 'error');
    assert.equal(reloadMessageLabel(0x7777), 'other');
    assert.equal(reloadMethodLabel(MessageCode.app_attach_req), 'app_attach');
    assert.equal(reloadMethodLabel(MessageCode.fetch_ans), 'other');
  });
  test('call outcomes', () => {
    assert.deepEqual([200, 486, 600, 603, 487, 404, 503, undefined].map(callOutcome), ['answered', 'busy', 'busy', 'declined', 'cancelled', 'failed', 'failed', 'failed']);
  });
});

describe('peer metrics', () => {
  test('SIP: requests, responses, response time, registrations, calls, transactions', async () => {
    const hub = new EventHub<PeerEventMap>();
    const sip = new FakeSip();
    const m = createPeerMetrics({ clock: new ManualClock(0), events: hub, sip, overlay: undefined, overlayName: 'p2psip.local' }, { defaultMetrics: false });
    hub.emit('sip.request', { method: 'REGISTER', callId: 'r1', transport: 'udp', source: '192.0.2.1:5060' });
    hub.emit('sip.request', { method: 'INVITE', callId: 'c1', transport: 'channel', source: '192.0.2.2:5060' });
    hub.emit('sip.request', { method: 'invite', callId: 'c2', transport: 'carrier-pigeon', source: '192.0.2.2:5060' });
    hub.emit('sip.response', { method: 'REGISTER', status: 200, callId: 'r1', elapsedMs: 3 });
    hub.emit('sip.response', { method: 'INVITE', status: 486, callId: 'c1', elapsedMs: 1500 });
    hub.emit('sip.response', { method: 'INVITE', status: 999, callId: 'c3', elapsedMs: 1 });
    hub.emit('registration', { aor: 'sip:a@x', contact: 'sip:a@h', expires: 60, action: 'added' });
    hub.emit('registration', { aor: 'sip:a@x', contact: 'sip:a@h', expires: 0, action: 'expired' });
    for (const state of ['started', 'ringing', 'answered', 'ended'] as const) hub.emit('call', { callId: 'c1', from: 'a', to: 'b', state, ...(state === 'answered' ? { status: 200 } : {}) });
    hub.emit('call', { callId: 'c4', from: 'a', to: 'b', state: 'started' });
    hub.emit('call', { callId: 'c4', from: 'a', to: 'b', state: 'failed', status: 487, reason: 'Request Terminated' });
    sip.server = 2;
    sip.client = 1;
    sip.aors = 9;
    sip.calls = 1;
    const s = samples(await m.scrape());
    assert.equal(value(s, 'p2psip_sip_requests_total', { method: 'REGISTER', transport: 'udp' }), 1);
    assert.equal(value(s, 'p2psip_sip_requests_total', { method: 'INVITE', transport: 'channel' }), 1);
    assert.equal(value(s, 'p2psip_sip_requests_total', { method: 'other', transport: 'other' }), 1);
    assert.equal(value(s, 'p2psip_sip_responses_total', { method: 'REGISTER', code: '200' }), 1);
    assert.equal(value(s, 'p2psip_sip_responses_total', { method: 'INVITE', code: '486' }), 1);
    assert.equal(value(s, 'p2psip_sip_responses_total', { method: 'INVITE', code: 'other' }), 1);
    assert.equal(value(s, 'p2psip_sip_response_seconds_count', { method: 'INVITE' }), 2);
    assert.equal(value(s, 'p2psip_sip_response_seconds_bucket', { method: 'INVITE', le: '1' }), 1);
    assert.equal(value(s, 'p2psip_sip_response_seconds_bucket', { method: 'INVITE', le: '2.5' }), 2);
    assert.equal(value(s, 'p2psip_sip_response_seconds_sum', { method: 'REGISTER' }), 0.003);
    assert.equal(value(s, 'p2psip_sip_registration_changes_total', { action: 'added' }), 1);
    assert.equal(value(s, 'p2psip_sip_registration_changes_total', { action: 'expired' }), 1);
    assert.equal(value(s, 'p2psip_sip_registration_changes_total', { action: 'removed' }), 0, 'every action is listed from the start');
    assert.equal(value(s, 'p2psip_sip_calls_started_total'), 2);
    assert.equal(value(s, 'p2psip_sip_calls_total', { outcome: 'answered' }), 1);
    assert.equal(value(s, 'p2psip_sip_calls_total', { outcome: 'cancelled' }), 1);
    assert.equal(value(s, 'p2psip_sip_calls_total', { outcome: 'failed' }), 0);
    assert.equal(value(s, 'p2psip_sip_calls_ended_total'), 1);
    assert.equal(value(s, 'p2psip_sip_calls_in_progress'), 1);
    assert.equal(value(s, 'p2psip_sip_transactions', { role: 'server' }), 2);
    assert.equal(value(s, 'p2psip_sip_transactions', { role: 'client' }), 1);
    assert.equal(value(s, 'p2psip_sip_registered_aors'), 9);
    assert.equal(value(s, 'p2psip_sip_connections'), 3);
    assert.equal(value(s, 'p2psip_peer_info', { overlay: 'p2psip.local', node_id: '' }), 1);
    assert.equal(s.filter((x) => x.name.startsWith('p2psip_reload_') || x.name.startsWith('p2psip_storage_')).length, 0, 'no overlay, no overlay metrics');
    m.close();
  });

  test('overlay: messages by method, hops and latency, links and RTT, storage by kind, replication', async () => {
    const hub = new EventHub<PeerEventMap>();
    const clock = new ManualClock(0);
    const o = fakeOverlay();
    const m = createPeerMetrics({ clock, events: hub, sip: new FakeSip(), overlay: o.overlay, overlayName: 'p2psip.local' }, { defaultMetrics: false });
    o.counters.countReceived(MessageCode.fetch_req);
    o.counters.countReceived(MessageCode.fetch_req);
    o.counters.countReceived(0x4321);
    o.counters.countSent(100, false, MessageCode.fetch_ans);
    o.counters.countSent(50, true, MessageCode.update_req);
    o.counters.forwarded = 6;
    o.counters.dropped('loop');
    const answer = (e: Partial<OverlayEventMap['answer']>): void =>
      o.events.emit('answer', { tid: '00000000000000ff', code: MessageCode.fetch_req, target: 'resource', bytes: 200, ok: true, hops: 2, ms: 40, ...e });
    answer({});
    answer({ hops: 3, ms: 300 });
    answer({ ok: false, hops: 0, ms: 15_000, errorCode: 0, info: 'timeout' });
    answer({ code: MessageCode.store_req, target: 'node', bytes: 1234, hops: 1, ms: 5 });
    answer({ code: MessageCode.store_req, target: 'resource', bytes: 99, hops: 1, ms: 5 });
    const s = samples(await m.scrape());
    assert.equal(value(s, 'p2psip_reload_messages_total', { direction: 'in', method: 'fetch_req' }), 2);
    assert.equal(value(s, 'p2psip_reload_messages_total', { direction: 'in', method: 'other' }), 1);
    assert.equal(value(s, 'p2psip_reload_messages_total', { direction: 'out', method: 'fetch_ans' }), 1);
    assert.equal(value(s, 'p2psip_reload_messages_total', { direction: 'out', method: 'update_req' }), 1);
    assert.equal(value(s, 'p2psip_reload_sent_bytes_total'), 166, 'with 8 bytes of framing each');
    assert.equal(value(s, 'p2psip_reload_forwarded_total'), 6);
    assert.equal(value(s, 'p2psip_reload_dropped_total'), 1);
    assert.equal(value(s, 'p2psip_reload_joined'), 1);
    assert.equal(value(s, 'p2psip_reload_neighbours', { role: 'finger' }), 3);
    assert.equal(value(s, 'p2psip_reload_connections'), 5);
    assert.equal(value(s, 'p2psip_reload_request_hops_count', { method: 'fetch' }), 2, 'hops of answers only');
    assert.equal(value(s, 'p2psip_reload_request_hops_sum', { method: 'fetch' }), 5);
    assert.equal(value(s, 'p2psip_reload_request_hops_bucket', { method: 'fetch', le: '2' }), 1);
    assert.equal(value(s, 'p2psip_reload_request_seconds_count', { method: 'fetch', target: 'resource', outcome: 'ok' }), 2);
    assert.equal(value(s, 'p2psip_reload_request_seconds_count', { method: 'fetch', target: 'resource', outcome: 'error' }), 1);
    assert.equal(value(s, 'p2psip_reload_request_seconds_bucket', { method: 'fetch', target: 'resource', outcome: 'ok', le: '0.05' }), 1);
    assert.equal(value(s, 'p2psip_storage_replication_sent_bytes_total'), 1234, 'Stores to a Node-ID only');
    assert.equal(value(s, 'p2psip_reload_links', { type: 'tls' }), 3);
    assert.equal(value(s, 'p2psip_reload_links', { type: 'dtls' }), 1);
    assert.equal(value(s, 'p2psip_reload_links', { type: 'dtls-relayed' }), 1);
    assert.equal(value(s, 'p2psip_reload_link_rtt_seconds', { type: 'tls', stat: 'min' }), 0.01);
    assert.equal(value(s, 'p2psip_reload_link_rtt_seconds', { type: 'tls', stat: 'avg' }), 0.02, 'links without a sample left out');
    assert.equal(value(s, 'p2psip_reload_link_rtt_seconds', { type: 'tls', stat: 'max' }), 0.03);
    assert.equal(value(s, 'p2psip_reload_link_rtt_seconds', { type: 'dtls-relayed', stat: 'max' }), 0.08);
    assert.equal(value(s, 'p2psip_storage_resources'), 7);
    assert.equal(value(s, 'p2psip_storage_values', { kind: 'SIP-REGISTRATION' }), 2);
    assert.equal(value(s, 'p2psip_storage_bytes', { kind: 'SIP-REGISTRATION' }), 300);
    assert.equal(value(s, 'p2psip_storage_replica_stores_total', { type: 'replica' }), 4);
    assert.equal(value(s, 'p2psip_storage_replica_stores_total', { type: 'handover' }), 1);
    assert.equal(value(s, 'p2psip_storage_replication_failures_total'), 2);
    assert.equal(value(s, 'p2psip_peer_info', { overlay: 'p2psip.local', node_id: 'ab'.repeat(16) }), 1);

    // the per-Kind pass over the storage runs at most once per interval, however often it is scraped
    const before = o.scans();
    o.byKind.set(0x99, { values: 1, bytes: 10 });
    await m.scrape();
    assert.equal(o.scans(), before);
    clock.advance(STORAGE_SCAN_MIN_INTERVAL_MS);
    const s2 = samples(await m.scrape());
    assert.equal(o.scans(), before + 1);
    assert.equal(value(s2, 'p2psip_storage_values', { kind: '0x99' }), 1, 'a Kind the configuration does not name: its id');
    o.state.value = 'leaving';
    assert.equal(value(samples(await m.scrape()), 'p2psip_reload_joined'), 0);
    m.close();
    assert.equal(o.events.hasListeners('answer'), false, 'close() unsubscribes');
  });

  test('one registry per peer: two peers in one process do not mix, the global registry stays empty', async () => {
    const hubA = new EventHub<PeerEventMap>();
    const hubB = new EventHub<PeerEventMap>();
    const a = createPeerMetrics({ clock: new ManualClock(0), events: hubA, sip: new FakeSip(), overlay: undefined, overlayName: 'a' });
    const b = createPeerMetrics({ clock: new ManualClock(0), events: hubB, sip: new FakeSip(), overlay: undefined, overlayName: 'b' });
    hubA.emit('sip.request', { method: 'OPTIONS', callId: 'x', transport: 'udp', source: 'h:1' });
    const sa = samples(await a.scrape());
    const sb = samples(await b.scrape());
    assert.equal(value(sa, 'p2psip_sip_requests_total', { method: 'OPTIONS', transport: 'udp' }), 1);
    assert.equal(value(sb, 'p2psip_sip_requests_total', { method: 'OPTIONS', transport: 'udp' }), undefined);
    // prom-client's default metrics are on each peer's registry
    assert.ok(sa.some((x) => x.name === 'nodejs_eventloop_lag_seconds'));
    assert.ok(sb.some((x) => x.name === 'nodejs_heap_size_used_bytes'));
    assert.equal((await globalRegistry.metrics()).includes('p2psip_'), false);
    a.close();
    b.close();
  });

  test('label sets stay bounded whatever methods and codes arrive', async () => {
    const hub = new EventHub<PeerEventMap>();
    const m = createPeerMetrics({ clock: new ManualClock(0), events: hub, sip: new FakeSip(), overlay: undefined, overlayName: 'x' }, { defaultMetrics: false });
    for (let i = 0; i < 5_000; i++) {
      hub.emit('sip.request', { method: `M${i}`, callId: `c${i}`, transport: `t${i}`, source: 'h:1' });
      hub.emit('sip.response', { method: `M${i}`, status: i, callId: `c${i}`, elapsedMs: 1 });
    }
    const s = samples(await m.scrape());
    assert.equal(s.filter((x) => x.name === 'p2psip_sip_requests_total').length, 1);
    // codes 100..699 of method `other`, and `other` for the rest: at most 601 series
    assert.equal(s.filter((x) => x.name === 'p2psip_sip_responses_total').length, 601);
    m.close();
  });
});

describe('the /metrics route', () => {
  const ctx = (): PeerRoutesContext =>
    ({
      clock: new ManualClock(0),
      logger: { info: () => {}, warn: () => {} },
      events: new EventHub<PeerEventMap>(),
      sip: new FakeSip(),
      overlay: undefined,
      domain: 'p2psip.local',
    }) as unknown as PeerRoutesContext;

  test('GET /metrics: the text format; other paths are not its own; other methods 405; after close 503', async () => {
    const route = createMetricsRoute(ctx(), { defaultMetrics: false });
    const r = await route.handle('GET', new URL('http://127.0.0.1/metrics'), { headers: {} });
    assert.equal(r?.status, 200);
    assert.match(r?.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r?.body ?? '', /^# HELP p2psip_peer_info /m);
    assert.equal(await route.handle('GET', new URL('http://127.0.0.1/api/status'), { headers: {} }), undefined);
    const post = await route.handle('POST', new URL('http://127.0.0.1/metrics'), { headers: {} });
    assert.equal(post?.status, 405);
    assert.equal(post?.headers?.allow, 'GET, HEAD');
    route.close();
    assert.equal((await route.handle('GET', new URL('http://127.0.0.1/metrics'), { headers: {} }))?.status, 503);
  });
});
