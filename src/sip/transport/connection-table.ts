/**
 * The transport layer's book of stream connections ("flows"): by driver id, and by remote
 * address for connection reuse (RFC 3261 §18.1.1: a request to an address with an open
 * connection SHOULD use it).
 */
import type { TimerHandle } from '../../lib/clock.js';
import type { SipMessage } from '../message/sip-message.js';
import { canonicalIp, sourceNetwork } from '../../lib/ip.js';
import type { StreamFramer } from './stream-framer.js';
import type { StreamProtocol } from './transport-driver.js';
import type { OutboundTarget, TransportAddress, TransportProtocol } from './sip-transport.js';

/** A message waiting for its connection to open. */
export interface QueuedSend {
  /** The message as the user gave it (reported back on failure). */
  message: SipMessage;
  /** The target the user asked for (reported back on failure). */
  target: OutboundTarget;
  /** What goes on the connection. */
  bytes: Uint8Array;
  /**
   * RFC 3261 §18.1.1: a request moved from UDP to TCP for its size goes back to UDP when the
   * connection fails: these are its UDP bytes.
   */
  udpFallback: Uint8Array | undefined;
}

export type FlowState = 'connecting' | 'open' | 'closing';

export interface Flow {
  readonly id: string;
  readonly protocol: StreamProtocol;
  readonly remote: TransportAddress;
  local: TransportAddress | undefined;
  readonly outbound: boolean;
  /** Inbound: key of the listener that accepted it ({@link listenerKey}); undefined for outbound. */
  readonly listener: string | undefined;
  state: FlowState;
  /** Content-Length framing for tcp/tls; undefined for ws/wss (one message per WS message). */
  framer: StreamFramer | undefined;
  queue: QueuedSend[];
  /** clock.now() of the last byte sent or received. */
  lastActivity: number;
  /** clock.now() before which the flow is not closed as idle (TransportLayer.holdFlow). */
  heldUntil: number;
  idleTimer: TimerHandle | undefined;
  keepAliveTimer: TimerHandle | undefined;
  /** Outbound: the connect timeout; inbound: the handshake deadline (accepted, not yet open). */
  connectTimer: TimerHandle | undefined;
  /** Deadlines of the message in progress (message-deadlines.ts). */
  deadlines: DeadlineState;
}

/** When the phases of a stream flow's messages began (clock.now() values), and the one deadline timer. */
export interface DeadlineState {
  /** When the flow opened. */
  openedAt: number;
  /** True once a message began on the flow (its first byte other than CR/LF, or a WebSocket message). */
  begun: boolean;
  /** First byte of the message in progress. */
  messageAt: number;
  /** End of its header section (stage 'body'). */
  bodyAt: number;
  timer: TimerHandle | undefined;
  /** When `timer` fires. */
  timerAt: number;
}

/** Key of a listener (its bound address) for the per-listener connection count. */
export function listenerKey(a: TransportAddress): string {
  return remoteKey(a.protocol, a.host, a.port);
}

/** Key of a source for the per-source connection count: the IPv4 address or IPv6 /64, whatever the port. */
export function sourceKey(host: string): string {
  return sourceNetwork(host) ?? host.toLowerCase();
}

/** Reuse key of a remote address: protocol, canonical IP (or lowercase name), port. */
export function remoteKey(protocol: TransportProtocol, host: string, port: number): string {
  return `${protocol}|${canonicalIp(host) ?? host.toLowerCase()}|${port}`;
}

export class ConnectionTable {
  private readonly byId = new Map<string, Flow>();
  private readonly byRemote = new Map<string, Set<string>>();
  /** Inbound flows by source ({@link sourceKey}) and by listener (from accept to removal). */
  private readonly bySource = new Map<string, number>();
  private readonly byListener = new Map<string, number>();
  private open = 0;

  /** Connections known (connecting, open or closing). */
  get size(): number {
    return this.byId.size;
  }

  /** Connections in state 'open'. */
  get openCount(): number {
    return this.open;
  }

  get(id: string): Flow | undefined {
    return this.byId.get(id);
  }

  all(): Flow[] {
    return [...this.byId.values()];
  }

  /** Inbound flows from this source (its IPv4 address or IPv6 /64, any port, any listener). */
  inboundFrom(host: string): number {
    return this.bySource.get(sourceKey(host)) ?? 0;
  }

  /** Inbound flows accepted by this listener ({@link listenerKey}). */
  inboundOn(listener: string): number {
    return this.byListener.get(listener) ?? 0;
  }

  add(flow: Flow): void {
    this.byId.set(flow.id, flow);
    if (flow.state === 'open') this.open++;
    const k = remoteKey(flow.protocol, flow.remote.host, flow.remote.port);
    let set = this.byRemote.get(k);
    if (set === undefined) this.byRemote.set(k, (set = new Set()));
    set.add(flow.id);
    if (flow.listener !== undefined) {
      bump(this.bySource, sourceKey(flow.remote.host), 1);
      bump(this.byListener, flow.listener, 1);
    }
  }

  /** Changes a flow's state, keeping the open count right. */
  setState(flow: Flow, state: FlowState): void {
    if (flow.state === state) return;
    if (flow.state === 'open') this.open--;
    if (state === 'open') this.open++;
    flow.state = state;
  }

  remove(id: string): Flow | undefined {
    const flow = this.byId.get(id);
    if (flow === undefined) return undefined;
    this.byId.delete(id);
    if (flow.state === 'open') this.open--;
    const k = remoteKey(flow.protocol, flow.remote.host, flow.remote.port);
    const set = this.byRemote.get(k);
    set?.delete(id);
    if (set?.size === 0) this.byRemote.delete(k);
    if (flow.listener !== undefined) {
      bump(this.bySource, sourceKey(flow.remote.host), -1);
      bump(this.byListener, flow.listener, -1);
    }
    return flow;
  }

  /** An open connection to this address (most recent first), else one still connecting. */
  findReusable(protocol: TransportProtocol, host: string, port: number): Flow | undefined {
    const set = this.byRemote.get(remoteKey(protocol, host, port));
    if (set === undefined) return undefined;
    let connecting: Flow | undefined;
    let open: Flow | undefined;
    for (const id of set) {
      const f = this.byId.get(id);
      if (f?.state === 'open') open = f;
      else if (f?.state === 'connecting') connecting = f;
    }
    return open ?? connecting;
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
