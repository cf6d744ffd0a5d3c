/**
 * The SIP transport layer (RFC 3261 §18), sans-I/O: bytes from a {@link TransportDriver} become
 * messages for the {@link SipTransportUser}; messages from above become bytes on the right
 * socket or connection. Stream framing (§18.3) and CRLF keep-alive (RFC 5626 §4.4.1), Via
 * `received`/`rport` (§18.2.1, RFC 3581), connection reuse, bounded queues while connecting,
 * idle close, and WebSocket (RFC 7118: one SIP message per WS message). Inbound connections are
 * counted from their TCP accept and refused at once past a cap (in all, per listener, per source
 * address); a handshake, an inbound connection's first message and every message's start line,
 * header section and body have deadlines (message-deadlines.ts).
 *
 * Bad input never throws out of the driver callbacks: it is answered (when the parser offers
 * a response) or dropped, and counted in `stats()`. Send failures go to `user.onSendError`,
 * never synchronously from inside `send()`.
 */
import { isUtf8 } from 'node:buffer';
import type { Clock } from '../../lib/clock.js';
import { serializeMessage } from '../message/index.js';
import type { SipMessage } from '../message/sip-message.js';
import { ConnectionTable, listenerKey, type Flow, type QueuedSend } from './connection-table.js';
import { FlowTimers } from './flow-timers.js';
import { ipFamily, unbracket } from '../../lib/ip.js';
import { InboundDelivery, type Logger } from './inbound-delivery.js';
import { StreamFramer } from './stream-framer.js';
import { StreamReceiver, isCrlfOnly } from './stream-receiver.js';
import { isWsProtocol, type AcceptedConnection, type DriverConnection, type StreamProtocol, type TransportDriver, type TransportDriverUser } from './transport-driver.js';
import { TransportError } from './transport-error.js';
import { newCounters, resolveTransportOptions, type ResolvedTransportOptions, type TransportLayerOptions, type TransportStats } from './transport-layer-options.js';
import { moveRequestToTcp } from './udp-to-tcp.js';
import type { OutboundTarget, SipTransport, SipTransportUser, TransportAddress, TransportProtocol } from './sip-transport.js';

export type { TransportLayerOptions, TransportStats } from './transport-layer-options.js';

export interface TransportLayerDeps {
  driver: TransportDriver;
  clock: Clock;
  user: SipTransportUser;
  logger?: Logger;
}

/** Largest UDP payload over IPv4 (65,535 − 20 IP − 8 UDP). */
const MAX_UDP_PAYLOAD = 65507;

export class TransportLayer implements SipTransport {
  private readonly driver: TransportDriver;
  private readonly clock: Clock;
  private readonly user: SipTransportUser;
  private readonly logger: Logger | undefined;
  private readonly opts: ResolvedTransportOptions;
  private readonly inbound: InboundDelivery;
  private readonly timers: FlowTimers;
  private readonly receiver: StreamReceiver;
  private readonly listeners: TransportAddress[] = [];
  private readonly flows = new ConnectionTable();
  private readonly counters = newCounters();
  private closed = false;
  /** Connects given up on (timeout) whose driver events may still come: closed when they open. */
  private readonly abandoned = new Set<string>();

  constructor(deps: TransportLayerDeps, options: TransportLayerOptions = {}) {
    this.driver = deps.driver;
    this.clock = deps.clock;
    this.user = deps.user;
    this.logger = deps.logger;
    this.opts = resolveTransportOptions(options);
    this.inbound = new InboundDelivery(deps.user, this.opts.limits, this.counters, deps.logger);
    this.timers = new FlowTimers({
      clock: this.clock,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      keepAliveIntervalMs: this.opts.keepAliveIntervalMs,
      closeIdle: (flow) => this.closeFlow(flow),
      write: (flow, bytes) => this.driver.write(flow.id, bytes),
    });
    this.receiver = new StreamReceiver({
      clock: this.clock,
      driver: this.driver,
      inbound: this.inbound,
      counters: this.counters,
      options: this.opts,
      flow: (id) => this.flows.get(id),
      closeFlow: (flow) => this.closeFlow(flow),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    this.driver.setUser(this.driverUser());
  }

  /** Starts listening (port 0 = any free port); resolves with the bound address. */
  async listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress> {
    if (this.closed) throw new TransportError('TRANSPORT_CLOSED', 'transport layer is closed');
    const bound = await this.driver.listen(protocol, unbracket(host), port);
    this.listeners.push({ ...bound });
    return bound;
  }

  /** Stops a listener {@link listen} started (by its bound address). */
  async unlisten(address: TransportAddress): Promise<void> {
    const i = this.listeners.findIndex((l) => l.protocol === address.protocol && l.host === address.host && l.port === address.port);
    if (i < 0) return;
    this.listeners.splice(i, 1);
    await this.driver.unlisten(address);
  }

  send(message: SipMessage, target: OutboundTarget): void {
    if (this.closed) return this.failLater(target, message, new TransportError('TRANSPORT_CLOSED', 'transport layer is closed'));
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(message);
    } catch (e) {
      return this.failLater(target, message, new TransportError('TRANSPORT_SEND_FAILED', 'message cannot be serialised', { cause: e }));
    }
    const dest = target.destination;
    if (dest.protocol === 'udp') {
      const tcp = this.localAddress('tcp');
      if (message.kind === 'request' && bytes.length > this.opts.udpMaxRequestBytes && tcp !== undefined) {
        // RFC 3261 §18.1.1: too large for UDP with the path MTU unknown: TCP, top Via changed.
        const moved = moveRequestToTcp(message, this.localAddress('udp'), tcp);
        if (moved !== undefined) {
          const movedBytes = serializeMessage(moved);
          const tcpDest: TransportAddress = { protocol: 'tcp', host: dest.host, port: dest.port };
          this.sendStream({ message, target, bytes: movedBytes, udpFallback: bytes }, tcpDest, undefined);
          return;
        }
      }
      return this.sendUdp(message, target, bytes);
    }
    this.sendStream({ message, target, bytes, udpFallback: undefined }, dest, target.flowId);
  }

  /**
   * Keeps an open connection from being closed as idle for `durationMs` from now (e.g. the flow of
   * a registered contact: requests for it must reach the UA over that connection, RFC 5626 §5.3).
   * Returns false when the flow is not open. Holding again replaces the previous deadline.
   */
  holdFlow(flowId: string, durationMs: number): boolean {
    const flow = this.flows.get(flowId);
    if (flow === undefined || flow.state !== 'open') return false;
    flow.heldUntil = this.clock.now() + Math.max(0, durationMs);
    return true;
  }

  isReliable(protocol: TransportProtocol): boolean {
    return protocol !== 'udp';
  }

  localAddress(protocol: TransportProtocol): TransportAddress | undefined {
    const l = this.listeners.find((a) => a.protocol === protocol);
    return l === undefined ? undefined : { ...l };
  }

  stats(): TransportStats {
    return { ...this.counters, openConnections: this.flows.openCount };
  }

  /** Stops timers, closes every connection and listener. Queued messages are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.flows.all()) {
      this.timers.stop(f);
      this.flows.remove(f.id);
    }
    await this.driver.shutdown();
  }

  // ---- send path ----

  private sendUdp(message: SipMessage, target: OutboundTarget, bytes: Uint8Array): void {
    const dest = target.destination;
    const from = this.udpListenerFor(dest.host);
    if (from === undefined) return this.failLater(target, message, new TransportError('TRANSPORT_NOT_LISTENING', 'no udp listener'));
    if (bytes.length > MAX_UDP_PAYLOAD) {
      return this.failLater(target, message, new TransportError('TRANSPORT_MESSAGE_TOO_LARGE', `${bytes.length} bytes do not fit a UDP datagram`));
    }
    this.counters.sent++;
    this.driver.sendDatagram(from, { protocol: 'udp', host: unbracket(dest.host), port: dest.port }, bytes, (e) =>
      this.fail(target, message, e),
    );
  }

  /** The udp listener to send from: same address family as the destination, else any. */
  private udpListenerFor(host: string): TransportAddress | undefined {
    const fam = ipFamily(host) ?? 4;
    const udp = this.listeners.filter((l) => l.protocol === 'udp');
    return udp.find((l) => (ipFamily(l.host) ?? 4) === fam) ?? udp[0];
  }

  private sendStream(item: QueuedSend, dest: TransportAddress, flowId: string | undefined): void {
    const protocol = dest.protocol as StreamProtocol;
    let flow = flowId === undefined ? undefined : this.flows.get(flowId);
    if (flow !== undefined && flow.state === 'closing') flow = undefined;
    flow ??= this.flows.findReusable(protocol, dest.host, dest.port);
    if (flow?.state === 'open') return this.write(flow, item);
    if (flow?.state === 'connecting') {
      if (flow.queue.length >= this.opts.maxQueuedPerConnection) {
        return this.failLater(item.target, item.message, new TransportError('TRANSPORT_QUEUE_FULL', `connection ${flow.id} has ${this.opts.maxQueuedPerConnection} messages queued`));
      }
      flow.queue.push(item);
      return;
    }
    if (this.flows.size >= this.opts.maxConnections) {
      return this.failLater(item.target, item.message, new TransportError('TRANSPORT_TOO_MANY_CONNECTIONS', `${this.opts.maxConnections} connections in use`));
    }
    const remote: TransportAddress & { protocol: StreamProtocol } = { protocol, host: unbracket(dest.host), port: dest.port };
    const id = this.driver.connect(remote);
    const created = this.newFlow(id, protocol, remote, undefined, undefined, 'connecting');
    created.queue.push(item);
    created.connectTimer = this.clock.setTimer(this.opts.connectTimeoutMs, () => {
      created.connectTimer = undefined;
      if (created.state !== 'connecting') return;
      this.connectFailed(id, new TransportError('TRANSPORT_CONNECT_TIMEOUT', `no connection to ${remote.host}:${remote.port} after ${this.opts.connectTimeoutMs} ms`));
      this.abandoned.add(id); // after connectFailed, which forgets abandoned ids
      this.driver.close(id);
    });
  }

  private write(flow: Flow, item: QueuedSend): void {
    flow.lastActivity = this.clock.now();
    this.counters.sent++;
    this.driver.write(flow.id, item.bytes, isWsProtocol(flow.protocol) && !isUtf8(item.bytes));
  }

  /** `listener`: the key of the listener that accepted it; undefined for a connection we open. */
  private newFlow(id: string, protocol: StreamProtocol, remote: TransportAddress, local: TransportAddress | undefined, listener: string | undefined, state: Flow['state']): Flow {
    const now = this.clock.now();
    const flow: Flow = {
      id,
      protocol,
      remote,
      local,
      outbound: listener === undefined,
      listener,
      state,
      framer: isWsProtocol(protocol) ? undefined : new StreamFramer(this.opts.limits),
      queue: [],
      lastActivity: now,
      heldUntil: 0,
      idleTimer: undefined,
      keepAliveTimer: undefined,
      connectTimer: undefined,
      deadlines: { openedAt: now, begun: false, messageAt: now, bodyAt: now, timer: undefined, timerAt: 0 },
    };
    this.flows.add(flow);
    return flow;
  }

  /** Reports a send failure later (never from inside `send`, so callers see no re-entrancy). */
  private failLater(target: OutboundTarget, message: SipMessage, error: Error): void {
    this.clock.setTimer(0, () => this.fail(target, message, error));
  }

  private fail(target: OutboundTarget, message: SipMessage, error: Error): void {
    this.counters.sendErrors++;
    this.logger?.warn({ destination: target.destination, error: error.message }, 'sip transport: send failed');
    try {
      this.user.onSendError?.(target, message, error);
    } catch (e) {
      this.logger?.warn({ error: String(e) }, 'sip transport: onSendError threw');
    }
  }

  // ---- connection events ----

  /** Issue 14: counted from the TCP accept, refused at once past a cap; a handshake has a deadline. */
  private accepted(conn: AcceptedConnection): boolean {
    const listener = listenerKey(conn.listener);
    if (this.closed || !this.admits(conn.remote.host, listener)) {
      this.counters.rejectedConnections++;
      return false;
    }
    const flow = this.newFlow(conn.id, conn.protocol, { ...conn.remote }, undefined, listener, 'connecting');
    const ms = this.opts.handshakeTimeoutMs;
    if (conn.protocol === 'tcp' || ms <= 0) return true; // tcp opens at once
    flow.connectTimer = this.clock.setTimer(ms, () => {
      flow.connectTimer = undefined;
      if (flow.state !== 'connecting') return;
      this.counters.handshakeTimeouts++;
      this.connectFailed(conn.id, new TransportError('TRANSPORT_HANDSHAKE_TIMEOUT', `${conn.protocol} handshake not done after ${ms} ms`));
      this.abandoned.add(conn.id); // after connectFailed, which forgets abandoned ids
      this.driver.close(conn.id);
    });
    return true;
  }

  /** Room for one more inbound connection from `host` on `listener`. */
  private admits(host: string, listener: string): boolean {
    const o = this.opts;
    return this.flows.size < o.maxConnections && this.flows.inboundOn(listener) < o.maxConnectionsPerListener && this.flows.inboundFrom(host) < o.maxConnectionsPerSource;
  }

  private opened(conn: DriverConnection): void {
    if (this.abandoned.delete(conn.id)) {
      this.driver.close(conn.id);
      return;
    }
    const known = this.flows.get(conn.id);
    if (known !== undefined) {
      if (known.state !== 'connecting') return;
      known.local = conn.local;
      known.connectTimer?.cancel();
      known.connectTimer = undefined;
      this.flows.setState(known, 'open');
      const queued = known.queue;
      known.queue = [];
      for (const item of queued) this.write(known, item);
      this.timers.start(known);
      this.receiver.deadlines.opened(known);
      return;
    }
    // not announced by onConnectionAccepted (a driver without it): counted from now, its local address as the listener
    const listener = conn.outbound ? undefined : listenerKey(conn.local);
    if (this.closed || this.flows.size >= this.opts.maxConnections || (listener !== undefined && !this.admits(conn.remote.host, listener))) {
      this.counters.rejectedConnections++;
      this.driver.close(conn.id);
      return;
    }
    const flow = this.newFlow(conn.id, conn.protocol, conn.remote, conn.local, listener, 'open');
    this.timers.start(flow);
    this.receiver.deadlines.opened(flow);
  }

  private connectFailed(id: string, error: Error): void {
    this.abandoned.delete(id);
    const flow = this.flows.remove(id);
    if (flow === undefined) return;
    this.timers.stop(flow);
    for (const item of flow.queue) {
      if (item.udpFallback !== undefined) {
        // RFC 3261 §18.1.1: retry over UDP with the message as the user gave it.
        this.sendUdp(item.message, item.target, item.udpFallback);
      } else {
        this.fail(item.target, item.message, error instanceof TransportError ? error : new TransportError('TRANSPORT_CONNECT_FAILED', error.message, { cause: error }));
      }
    }
  }

  private connectionClosed(id: string, error: Error | undefined): void {
    this.abandoned.delete(id);
    const flow = this.flows.get(id);
    if (flow === undefined) return;
    if (flow.state === 'connecting') return this.connectFailed(id, error ?? new TransportError('TRANSPORT_CONNECTION_CLOSED', 'closed while connecting'));
    this.flows.remove(id);
    this.timers.stop(flow);
  }

  private closeFlow(flow: Flow): void {
    if (flow.state === 'closing') return;
    this.flows.setState(flow, 'closing');
    this.timers.stop(flow);
    this.driver.close(flow.id);
  }

  // ---- receive path ----

  private driverUser(): TransportDriverUser {
    return {
      onDatagram: (local, remote, data) => this.guard(() => this.datagram(local, remote, data)),
      onConnectionAccepted: (conn) => {
        let ok = false;
        this.guard(() => (ok = this.accepted(conn)));
        return ok;
      },
      onConnectionOpened: (conn) => this.guard(() => this.opened(conn)),
      onConnectionFailed: (id, error) => this.guard(() => this.connectFailed(id, error)),
      onConnectionClosed: (id, error) => this.guard(() => this.connectionClosed(id, error)),
      onStreamData: (id, data) => this.guard(() => this.receiver.streamData(id, data)),
      onWsMessage: (id, data) => this.guard(() => this.receiver.wsMessage(id, data)),
    };
  }

  /** Nothing escapes into the driver's event loop. */
  private guard(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (e) {
      this.logger?.warn({ error: e instanceof Error ? e.message : String(e) }, 'sip transport: event handler failed');
    }
  }

  private datagram(local: TransportAddress, remote: TransportAddress, data: Uint8Array): void {
    if (isCrlfOnly(data)) {
      this.counters.keepAlivesReceived++;
      return;
    }
    if (data.length > this.opts.limits.maxMessageBytes) {
      this.counters.parseErrors++;
      this.counters.droppedDatagrams++;
      return;
    }
    const delivered = this.inbound.deliver(data, true, remote, local, undefined, (bytes) => this.driver.sendDatagram(local, remote, bytes));
    if (!delivered) this.counters.droppedDatagrams++;
  }
}
