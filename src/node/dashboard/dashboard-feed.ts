/**
 * What the dashboard's browsers are told, fed by the peer's event hubs (node/peer-events.ts: SIP
 * requests, responses, registrations, calls; `OverlayNode.events`: state, neighbours, links, the
 * answers to the requests this node sent) and by the log tail — never by polling the whole status.
 *
 * Sans-I/O: the clock is injected; events go out through `out.publish` (the SSE hub). Per interval
 * ({@link SUMMARY_INTERVAL_MS}) a small `summary` event carries the counters and rates computed here,
 * which feed the page's graphs. Single events (registration, call, link, neighbours, state) are
 * streamed as they happen, at most {@link MAX_STREAMED_EVENTS_PER_INTERVAL} per interval: past it
 * they are counted as `missed` in the next summary and the page reloads the status once instead
 * (a REGISTER storm must not become an SSE storm). Log lines have their own budget.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { EventSource } from '../../lib/event-hub.js';
import { MessageCode } from '../../reload/codec/index.js';
import type { OverlayEventMap, RequestOutcome } from '../../reload/overlay/overlay-types.js';
import type { CallEvent, PeerEvents } from '../peer-events.js';
import { FeedWindow, type CumulativeCounters, type FeedSample } from './feed-window.js';
import type { LinkView } from './link-view.js';
import type { LogLine, LogTail } from './log-tail.js';
import type { KindsView } from './storage-by-kind.js';

/** Interval of the `summary` event and of the graphs' samples. */
export const SUMMARY_INTERVAL_MS = 2_000;
/** Single events streamed per interval at most (the rest: `missed`, the page resynchronises). */
export const MAX_STREAMED_EVENTS_PER_INTERVAL = 100;
/** Log lines streamed per interval at most (the rest: `logSkipped`; the tail keeps them). */
export const MAX_LOG_LINES_PER_INTERVAL = 50;
/** Call failures kept (the "why did my call fail" list). */
export const MAX_CALL_FAILURES = 20;
/** Calls in progress tracked at most (the oldest is forgotten past it). */
export const MAX_CALLS_TRACKED = 200;
/** The per-kind storage view rides on every this-many summaries (it is a pass over the storage), and on any summary after the number of resources changed. */
export const KINDS_EVERY_SUMMARIES = 5;
/** A call not answered after this long is forgotten (INVITE transactions end well before: RFC 3261 Timer C). */
export const CALL_SETUP_STALE_MS = 300_000;

/** Message codes that look a Resource-ID up (the "lookup latency" graph). */
const LOOKUP_CODES: ReadonlySet<number> = new Set([MessageCode.fetch_req, MessageCode.stat_req, MessageCode.find_req, MessageCode.ping_req]);

/** Values read at each interval's end (cheap: counters of the node). */
export type FeedCumulative = CumulativeCounters;

/** Values shown beside the graphs, read only while somebody watches (they cost a walk of a table). */
export interface FeedGauges {
  /** AoRs with bindings at this peer's registrar. */
  registrations: number;
  storage: { resources: number; values: number; bytes: number } | null;
  state: string;
  /** Node-IDs of the finger table (they change without an event). */
  fingers: readonly string[];
}

export interface CallView {
  callId: string;
  from: string;
  to: string;
  state: CallEvent['state'];
  /** Wall-clock ms when it started (or was first seen). */
  since: number;
}

export interface CallFailure {
  at: number;
  callId: string;
  from: string;
  to: string;
  status: number | null;
  reason: string;
}

export interface DashboardFeedDeps {
  clock: Clock;
  /** Wall-clock ms since the epoch (times shown to people). */
  wallNow: () => number;
  events: PeerEvents;
  overlay?: { events: EventSource<OverlayEventMap>; hex(id: bigint): string };
  logTail?: LogTail;
  cumulative: () => FeedCumulative;
  gauges: () => FeedGauges;
  links: () => LinkView[];
  /** Stored values per kind (a pass over the storage); absent: not shown. */
  kinds?: () => KindsView;
  out: { publish(name: string, data: unknown): void; readonly clientCount: number };
}

export class DashboardFeed {
  readonly window = new FeedWindow();
  private readonly calls = new Map<string, CallView & { setupUntil: number }>();
  private readonly failures: CallFailure[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private timer: TimerHandle | undefined;
  private lastTick: number;
  private streamed = 0;
  private missed = 0;
  private logStreamed = 0;
  private logSkipped = 0;
  private lastFingers = '';
  private summaries = 0;
  private lastResources = -1;
  readonly callTotals = { started: 0, answered: 0, failed: 0, ended: 0, forgotten: 0 };

  constructor(private readonly deps: DashboardFeedDeps) {
    this.lastTick = deps.clock.now();
    const e = deps.events;
    this.unsubscribe.push(
      e.on('sip.request', () => this.window.sipRequest()),
      e.on('sip.response', (r) => this.window.sipResponse(r.status)),
      e.on('registration', (r) => this.stream('registration', r)),
      e.on('call', (c) => this.call(c)),
    );
    const ov = deps.overlay;
    if (ov !== undefined) {
      this.unsubscribe.push(
        ov.events.on('answer', (a) => this.answer(a)),
        ov.events.on('state', (state) => this.stream('state', { state })),
        ov.events.on('neighbours', (n) => {
          if (this.watched()) this.stream('neighbours', { successors: n.successors.map((x) => ov.hex(x)), predecessors: n.predecessors.map((x) => ov.hex(x)) });
        }),
        ov.events.on('link-up', (l) => {
          if (!this.watched()) return;
          const link = this.deps.links().find((v) => v.linkId === l.linkId);
          this.stream('link-up', link ?? { linkId: l.linkId, nodeId: ov.hex(l.nodeId), type: 'unknown', rttMs: null, remote: `${l.remote.host}:${l.remote.port}`, outbound: l.outbound, routable: false, suspect: false, upSec: 0 });
        }),
        ov.events.on('link-down', (l) => this.stream('link-down', { linkId: l.linkId, nodeId: l.nodeId === undefined ? null : ov.hex(l.nodeId), reason: l.reason })),
      );
    }
    if (deps.logTail !== undefined) this.unsubscribe.push(deps.logTail.onLine((line) => this.log(line)));
    this.timer = deps.clock.setTimer(SUMMARY_INTERVAL_MS, () => this.tick());
  }

  /** Stops listening and sampling (the peer stops). */
  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Calls in progress, oldest first. */
  callsInProgress(): CallView[] {
    return [...this.calls.values()].map(({ setupUntil: _s, ...c }) => c);
  }

  /** The last call failures, newest first. */
  callFailures(): CallFailure[] {
    return [...this.failures].reverse();
  }

  /** The counters and gauges of a summary, as the page shows them. */
  totals(gauges: FeedGauges): Record<string, unknown> {
    return {
      ...this.window.totals,
      callsInProgress: this.calls.size,
      calls: { ...this.callTotals },
      registrations: gauges.registrations,
      storage: gauges.storage,
      state: gauges.state,
    };
  }

  private watched(): boolean {
    return this.deps.out.clientCount > 0;
  }

  private stream(name: string, data: unknown): void {
    if (!this.watched()) return;
    if (this.streamed >= MAX_STREAMED_EVENTS_PER_INTERVAL) {
      this.missed++;
      return;
    }
    this.streamed++;
    this.deps.out.publish(name, data);
  }

  private log(line: LogLine): void {
    if (!this.watched()) return;
    if (this.logStreamed >= MAX_LOG_LINES_PER_INTERVAL) {
      this.logSkipped++;
      return;
    }
    this.logStreamed++;
    this.deps.out.publish('log', line);
  }

  private answer(a: RequestOutcome): void {
    if (a.target === 'resource' && LOOKUP_CODES.has(a.code)) this.window.lookup(a.ms, a.ok);
    else if (a.target === 'node' && a.code === MessageCode.store_req) this.window.replication(a.bytes);
  }

  private call(c: CallEvent): void {
    const now = this.deps.clock.now();
    const known = this.calls.get(c.callId);
    if (c.state === 'ended' || c.state === 'failed') {
      this.calls.delete(c.callId);
      if (c.state === 'ended') this.callTotals.ended++;
      else {
        this.callTotals.failed++;
        this.failures.push({ at: this.deps.wallNow(), callId: c.callId, from: c.from, to: c.to, status: c.status ?? null, reason: c.reason ?? (c.status === undefined ? 'unknown' : `status ${c.status}`) });
        if (this.failures.length > MAX_CALL_FAILURES) this.failures.shift();
      }
    } else {
      if (c.state === 'started') this.callTotals.started++;
      if (c.state === 'answered') this.callTotals.answered++;
      if (known === undefined && this.calls.size >= MAX_CALLS_TRACKED) {
        const oldest = this.calls.keys().next().value;
        if (oldest !== undefined) this.calls.delete(oldest);
        this.callTotals.forgotten++;
      }
      const setupUntil = c.state === 'answered' ? Infinity : (known?.setupUntil ?? now + CALL_SETUP_STALE_MS);
      this.calls.set(c.callId, { callId: c.callId, from: c.from, to: c.to, state: c.state, since: known?.since ?? this.deps.wallNow(), setupUntil });
    }
    this.stream('call', { ...c, at: this.deps.wallNow() });
  }

  /** Closes the interval: one sample into the history, and a summary to the browsers. */
  private tick(): void {
    const now = this.deps.clock.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    for (const [id, c] of this.calls) {
      if (c.setupUntil <= now) {
        this.calls.delete(id);
        this.callTotals.forgotten++;
      }
    }
    const sample = this.window.close(this.deps.wallNow(), seconds, this.deps.cumulative());
    if (this.watched()) this.deps.out.publish('summary', this.summary(sample));
    this.streamed = this.missed = this.logStreamed = this.logSkipped = 0;
    this.timer = this.deps.clock.setTimer(SUMMARY_INTERVAL_MS, () => this.tick());
  }

  private summary(sample: FeedSample): object {
    const gauges = this.deps.gauges();
    const fingers = gauges.fingers.join(',');
    const fingersChanged = fingers !== this.lastFingers;
    this.lastFingers = fingers;
    // the per-kind walk: when the number of stored resources changed, else every few summaries
    const resources = gauges.storage?.resources ?? -1;
    const withKinds = this.deps.kinds !== undefined && (this.summaries++ % KINDS_EVERY_SUMMARIES === 0 || resources !== this.lastResources);
    this.lastResources = resources;
    return {
      sample,
      totals: this.totals(gauges),
      links: this.deps.links(),
      ...(fingersChanged ? { fingers: gauges.fingers } : {}),
      ...(withKinds ? { storageByKind: this.deps.kinds!() } : {}),
      missed: this.missed,
      logSkipped: this.logSkipped,
      streams: this.deps.out.clientCount,
    };
  }
}
