/**
 * RELOAD overlay links, TLS-TCP-FH-NO-ICE (RFC 6940 §6.6.5), sans-I/O over a {@link LinkDriver}.
 *
 * Rules (our reading of §6.6.2, §6.6.3.1, §6.6.5):
 * - Framing: every message goes in a data frame; sequence numbers start at 0 on each link and grow
 *   by one per data frame (mod 2^32). Every data frame received is ACKed at once (ack_sequence = its
 *   sequence, `received` = bitmask of the 32 previous, see AckWindow). ACKs are read cumulatively
 *   (a reliable ordered stream). Any frame the codec refuses closes the link: reason 'protocol-error'
 *   (the good frames of the chunk that held it are dropped with the link: FramedStreamDecoder).
 * - RTT/RTO: RFC 6298 §2 on the ACK of each data frame, rounded up to the ms (§6.6.3.1). No
 *   retransmission on TLS/TCP: the RTO only judges liveness (§6.6.5).
 * - Suspect: the oldest un-ACKed frame has waited longer than one RTO → onLinkSuspect (the overlay
 *   should stop routing through it). Any ACK that acknowledges a frame while suspect → onLinkRecovered.
 * - Failure: the oldest un-ACKed frame has waited `failureTimeoutMs` (30 s, "retained for 30 seconds
 *   to determine if the failure was transient") → the link is closed, reason 'timeout'.
 * - Keepalive: no data frame sent or received for `keepaliveIdleMs` → the user's `keepalive(id)` gives
 *   a message (a Ping) to send, so its ACK measures liveness. Without one an idle link is not probed.
 * - Every id returned by `connect` and every accepted link gets exactly one onLinkDown (after onLinkUp,
 *   or instead of it when the connect fails): 'closed' (either side closed it), 'failed' (the driver
 *   reported an error), 'timeout' (no ACK for failureTimeoutMs, or connect slower than
 *   connectTimeoutMs), 'protocol-error'. After `close(id)` nothing more of that link reaches the user
 *   and `send` refuses. Accepts beyond `maxLinks` are closed unreported. No event after `shutdown()`.
 * - Never throws on network input; user callbacks that throw are the user's bug and propagate.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from './link-driver.js';
import { FramedLink } from './framed-link.js';
import type { LinkStats } from './framed-link.js';
import { LinkError } from './link-error.js';
import { resolveLinkLayerOptions } from './link-layer-options.js';
import type { LinkLayerOptions, ResolvedLinkLayerOptions } from './link-layer-options.js';

export interface LinkLayerDeps {
  driver: LinkDriver;
  clock: Clock;
  /** Unused today (no jitter needed on TLS/TCP); accepted for symmetry with other layers. */
  random?: Random;
}

/** A link as the layer above sees it. */
export interface LinkInfo {
  id: string;
  remote: LinkEndpoint;
  local: LinkEndpoint;
  outbound: boolean;
  /** DER of the peer's verified certificate (absent in the simulator). */
  peerCertificate?: Uint8Array;
}

export type LinkDownReason = 'closed' | 'failed' | 'timeout' | 'protocol-error';

/**
 * Upward events of the link layer: the one declaration of the link contract (the overlay imports it;
 * its ConnectionManager implements it). Another link type reports the same events.
 */
export interface LinkLayerUser {
  onLinkUp(link: LinkInfo): void;
  /** One RELOAD message or fragment, as received in one data frame. */
  onLinkMessage(linkId: string, message: Uint8Array): void;
  onLinkDown(linkId: string, reason: LinkDownReason, error?: Error): void;
  /** The link is late with ACKs (RFC 6940 §6.6.5): route around it until it recovers. */
  onLinkSuspect?(linkId: string): void;
  onLinkRecovered?(linkId: string): void;
  /** The link has been idle keepaliveIdleMs: a message to send (a PingReq), or undefined. */
  keepalive?(linkId: string): Uint8Array | undefined;
}

/** Totals over every link this layer has had. */
export interface LinkLayerTotals {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  linksUp: number;
  linksRefused: number;
  protocolErrors: number;
  timeouts: number;
}

interface Entry {
  link: FramedLink;
  info: LinkInfo | undefined;
  /** `close()` was called: whatever the driver reports next is a 'closed'. */
  closing: boolean;
  timer: TimerHandle | undefined;
  timerAt: number;
  /** The deadline timer's callback, made once per link. */
  onTimer: (() => void) | undefined;
}

export class LinkLayer {
  private readonly driver: LinkDriver;
  private readonly clock: Clock;
  private readonly opts: ResolvedLinkLayerOptions;
  private readonly links = new Map<string, Entry>();
  private user: LinkLayerUser | undefined;
  private down = false;
  private readonly closedTotals = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };
  private readonly counts = { linksUp: 0, linksRefused: 0, protocolErrors: 0, timeouts: 0 };

  constructor(deps: LinkLayerDeps, options: LinkLayerOptions = {}) {
    this.driver = deps.driver;
    this.clock = deps.clock;
    this.opts = resolveLinkLayerOptions(options);
    const self = this;
    const driverUser: LinkDriverUser = {
      onLinkOpened: (l) => self.opened(l),
      onLinkFailed: (id, e) => self.ended(id, 'failed', e),
      onLinkClosed: (id, e) => self.ended(id, e === undefined ? 'closed' : 'failed', e),
      onLinkData: (id, d) => self.data(id, d),
    };
    this.driver.setUser(driverUser);
  }

  setUser(user: LinkLayerUser): void {
    this.user = user;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    return this.driver.listen(host, port);
  }

  /** Opens a link; onLinkUp or onLinkDown follows. Throws LinkError RELOAD_LINK_LIMIT / RELOAD_LINK_SHUTDOWN. */
  connect(remote: LinkEndpoint): string {
    if (this.down) throw new LinkError('RELOAD_LINK_SHUTDOWN', 'link layer shut down');
    if (this.links.size >= this.opts.maxLinks) throw new LinkError('RELOAD_LINK_LIMIT', `${this.opts.maxLinks} links already`);
    const id = this.driver.connect(remote);
    const link = new FramedLink(id, true, remote, undefined, this.clock.now(), this.opts.maxMessageSize, this.opts.maxTrackedFrames, this.opts.rto);
    const entry: Entry = { link, info: undefined, closing: false, timer: undefined, timerAt: Infinity, onTimer: undefined };
    this.links.set(id, entry);
    this.arm(entry, this.clock.now() + this.opts.connectTimeoutMs);
    return id;
  }

  /** Sends one RELOAD message (or fragment) in a data frame; false when the link is not open, the message too big or the queue full. */
  send(linkId: string, message: Uint8Array): boolean {
    const e = this.links.get(linkId);
    if (e === undefined || e.link.state !== 'open' || e.closing || this.down) return false;
    if (message.length > this.opts.maxMessageSize) return false;
    if (e.link.queuedBytes + message.length + 8 > this.opts.maxQueuedBytes) return false;
    const now = this.clock.now();
    const bytes = e.link.frame(message, now);
    this.driver.write(linkId, bytes);
    this.schedule(e);
    return true;
  }

  /** Closes a link gracefully (or abandons a connect); onLinkDown(id, 'closed') follows when the driver reports it. */
  close(linkId: string): void {
    const e = this.links.get(linkId);
    if (e === undefined) return;
    e.closing = true;
    this.driver.close(linkId);
  }

  /** Closes every link and the listener; no event after it resolves (nor during it). */
  async shutdown(): Promise<void> {
    this.down = true;
    for (const e of this.links.values()) this.forget(e);
    await this.driver.shutdown();
  }

  info(linkId: string): LinkInfo | undefined {
    return this.links.get(linkId)?.info;
  }

  stats(linkId: string): LinkStats | undefined {
    return this.links.get(linkId)?.link.stats();
  }

  /** Ids of links open or opening. */
  linkIds(): string[] {
    return [...this.links.keys()];
  }

  totals(): LinkLayerTotals {
    const t = { ...this.closedTotals, ...this.counts };
    for (const e of this.links.values()) {
      const s = e.link.stats();
      t.bytesIn += s.bytesIn;
      t.bytesOut += s.bytesOut;
      t.framesIn += s.framesIn;
      t.framesOut += s.framesOut;
    }
    return t;
  }

  private opened(l: DriverLink): void {
    if (this.down) return;
    let e = this.links.get(l.id);
    if (e === undefined) {
      if (this.links.size >= this.opts.maxLinks) {
        this.counts.linksRefused++;
        this.driver.close(l.id);
        return;
      }
      const link = new FramedLink(l.id, false, l.remote, l.local, this.clock.now(), this.opts.maxMessageSize, this.opts.maxTrackedFrames, this.opts.rto);
      e = { link, info: undefined, closing: false, timer: undefined, timerAt: Infinity, onTimer: undefined };
      this.links.set(l.id, e);
    } else if (!e.link.transition('open')) return;
    e.link.local = l.local;
    e.link.remote = l.remote;
    e.link.lastActivityAt = this.clock.now();
    e.info = { id: l.id, remote: l.remote, local: l.local, outbound: l.outbound, ...(l.peerCertificate !== undefined ? { peerCertificate: l.peerCertificate } : {}) };
    this.counts.linksUp++;
    this.cancelTimer(e);
    this.schedule(e);
    this.user?.onLinkUp(e.info);
  }

  private data(id: string, chunk: Uint8Array): void {
    const e = this.links.get(id);
    if (e === undefined || e.link.state !== 'open' || this.down) return;
    const now = this.clock.now();
    const r = e.link.receive(chunk, now);
    if (r.acks !== undefined) this.driver.write(id, r.acks);
    if (r.progress && e.link.suspect) {
      e.link.suspect = false;
      this.user?.onLinkRecovered?.(id);
    }
    for (const m of r.messages) {
      if (this.links.get(id) !== e || e.closing) return; // closed by the user meanwhile: nothing more from it
      this.user?.onLinkMessage(id, m);
    }
    if (this.links.get(id) !== e) return;
    if (r.error !== undefined) {
      this.counts.protocolErrors++;
      this.fail(e, 'protocol-error', r.error);
      return;
    }
    // everything acknowledged: the retransmission deadline armed for it is moot, the next one is later
    if (r.progress && e.link.oldestUnackedAt === undefined) this.cancelTimer(e);
    this.schedule(e);
  }

  private ended(id: string, reason: 'closed' | 'failed', error: Error | undefined): void {
    const e = this.links.get(id);
    if (e === undefined || this.down) return;
    this.forget(e);
    if (e.closing) this.user?.onLinkDown(id, 'closed');
    else this.user?.onLinkDown(id, reason, error);
  }

  // Closes the link on our side for a reason of ours and reports it now; the driver's later close event is ignored.
  private fail(e: Entry, reason: 'timeout' | 'protocol-error', error: Error): void {
    this.forget(e);
    this.driver.close(e.link.id);
    this.user?.onLinkDown(e.link.id, reason, error);
  }

  private forget(e: Entry): void {
    this.cancelTimer(e);
    e.link.transition('closed');
    const s = e.link.stats();
    this.closedTotals.bytesIn += s.bytesIn;
    this.closedTotals.bytesOut += s.bytesOut;
    this.closedTotals.framesIn += s.framesIn;
    this.closedTotals.framesOut += s.framesOut;
    this.links.delete(e.link.id);
  }

  // Next deadline of an open link: suspect, failure or keepalive.
  private schedule(e: Entry): void {
    const l = e.link;
    if (l.state !== 'open') return;
    let at = l.lastActivityAt + this.opts.keepaliveIdleMs;
    const oldest = l.oldestUnackedAt;
    if (oldest !== undefined) {
      at = Math.min(at, oldest + this.opts.failureTimeoutMs);
      if (!l.suspect) at = Math.min(at, oldest + l.rto.rtoMs);
    }
    this.arm(e, at);
  }

  private arm(e: Entry, at: number): void {
    if (e.timer !== undefined && e.timerAt <= at) return;
    this.cancelTimer(e);
    e.timerAt = at;
    e.onTimer ??= () => {
      e.timer = undefined;
      e.timerAt = Infinity;
      this.tick(e);
    };
    e.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), e.onTimer);
  }

  private cancelTimer(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
    e.timerAt = Infinity;
  }

  private tick(e: Entry): void {
    if (this.links.get(e.link.id) !== e || this.down) return;
    const l = e.link;
    const now = this.clock.now();
    if (l.state === 'connecting') {
      this.counts.timeouts++;
      this.fail(e, 'timeout', new LinkError('RELOAD_LINK_TIMEOUT', `connect not done after ${this.opts.connectTimeoutMs} ms`));
      return;
    }
    const oldest = l.oldestUnackedAt;
    // deadlines compared exactly as schedule() computes them (a - b >= d can be false at a = b + d in floating point)
    if (oldest !== undefined && now >= oldest + this.opts.failureTimeoutMs) {
      this.counts.timeouts++;
      this.fail(e, 'timeout', new LinkError('RELOAD_LINK_TIMEOUT', `no ACK for ${now - oldest} ms (RFC 6940 §6.6.5)`));
      return;
    }
    if (oldest !== undefined && !l.suspect && now >= oldest + l.rto.rtoMs) {
      l.suspect = true;
      this.user?.onLinkSuspect?.(l.id);
      if (this.links.get(l.id) !== e) return;
    }
    if (now >= l.lastActivityAt + this.opts.keepaliveIdleMs) {
      l.lastActivityAt = now; // one keepalive per idle period, even when the user has none to give
      const ping = this.user?.keepalive?.(l.id);
      if (ping !== undefined && this.links.get(l.id) === e) this.send(l.id, ping);
      if (this.links.get(l.id) !== e) return;
    }
    this.schedule(e);
  }
}
