import type { LinkEndpoint } from '../reload/link/link-driver.js';
import type { NetworkCore } from './network-core.js';
import type { LinkEndOwner } from './stream-link.js';
import { SimNetworkError } from './sim-network-error.js';
import { END_CLOSED, END_CONNECTING, END_OPEN, StreamLink, type Flow } from './stream-link.js';

/**
 * TCP+TLS-like stream links over the simulated network (the model is documented on
 * SimNetworkOptions). Every user-visible event is delivered from a clock timer, never
 * synchronously from a driver method.
 */
export class StreamTransport {
  /** `links: 'message'` (SimNetworkOptions): chunks due together are delivered in one timer callback, writes are not copied. */
  private readonly messageLinks: boolean;

  constructor(private readonly core: NetworkCore) {
    this.messageLinks = core.options.links === 'message';
  }

  connect(owner: LinkEndOwner, remote: LinkEndpoint): string {
    const c = this.core;
    const id = c.nextLinkId();
    const t0 = c.clock.now();
    const to = c.hostByAddress(remote.host);
    if (!owner.alive) return id; // shut down or crashed: no events any more
    const link = new StreamLink(id, owner, owner.host.ephemeralPort(), to, remote.port);
    owner.links.set(id, link);
    if (!Number.isInteger(remote.port) || remote.port < 1 || remote.port > 65535) {
      c.clock.setTimer(0, () => this.fail(link, new SimNetworkError('EINVAL', `bad port ${remote.port}`)));
      return id;
    }
    const timeout = (): void => {
      c.clock.setTimer(t0 + c.options.connectTimeoutMs - c.clock.now(), () =>
        this.fail(link, new SimNetworkError('ETIMEDOUT', `connect to ${remote.host}:${remote.port} timed out`)),
      );
    };
    if (to === undefined || !owner.host.up) {
      timeout();
      return id;
    }
    const ow = c.baseLatency(owner.host, to);
    link.owMs = ow;
    // The SYN arrives after one one-way latency; what it finds there decides the outcome.
    c.clock.setTimer(ow, () => {
      if (link.state[0] !== END_CONNECTING || !owner.alive) return;
      if (!c.reachable(owner.host, to)) return timeout();
      const listener = to.listeners.get(remote.port);
      if (listener === undefined || !listener.alive) {
        c.clock.setTimer(ow, () => this.fail(link, new SimNetworkError('ECONNREFUSED', `connection refused by ${remote.host}:${remote.port}`)));
        return;
      }
      const serverId = c.nextLinkId();
      link.ids[1] = serverId;
      link.owners[1] = listener;
      listener.links.set(serverId, link);
      const clientOpenAt = t0 + c.options.handshakeRtts * 2 * ow;
      const serverOpenAt = clientOpenAt + ow;
      link.flow(0).lastDue = serverOpenAt;
      c.clock.setTimer(clientOpenAt - c.clock.now(), () => this.openClient(link));
      c.clock.setTimer(serverOpenAt - c.clock.now(), () => this.openServer(link));
    });
    return id;
  }

  write(owner: LinkEndOwner, id: string, data: Uint8Array): void {
    const link = owner.links.get(id);
    if (link === undefined || data.length === 0) return;
    const side = link.sideOf(id);
    if (link.state[side] !== END_OPEN) return;
    // message links take the writer's buffer as it is (the link layer never reuses one); streams copy, as a socket does
    this.enqueue(link, side, this.messageLinks ? data : data.slice());
  }

  close(owner: LinkEndOwner, id: string): void {
    const link = owner.links.get(id);
    if (link === undefined) return;
    const side = link.sideOf(id);
    const st = link.state[side];
    link.state[side] = END_CLOSED;
    owner.links.delete(id);
    if (st === END_CONNECTING) {
      this.core.clock.setTimer(0, () => owner.emitFailed(id, new SimNetworkError('ECONNABORTED', 'connect aborted by close()')));
    } else if (st === END_OPEN) {
      this.enqueue(link, side, null);
      this.core.clock.setTimer(0, () => owner.emitClosed(id, undefined));
    }
  }

  /** Closes every link of `owner` gracefully without telling it (shutdown). */
  closeAll(owner: LinkEndOwner): void {
    for (const [id, link] of [...owner.links]) {
      const side = link.sideOf(id);
      if (link.state[side] === END_OPEN) this.enqueue(link, side, null);
      link.state[side] = END_CLOSED;
    }
    owner.links.clear();
  }

  /** The owner's process died: its ends vanish; with `reset`, the remote ends get a reset. */
  crash(owner: LinkEndOwner, reset: boolean): void {
    for (const [id, link] of owner.links) {
      const side = link.sideOf(id);
      link.state[side] = END_CLOSED;
      this.clearFlow(link.flows[side]);
      const other = side === 0 ? 1 : 0;
      if (reset && link.state[other] === END_OPEN) this.resetLater(link, other, link.owMs);
    }
    owner.links.clear();
  }

  /** Connectivity changed (heal, new partition): stalled flows that can move again resume one one-way latency later. */
  resumeStalled(): void {
    const c = this.core;
    for (const flow of [...c.stalled]) {
      const link = flow.link;
      const from = link.hosts[flow.from];
      const to = link.hosts[flow.from === 0 ? 1 : 0];
      if (from === undefined || to === undefined || !c.reachable(from, to)) continue;
      c.stalled.delete(flow);
      flow.stalled = false;
      flow.stallTimer?.cancel();
      flow.stallTimer = undefined;
      flow.resumeAt = c.clock.now() + link.owMs;
      this.scheduleHead(flow);
    }
  }

  private openClient(link: StreamLink): void {
    if (link.state[0] !== END_CONNECTING) return;
    const server = link.owners[1];
    if (server === undefined || !server.alive) {
      this.fail(link, new SimNetworkError('ECONNRESET', 'connection reset during the handshake'));
      return;
    }
    link.state[0] = END_OPEN;
    link.owners[0].emitOpened(link, 0);
  }

  private openServer(link: StreamLink): void {
    const server = link.owners[1];
    if (link.state[1] !== END_CONNECTING || server === undefined) return;
    if (link.state[0] !== END_OPEN && !(link.state[0] === END_CLOSED && link.flows[0] !== undefined && !link.flows[0].empty)) {
      // The client gave up (or died) before the handshake completed.
      this.endSide(link, 1);
      return;
    }
    if (!server.alive) {
      // Accepted by the kernel after the listener went away: the client is reset.
      this.endSide(link, 1);
      this.resetLater(link, 0, link.owMs);
      return;
    }
    link.state[1] = END_OPEN;
    server.emitOpened(link, 1);
  }

  private fail(link: StreamLink, error: Error): void {
    if (link.state[0] !== END_CONNECTING) return;
    link.state[0] = END_CLOSED;
    const owner = link.owners[0];
    owner.links.delete(link.ids[0]);
    owner.emitFailed(link.ids[0], error);
  }

  private endSide(link: StreamLink, side: 0 | 1): void {
    link.state[side] = END_CLOSED;
    const id = link.ids[side];
    if (id !== undefined) link.owners[side]?.links.delete(id);
  }

  /** Breaks an open end with an error (reset, timeout). */
  private breakSide(link: StreamLink, side: 0 | 1, error: Error): void {
    if (link.state[side] !== END_OPEN) return;
    this.endSide(link, side);
    this.clearFlow(link.flows[side]);
    link.owners[side]?.emitClosed(link.ids[side]!, error);
  }

  private resetLater(link: StreamLink, side: 0 | 1, delay: number): void {
    this.core.clock.setTimer(delay, () => this.breakSide(link, side, new SimNetworkError('ECONNRESET', 'connection reset by peer')));
  }

  private enqueue(link: StreamLink, side: 0 | 1, chunk: Uint8Array | null): void {
    const c = this.core;
    const o = c.options;
    const from = link.hosts[side]!;
    const to = link.hosts[side === 0 ? 1 : 0]!;
    const flow = link.flow(side);
    const now = c.clock.now();
    const size = chunk === null ? 0 : chunk.length;
    const packets = Math.max(1, Math.ceil(size / o.mssBytes));
    const cond = c.conditions(from, to);
    let extra = 0;
    let retransmitted = 0;
    let broken = false;
    const rto0 = 2 * link.owMs + o.minRtoMs;
    if (cond.loss > 0 || cond.reorder > 0 || cond.duplicate > 0) {
      for (let p = 0; p < packets; p++) {
        let tries = 0;
        let wait = 0;
        while (cond.loss > 0 && c.random.float() < cond.loss) {
          wait += rto0 * 2 ** tries; // RFC 6298 §5.5: back off the timer
          tries++;
          if (tries > o.maxRetransmissions) {
            broken = true;
            break;
          }
        }
        retransmitted += tries;
        if (cond.reorder > 0 && c.random.float() < cond.reorder) wait += c.random.float() * o.reorderDelayMs;
        if (cond.duplicate > 0 && c.random.float() < cond.duplicate) c.countDuplicate();
        if (wait > extra) extra = wait;
        if (broken) break;
      }
    }
    from.packetsSent += packets + retransmitted;
    from.bytesSent += size + Math.min(size, o.mssBytes) * retransmitted;
    if (broken) {
      c.clock.setTimer(extra, () => this.breakSide(link, side, new SimNetworkError('ETIMEDOUT', 'too many retransmissions')));
      return;
    }
    const due = Math.max(now + link.owMs + c.jitter() + extra, flow.lastDue);
    flow.lastDue = due;
    flow.push(chunk, due);
    if (flow.timer === undefined && !flow.stalled) this.scheduleHead(flow);
  }

  private scheduleHead(flow: Flow): void {
    if (flow.empty) return;
    const c = this.core;
    const due = Math.max(flow.headDue, flow.resumeAt);
    flow.onDue ??= () => {
      flow.timer = undefined;
      this.deliverHead(flow);
    };
    flow.timer = c.clock.setTimer(due - c.clock.now(), flow.onDue);
  }

  private deliverHead(flow: Flow): void {
    const c = this.core;
    const link = flow.link;
    const s = flow.from;
    const r = s === 0 ? 1 : 0;
    const from = link.hosts[s]!;
    const to = link.hosts[r]!;
    for (;;) {
      if (!c.reachable(from, to)) return this.stall(flow);
      const chunk = flow.shift();
      const st = link.state[r];
      if (st === END_OPEN) {
        const owner = link.owners[r]!;
        const id = link.ids[r]!;
        if (chunk === null) {
          this.endSide(link, r);
          owner.emitClosed(id, undefined);
        } else {
          to.bytesReceived += chunk.length;
          to.packetsReceived += Math.max(1, Math.ceil(chunk.length / c.options.mssBytes));
          owner.emitData(id, chunk);
        }
      } else if (st === END_CLOSED && chunk !== null) {
        // Data reaching an end already gone: the receiving stack answers with a reset.
        this.clearFlow(flow);
        this.resetLater(link, s, link.owMs);
        return;
      }
      // message links: what is due by now follows in this callback (streams: one timer per chunk)
      if (!this.messageLinks) break;
      if (flow.timer !== undefined) return;
      if (flow.empty || flow.stalled || Math.max(flow.headDue, flow.resumeAt) > c.clock.now()) break;
    }
    this.scheduleHead(flow);
  }

  private clearFlow(flow: Flow | undefined): void {
    if (flow === undefined) return;
    this.core.stalled.delete(flow);
    flow.clear();
  }

  private stall(flow: Flow): void {
    const c = this.core;
    if (flow.stalled) return;
    flow.stalled = true;
    c.stalled.add(flow);
    flow.stallTimer = c.clock.setTimer(c.options.stallTimeoutMs, () => {
      flow.stallTimer = undefined;
      this.clearFlow(flow);
      this.breakSide(flow.link, flow.from, new SimNetworkError('ETIMEDOUT', 'connection timed out (no acknowledgement)'));
    });
  }
}

