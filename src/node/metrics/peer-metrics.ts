/**
 * The metrics of one peer (issue 17), in a prom-client Registry of its own — never the process-wide
 * default registry, so several peers in one process (tests, the library API, `p2psip demo`) keep
 * apart. What the peer already counts (transactions, overlay counters, storage, links) is read when
 * the registry is scraped; what it does not count is counted here from events: the SIP side's
 * (peer-events.ts: requests, responses, registrations, calls) and the overlay's `answer` (hops and
 * latency of the requests this peer originates, replication traffic).
 *
 * Every label takes values from a bounded set (metric-labels.ts). The metric names and their
 * meaning are listed in docs/architecture.md ("Metrics and logs").
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import type { EventSource } from '../../lib/event-hub.js';
import { MessageCode } from '../../reload/codec/index.js';
import type { OverlayEventMap, OverlayState } from '../../reload/overlay/overlay-types.js';
import type { PeerEvents } from '../peer-events.js';
import { callOutcome, reloadMessageLabel, reloadMethodLabel, sipMethodLabel, sipStatusLabel, sipTransportLabel } from './metric-labels.js';

/** The least time between two passes over the storage for the per-Kind gauges (a scrape flood costs one pass per interval). */
export const STORAGE_SCAN_MIN_INTERVAL_MS = 5_000;

/** Buckets of the SIP response time histogram, seconds. */
export const SIP_RESPONSE_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32]);
/** Buckets of the RELOAD request latency histogram, seconds (RFC 6940 §6.2.1: 3 s per transmission, up to 5). */
export const RELOAD_LATENCY_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15]);
/** Buckets of the overlay hop count histogram. */
export const RELOAD_HOP_BUCKETS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32]);

/** What the metrics read of the SIP front (SipPeer has it). */
export interface MetricsSip {
  transactions: { stats(): { serverTransactions: number; clientTransactions: number } };
  transport: { stats(): { openConnections: number } };
  location: { size(): number };
  callsInProgress(): number;
}

/** Per-link numbers the metrics read: the TLS links (LinkLayer) and the ICE links (IceLinks). */
export interface MetricsLinks {
  linkIds(): string[];
  stats(linkId: string): { srttMs: number | undefined } | undefined;
}

export interface MetricsIceLinks {
  describe(): ReadonlyArray<{ phase: string; pair?: string; sr?: { srttMs: number | undefined } }>;
}

/** What the metrics read of the overlay (RunningOverlay has it). */
export interface MetricsOverlay {
  node: {
    readonly counters: {
      readonly codesIn: ReadonlyMap<number, number>;
      readonly codesOut: ReadonlyMap<number, number>;
      readonly bytesOut: number;
      readonly forwarded: number;
      readonly delivered: number;
      readonly droppedTotal: number;
    };
    readonly events: EventSource<OverlayEventMap>;
    readonly state: OverlayState;
    status(): { nodeId: string; successors: readonly string[]; predecessors: readonly string[]; fingers: readonly string[]; connections: number };
  };
  links: MetricsLinks;
  iceLinks: MetricsIceLinks | undefined;
  storage: {
    summary(): { resources: number; values: number; bytes: number };
    readonly engine: { summaryByKind(): ReadonlyMap<number, { values: number; bytes: number }> };
    kinds(kindId: number): { name: string } | undefined;
    readonly replicas: { readonly counters: { replicaStoresSent: number; handoversSent: number; sendFailures: number } };
  };
}

export interface PeerMetricsSource {
  clock: Clock;
  events: PeerEvents;
  sip: MetricsSip;
  overlay: MetricsOverlay | undefined;
  /** The overlay name (the `overlay` label of p2psip_peer_info). */
  overlayName: string;
}

export interface PeerMetricsOptions {
  /** prom-client's default metrics (event-loop lag, heap, GC, CPU, handles) on this registry; default true. */
  defaultMetrics?: boolean;
}

export interface PeerMetrics {
  readonly registry: Registry;
  /** The text exposition (Prometheus format 0.0.4). */
  scrape(): Promise<string>;
  /** Unsubscribes from the events and empties the registry. */
  close(): void;
}

type LinkType = 'tls' | 'dtls' | 'dtls-relayed';
const LINK_TYPES: readonly LinkType[] = ['tls', 'dtls', 'dtls-relayed'];

/** A counter whose value is read from the peer at scrape time (it only grows there). */
function readCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, Math.max(0, v)));
    },
  });
}

function readGauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.set(labels, v));
    },
  });
}

export function createPeerMetrics(src: PeerMetricsSource, options: PeerMetricsOptions = {}): PeerMetrics {
  const registry = new Registry();
  const unsubscribe: Array<() => void> = [];
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  readGauge(registry, 'p2psip_peer_info', 'This peer: overlay name and Node-ID (value 1).', ['overlay', 'node_id'], (set) =>
    set({ overlay: src.overlayName, node_id: src.overlay?.node.status().nodeId ?? '' }, 1),
  );

  // ---------------------------------------------------------------- SIP, from the SIP-side events
  const sipRequests = new Counter({ name: 'p2psip_sip_requests_total', help: 'SIP requests received from the network (retransmissions and ACKs included), by method and transport.', labelNames: ['method', 'transport'], registers: [registry] });
  const sipResponses = new Counter({ name: 'p2psip_sip_responses_total', help: 'Final SIP responses sent, one per request (server transaction or stateless answer), by method and status code.', labelNames: ['method', 'code'], registers: [registry] });
  const sipResponseTime = new Histogram({ name: 'p2psip_sip_response_seconds', help: 'Time from a SIP request to its final response, by method.', labelNames: ['method'], buckets: [...SIP_RESPONSE_BUCKETS], registers: [registry] });
  const registrations = new Counter({ name: 'p2psip_sip_registration_changes_total', help: 'Changes of bindings at this registrar, by action (added, refreshed, removed, expired).', labelNames: ['action'], registers: [registry] });
  const calls = new Counter({ name: 'p2psip_sip_calls_total', help: 'Calls (INVITE dialogs) proxied here, by outcome of the INVITE: answered, busy, declined, cancelled, failed.', labelNames: ['outcome'], registers: [registry] });
  const callsStarted = new Counter({ name: 'p2psip_sip_calls_started_total', help: 'INVITEs (new dialogs) that reached this peer.', registers: [registry] });
  const callsEnded = new Counter({ name: 'p2psip_sip_calls_ended_total', help: 'Answered calls that ended (BYE seen here, or none seen for 12 h).', registers: [registry] });
  for (const action of ['added', 'refreshed', 'removed', 'expired']) registrations.inc({ action }, 0);
  for (const outcome of ['answered', 'busy', 'declined', 'cancelled', 'failed']) calls.inc({ outcome }, 0);
  unsubscribe.push(
    src.events.on('sip.request', (e) => sipRequests.inc({ method: sipMethodLabel(e.method), transport: sipTransportLabel(e.transport) })),
    src.events.on('sip.response', (e) => {
      const method = sipMethodLabel(e.method);
      sipResponses.inc({ method, code: sipStatusLabel(e.status) });
      sipResponseTime.observe({ method }, Math.max(0, e.elapsedMs) / 1000);
    }),
    src.events.on('registration', (e) => registrations.inc({ action: e.action })),
    src.events.on('call', (e) => {
      if (e.state === 'started') callsStarted.inc();
      else if (e.state === 'answered' || e.state === 'failed') calls.inc({ outcome: callOutcome(e.status) });
      else if (e.state === 'ended') callsEnded.inc();
    }),
  );
  readGauge(registry, 'p2psip_sip_transactions', 'SIP transactions in flight, by role (server, client).', ['role'], (set) => {
    const s = src.sip.transactions.stats();
    set({ role: 'server' }, s.serverTransactions);
    set({ role: 'client' }, s.clientTransactions);
  });
  readGauge(registry, 'p2psip_sip_connections', 'Open SIP connections (TCP, TLS, WebSocket).', [], (set) => set({}, src.sip.transport.stats().openConnections));
  readGauge(registry, 'p2psip_sip_registered_aors', 'Addresses-of-record with at least one binding at this registrar.', [], (set) => set({}, src.sip.location.size()));
  readGauge(registry, 'p2psip_sip_calls_in_progress', 'Calls proxied here that started and have not ended or failed.', [], (set) => set({}, src.sip.callsInProgress()));

  const overlay = src.overlay;
  if (overlay !== undefined) registerOverlay(registry, src.clock, overlay, unsubscribe);

  return {
    registry,
    scrape: () => registry.metrics(),
    close() {
      for (const u of unsubscribe.splice(0)) u();
      registry.clear();
    },
  };
}

function registerOverlay(registry: Registry, clock: Clock, overlay: MetricsOverlay, unsubscribe: Array<() => void>): void {
  const node = overlay.node;
  readCounter(registry, 'p2psip_reload_messages_total', 'RELOAD messages (and fragments) received from and sent on links, forwarded ones included, by direction and message code.', ['direction', 'method'], (set) => {
    for (const [direction, map] of [
      ['in', node.counters.codesIn],
      ['out', node.counters.codesOut],
    ] as const) {
      const byLabel = new Map<string, number>();
      for (const [code, n] of map) {
        const label = reloadMessageLabel(code);
        byLabel.set(label, (byLabel.get(label) ?? 0) + n);
      }
      for (const [method, n] of byLabel) set({ direction, method }, n);
    }
  });
  readCounter(registry, 'p2psip_reload_sent_bytes_total', 'Bytes of RELOAD messages sent on links (with their framing).', [], (set) => set({}, node.counters.bytesOut));
  readCounter(registry, 'p2psip_reload_forwarded_total', 'RELOAD messages this peer forwarded for others.', [], (set) => set({}, node.counters.forwarded));
  readCounter(registry, 'p2psip_reload_delivered_total', 'RELOAD messages delivered to this peer.', [], (set) => set({}, node.counters.delivered));
  readCounter(registry, 'p2psip_reload_dropped_total', 'RELOAD messages dropped or refused here (any reason; /api/status overlayStats.dropped has them by reason).', [], (set) => set({}, node.counters.droppedTotal));
  readGauge(registry, 'p2psip_reload_joined', '1 while this peer is joined to the overlay, else 0.', [], (set) => set({}, node.state === 'joined' ? 1 : 0));
  readGauge(registry, 'p2psip_reload_neighbours', 'Entries of the neighbour and finger tables, by role (successor, predecessor, finger).', ['role'], (set) => {
    const s = node.status();
    set({ role: 'successor' }, s.successors.length);
    set({ role: 'predecessor' }, s.predecessors.length);
    set({ role: 'finger' }, s.fingers.length);
  });
  readGauge(registry, 'p2psip_reload_connections', 'Entries of the Connection Table (RFC 6940 §6.5).', [], (set) => set({}, node.status().connections));
  registerLinks(registry, overlay);

  const hops = new Histogram({ name: 'p2psip_reload_request_hops', help: 'Overlay hops of the answers to requests this peer originated, by method.', labelNames: ['method'], buckets: [...RELOAD_HOP_BUCKETS], registers: [registry] });
  const latency = new Histogram({
    name: 'p2psip_reload_request_seconds',
    help: 'Time from a RELOAD request this peer originated to its answer or failure, by method, target (resource: a lookup; node) and outcome (ok, error).',
    labelNames: ['method', 'target', 'outcome'],
    buckets: [...RELOAD_LATENCY_BUCKETS],
    registers: [registry],
  });
  const replicationBytes = new Counter({
    name: 'p2psip_storage_replication_sent_bytes_total',
    help: 'Bytes of the Store requests sent to a Node-ID: replicas and hand-overs (RFC 6940 §10.4, §10.5); client Stores go to a Resource-ID.',
    registers: [registry],
  });
  replicationBytes.inc(0);
  unsubscribe.push(
    node.events.on('answer', (e) => {
      const method = reloadMethodLabel(e.code);
      if (e.ok) hops.observe({ method }, e.hops);
      latency.observe({ method, target: e.target, outcome: e.ok ? 'ok' : 'error' }, Math.max(0, e.ms) / 1000);
      if (e.code === MessageCode.store_req && e.target === 'node') replicationBytes.inc(e.bytes);
    }),
  );

  const storage = overlay.storage;
  readGauge(registry, 'p2psip_storage_resources', 'Resources (Resource-IDs) this peer stores for the overlay.', [], (set) => set({}, storage.summary().resources));
  let scanned: { at: number; byKind: ReadonlyMap<number, { values: number; bytes: number }> } | undefined;
  const byKind = (): ReadonlyMap<number, { values: number; bytes: number }> => {
    const now = clock.now();
    if (scanned === undefined || now - scanned.at >= STORAGE_SCAN_MIN_INTERVAL_MS) scanned = { at: now, byKind: storage.engine.summaryByKind() };
    return scanned.byKind;
  };
  const kindName = (id: number): string => storage.kinds(id)?.name ?? `0x${id.toString(16)}`;
  readGauge(registry, 'p2psip_storage_values', 'Values stored here, by Kind (refreshed at most every 5 s).', ['kind'], (set) => {
    for (const [id, s] of byKind()) set({ kind: kindName(id) }, s.values);
  });
  readGauge(registry, 'p2psip_storage_bytes', 'Bytes stored here as charged against the storage limit, by Kind (refreshed at most every 5 s).', ['kind'], (set) => {
    for (const [id, s] of byKind()) set({ kind: kindName(id) }, s.bytes);
  });
  readCounter(registry, 'p2psip_storage_replica_stores_total', 'Stores sent to keep copies: replicas to successors and hand-overs to a new responsible peer.', ['type'], (set) => {
    const c = storage.replicas.counters;
    set({ type: 'replica' }, c.replicaStoresSent);
    set({ type: 'handover' }, c.handoversSent);
  });
  readCounter(registry, 'p2psip_storage_replication_failures_total', 'Replica and hand-over Stores that failed.', [], (set) => set({}, storage.replicas.counters.sendFailures));
}

/** Links by type with their smoothed RTT (RFC 6298 SRTT from the link's ACKs, RFC 6940 §6.6.3.1). */
function registerLinks(registry: Registry, overlay: MetricsOverlay): void {
  const collectLinks = (): Map<LinkType, number[]> => {
    const out = new Map<LinkType, number[]>(LINK_TYPES.map((t) => [t, []]));
    const rtts = (t: LinkType): number[] => out.get(t)!;
    for (const id of overlay.links.linkIds()) rtts('tls').push(overlay.links.stats(id)?.srttMs ?? Number.NaN);
    for (const v of overlay.iceLinks?.describe() ?? []) {
      if (v.phase !== 'open') continue;
      rtts(v.pair?.includes('relay') === true ? 'dtls-relayed' : 'dtls').push(v.sr?.srttMs ?? Number.NaN);
    }
    return out;
  };
  readGauge(registry, 'p2psip_reload_links', 'Overlay links open or opening, by type: tls (TLS-TCP-FH-NO-ICE), dtls (DTLS-UDP-SR over ICE), dtls-relayed (through a TURN relay).', ['type'], (set) => {
    for (const [type, list] of collectLinks()) set({ type }, list.length);
  });
  readGauge(registry, 'p2psip_reload_link_rtt_seconds', 'Smoothed RTT of the overlay links (those with an RTT sample), by type and statistic (min, avg, max over the links).', ['type', 'stat'], (set) => {
    const links = collectLinks();
    for (const [type, list] of links) {
      const known = list.filter((x) => Number.isFinite(x));
      if (known.length === 0) continue;
      set({ type, stat: 'min' }, Math.min(...known) / 1000);
      set({ type, stat: 'avg' }, known.reduce((a, b) => a + b, 0) / known.length / 1000);
      set({ type, stat: 'max' }, Math.max(...known) / 1000);
    }
  });
}
