/**
 * `--trace` of the putget benchmark (p2psip side): what happened in the whole overlay while the
 * measured operations ran, and what the slowest operations (p95 and above) overlapped with. All
 * peers share one process, so any peer's work (a TLS handshake, a certificate parsed for the first
 * time, a garbage collection) delays the operation in flight.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { LinkLayerUser } from '../../src/reload/link/index.js';
import type { OverlayNode } from '../../src/reload/overlay/overlay-node.js';

/** The overlay-wide counts that --trace follows (summed over every peer). */
export interface OverlaySnapshot {
  linksUp: number;
  duplicateLinks: number;
  maintenanceMessagesIn: number;
  messagesIn: number;
  /** Certificates held by the peers' stores: growth = certificates parsed and checked for the first time. */
  certificates: number;
}

export interface TracedOp {
  kind: 'put' | 'get';
  start: number;
  end: number;
  before: OverlaySnapshot;
  after: OverlaySnapshot;
}

/** What --trace prints for one p2psip run (JSON). */
export interface PutGetTrace {
  /** Counts over the measured operations (warm-up excluded), whole overlay. */
  window: { seconds: number; newLinks: number; duplicateLinks: number; maintenanceMessages: number; messages: number; newCertificates: number; gcPauses: number; gcMs: number; gcMaxMs: number };
  /** Per kind: operations at or above p95 and what they overlapped with. */
  slow: Record<'put' | 'get', { threshold: number; count: number; withGc: number; withNewLink: number; withNewCertificate: number; withMaintenance: number; meanNewCertificates: number }>;
  /** Mean first-time certificate checks per operation, all operations. */
  newCertificatesPerOp: Record<'put' | 'get', number>;
}

export class PutGetTracer {
  private readonly gcs: Array<{ start: number; end: number }> = [];
  private readonly observer: PerformanceObserver;
  readonly ops: TracedOp[] = [];

  private linksUp = 0;

  constructor(
    private readonly nodes: readonly OverlayNode[],
    private readonly stores: readonly { size: number }[],
  ) {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  snapshot(): OverlaySnapshot {
    const s: OverlaySnapshot = { linksUp: 0, duplicateLinks: 0, maintenanceMessagesIn: 0, messagesIn: 0, certificates: 0 };
    for (const n of this.nodes) {
      s.duplicateLinks += n.counters.duplicateLinks;
      s.maintenanceMessagesIn += n.counters.maintenanceMessagesIn;
      s.messagesIn += n.counters.messagesIn;
    }
    s.linksUp = this.linksUp;
    for (const c of this.stores) s.certificates += c.size;
    return s;
  }

  /** The link user to give each peer's LinkLayer (setUser): the node, with its links counted. */
  countingUser(node: OverlayNode): LinkLayerUser {
    const links = node.connections;
    return {
      onLinkUp: (l) => {
        this.linksUp++;
        links.onLinkUp(l);
      },
      onLinkMessage: (id, m) => links.onLinkMessage(id, m),
      onLinkDown: (id, reason) => links.onLinkDown(id, reason),
      onLinkSuspect: (id) => links.onLinkSuspect(id),
      onLinkRecovered: (id) => links.onLinkRecovered(id),
      keepalive: (id) => links.keepalive(id),
    };
  }

  record(op: TracedOp): void {
    this.ops.push(op);
  }

  /** Stops observing; summarises the operations recorded. */
  finish(): PutGetTrace {
    this.observer.disconnect();
    const ops = this.ops;
    const first = ops[0];
    const last = ops[ops.length - 1];
    const d = (k: keyof OverlaySnapshot): number => (first === undefined || last === undefined ? 0 : last.after[k] - first.before[k]);
    const t0 = first?.start ?? 0;
    const t1 = last?.end ?? 0;
    const inWindow = this.gcs.filter((g) => g.end >= t0 && g.start <= t1);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const slow = {} as PutGetTrace['slow'];
    const perOp = {} as PutGetTrace['newCertificatesPerOp'];
    for (const kind of ['put', 'get'] as const) {
      const mine = ops.filter((o) => o.kind === kind);
      const sorted = mine.map((o) => o.end - o.start).sort((a, b) => a - b);
      const threshold = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!;
      const s = mine.filter((o) => o.end - o.start >= threshold);
      const certs = (o: TracedOp): number => o.after.certificates - o.before.certificates;
      slow[kind] = {
        threshold: r2(threshold),
        count: s.length,
        withGc: s.filter((o) => this.gcs.some((g) => g.end >= o.start && g.start <= o.end)).length,
        withNewLink: s.filter((o) => o.after.linksUp > o.before.linksUp).length,
        withNewCertificate: s.filter((o) => certs(o) > 0).length,
        withMaintenance: s.filter((o) => o.after.maintenanceMessagesIn > o.before.maintenanceMessagesIn).length,
        meanNewCertificates: r2(s.reduce((a, o) => a + certs(o), 0) / Math.max(1, s.length)),
      };
      perOp[kind] = r2(mine.reduce((a, o) => a + certs(o), 0) / Math.max(1, mine.length));
    }
    return {
      window: {
        seconds: r2((t1 - t0) / 1000),
        newLinks: d('linksUp'),
        duplicateLinks: d('duplicateLinks'),
        maintenanceMessages: d('maintenanceMessagesIn'),
        messages: d('messagesIn'),
        newCertificates: d('certificates'),
        gcPauses: inWindow.length,
        gcMs: r2(inWindow.reduce((a, g) => a + g.end - g.start, 0)),
        gcMaxMs: r2(inWindow.reduce((a, g) => Math.max(a, g.end - g.start), 0)),
      },
      slow,
      newCertificatesPerOp: perOp,
    };
  }
}
