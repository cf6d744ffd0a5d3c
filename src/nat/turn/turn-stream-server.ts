/**
 * TURN clients over TCP (RFC 8656 §3.1: client to server over TCP, the relayed transport still UDP),
 * sans-I/O, in front of the one {@link TurnServer} the UDP clients use — same authentication, quotas
 * and bandwidth limits. The platform accepts the connection (platform/stun-tcp-socket.ts, demultiplexed
 * off the overlay's TLS port by its first byte) and hands its bytes here; each connection is one
 * 5-tuple: the messages framed off it (turn-stream-deframer.ts) go to the server as from
 * `{ host, port, transport: 'tcp' }`, its answers and relayed data come back through `sendToClient`,
 * and when the connection closes its allocation is released (`TurnServer.connectionClosed`).
 *
 * Limits ({@link TurnStreamLimits}), each refused or dropped and counted:
 * - connections at once (default 128): more are refused at accept (the owner closes them);
 * - message size (default the formats' largest, 65,552 bytes): a longer one, or bytes that are neither
 *   STUN nor ChannelData, close the connection;
 * - a connection without an allocation (none yet, or released) is closed after `idleTimeoutMs`
 *   (default 30,000); one with an allocation lives as long as the allocation is refreshed;
 * - what the owner cannot write (the client does not read: its write buffer is full) is dropped and
 *   counted, as a UDP datagram would be lost.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { StunAddress } from '../stun/stun-message.js';
import { clientKey } from './turn-allocation.js';
import type { TurnServer } from './turn-server.js';
import type { TurnClientAddress } from './turn-server-options.js';
import { MAX_STREAM_MESSAGE_BYTES, TurnStreamDeframer } from './turn-stream-deframer.js';

/** One accepted connection as the owner drives it. */
export interface TurnStreamConnection {
  /** Queues bytes on the connection; false when they were dropped (the client's write buffer is full). */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection (the owner then reports `closed()`, or need not: it is forgotten here already). */
  close(): void;
}

export interface TurnStreamLimits {
  /** TURN connections at once (default 128). */
  maxConnections: number;
  /** Longest STUN or ChannelData message accepted, bytes (default 65,552, the formats' largest). */
  maxMessageBytes: number;
  /** A connection holding no allocation is closed after this long, ms (default 30,000). */
  idleTimeoutMs: number;
}

export const DEFAULT_TURN_STREAM_LIMITS: Readonly<TurnStreamLimits> = Object.freeze({ maxConnections: 128, maxMessageBytes: MAX_STREAM_MESSAGE_BYTES, idleTimeoutMs: 30_000 });

export interface TurnStreamStats {
  connections: number;
  accepted: number;
  /** Refused at accept: `maxConnections` reached. */
  refused: number;
  /** Closed for bytes that are neither STUN nor ChannelData, or a message over the size limit. */
  badFraming: number;
  /** Closed after `idleTimeoutMs` without an allocation. */
  idleClosed: number;
  /** Messages the TURN server did not take (a Binding request, a response…): dropped. */
  unclaimed: number;
  /** Messages to clients dropped because their connection's write buffer was full. */
  writeDropped: number;
}

/** The owner's handle on one connection: the bytes that came in, and the end of the connection. */
export interface TurnStreamSession {
  readonly client: TurnClientAddress;
  receive(bytes: Uint8Array): void;
  /** The connection closed (either side): its allocation is released. Idempotent. */
  closed(): void;
}

interface Entry {
  readonly client: TurnClientAddress;
  readonly conn: TurnStreamConnection;
  readonly deframer: TurnStreamDeframer;
  allocated: boolean;
  idle: TimerHandle | undefined;
}

export class TurnStreamServer {
  private readonly conns = new Map<string, Entry>();
  private readonly limits: TurnStreamLimits;
  private readonly counts: Omit<TurnStreamStats, 'connections'> = { accepted: 0, refused: 0, badFraming: 0, idleClosed: 0, unclaimed: 0, writeDropped: 0 };
  private readonly offs: Array<() => void>;

  constructor(
    private readonly deps: { clock: Clock; server: TurnServer },
    limits: Partial<TurnStreamLimits> = {},
    private readonly rfc5766ChannelNumbers = false,
  ) {
    this.limits = { ...DEFAULT_TURN_STREAM_LIMITS, ...limits };
    for (const k of ['maxConnections', 'idleTimeoutMs'] as const) {
      const v = this.limits[k];
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`TURN stream limit ${k} must be an integer >= 0 (got ${v})`);
    }
    new TurnStreamDeframer({ maxMessageBytes: this.limits.maxMessageBytes }); // checks the limit at once
    this.offs = [
      deps.server.events.on('allocated', (e) => this.onAllocation(e.client, true)),
      deps.server.events.on('released', (e) => this.onAllocation(e.client, false)),
    ];
  }

  /** A new connection from `remote`; undefined when `maxConnections` are open (the owner closes it). */
  accept(remote: StunAddress, conn: TurnStreamConnection): TurnStreamSession | undefined {
    const client: TurnClientAddress = { host: remote.host, port: remote.port, transport: 'tcp' };
    const key = clientKey(client);
    if (this.conns.size >= this.limits.maxConnections || this.conns.has(key)) {
      this.counts.refused++;
      return undefined;
    }
    const e: Entry = { client, conn, deframer: new TurnStreamDeframer({ maxMessageBytes: this.limits.maxMessageBytes, rfc5766ChannelNumbers: this.rfc5766ChannelNumbers }), allocated: false, idle: undefined };
    this.conns.set(key, e);
    this.counts.accepted++;
    this.armIdle(e);
    return {
      client,
      receive: (bytes) => this.receive(e, bytes),
      closed: () => this.drop(e),
    };
  }

  /** The TURN server's answer or relayed data for a TCP client; false when it has no connection (or it was full). */
  sendToClient(datagram: Uint8Array, client: TurnClientAddress): boolean {
    const e = this.conns.get(clientKey(client));
    if (e === undefined) return false;
    if (e.conn.write(datagram)) return true;
    this.counts.writeDropped++;
    return false;
  }

  stats(): TurnStreamStats {
    return { connections: this.conns.size, ...this.counts };
  }

  /** Closes every connection (their allocations are released) and stops listening to the server. */
  closeAll(): void {
    for (const e of [...this.conns.values()]) this.close(e);
    for (const off of this.offs) off();
  }

  private receive(e: Entry, bytes: Uint8Array): void {
    if (this.conns.get(clientKey(e.client)) !== e) return;
    const r = e.deframer.push(bytes);
    if (!r.ok) {
      this.counts.badFraming++;
      this.close(e);
      return;
    }
    for (const m of r.messages) {
      if (this.conns.get(clientKey(e.client)) !== e) return;
      // a well-framed message that is not TURN's (a Binding request, a response): nothing else listens here
      if (!this.deps.server.receive(m, e.client)) this.counts.unclaimed++;
    }
  }

  private onAllocation(client: TurnClientAddress, allocated: boolean): void {
    if (client.transport !== 'tcp') return;
    const e = this.conns.get(clientKey(client));
    if (e === undefined) return;
    e.allocated = allocated;
    if (allocated) {
      e.idle?.cancel();
      e.idle = undefined;
    } else this.armIdle(e);
  }

  private armIdle(e: Entry): void {
    e.idle?.cancel();
    e.idle = this.deps.clock.setTimer(this.limits.idleTimeoutMs, () => {
      e.idle = undefined;
      if (e.allocated || this.conns.get(clientKey(e.client)) !== e) return;
      this.counts.idleClosed++;
      this.close(e);
    });
  }

  /** We close: forgotten first, so the owner's `closed()` that follows finds nothing. */
  private close(e: Entry): void {
    this.drop(e);
    e.conn.close();
  }

  private drop(e: Entry): void {
    const key = clientKey(e.client);
    if (this.conns.get(key) !== e) return;
    this.conns.delete(key);
    e.idle?.cancel();
    e.idle = undefined;
    this.deps.server.connectionClosed(e.client);
  }
}
