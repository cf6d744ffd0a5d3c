/**
 * A TURN client over TCP (RFC 8656 §3.1: TCP between client and server, the relayed transport UDP),
 * sans-I/O: the {@link TurnClient} with a STUN client of its own whose requests, like its Send
 * indications and ChannelData, are written to the connection the owner opened; the bytes that come
 * back are framed (turn-stream-deframer.ts) and handed to the STUN client (responses) or the TURN
 * client (Data indications, ChannelData). Requests are not retransmitted (the transport is reliable)
 * and wait `streamTimeoutMs` for their answer. The allocation lives as long as the connection: when the
 * connection closes the client fails; `stop()` deallocates (bounded by `stopWaitMs`) and closes it.
 *
 * Limits: messages longer than `maxMessageBytes` or bytes that are not STUN/ChannelData close the
 * connection (then the client fails); what the connection cannot take is dropped by the owner's write
 * (its write-buffer limit), as a lost datagram.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { StunClient } from '../stun/stun-client.js';
import { decodeStun } from '../stun/stun-message.js';
import { TurnClient } from './turn-client.js';
import type { TurnClientOptions } from './turn-client.js';
import { TurnStreamDeframer } from './turn-stream-deframer.js';

/** The connection to the TURN server as the owner provides it. */
export interface TurnStream {
  /** Queues bytes; false when dropped (the write buffer is full). */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection. */
  close(): void;
}

export interface TurnTcpClientDeps {
  clock: Clock;
  random: Random;
  stream: TurnStream;
}

export interface TurnTcpClientOptions extends Omit<TurnClientOptions, 'transport' | 'retransmission'> {
  /** Longest message accepted from the server, bytes (default: the formats' largest, 65,552). */
  maxMessageBytes?: number;
  /** How long stop() waits for the deallocation's answer before closing the connection, ms (default 500: the close releases the allocation anyway). */
  stopWaitMs?: number;
}

export interface TurnTcpClientStats {
  /** Messages framed off the connection that neither the STUN nor the TURN client took. */
  unclaimed: number;
  /** Writes the connection refused (its write buffer was full). */
  writeDropped: number;
  /** Why the connection ended, once it has. */
  closedReason: string | undefined;
}

export class TurnTcpClient {
  readonly client: TurnClient;
  private readonly stun: StunClient;
  private readonly deframer: TurnStreamDeframer;
  private readonly counts: TurnTcpClientStats = { unclaimed: 0, writeDropped: 0, closedReason: undefined };
  private open = true;
  private readonly stopWaitMs: number;

  constructor(
    private readonly deps: TurnTcpClientDeps,
    options: TurnTcpClientOptions,
  ) {
    const { maxMessageBytes, stopWaitMs, ...turn } = options;
    this.stopWaitMs = stopWaitMs ?? 500;
    this.deframer = new TurnStreamDeframer(maxMessageBytes === undefined ? {} : { maxMessageBytes });
    const write = (d: Uint8Array): void => {
      if (!this.open) return;
      if (!deps.stream.write(d)) this.counts.writeDropped++;
    };
    this.stun = new StunClient({ clock: deps.clock, random: deps.random, send: write });
    this.client = new TurnClient({ clock: deps.clock, random: deps.random, stun: this.stun, send: write }, { ...turn, transport: 'tcp' });
  }

  stats(): TurnTcpClientStats {
    return { ...this.counts };
  }

  /** Bytes from the connection. */
  receive(bytes: Uint8Array): void {
    if (!this.open) return;
    const r = this.deframer.push(bytes);
    if (!r.ok) {
      this.deps.stream.close();
      this.closed(`bad framing from the server: ${r.reason}`);
      return;
    }
    const server = this.client.server;
    for (const m of r.messages) {
      if (!this.open) return;
      if (m[0]! <= 0x03) {
        const d = decodeStun(m);
        if (d.ok && (d.value.cls === 'success' || d.value.cls === 'error')) {
          if (!this.stun.receive(d.value, server)) this.counts.unclaimed++;
          continue;
        }
        if (d.ok && this.client.receiveIndication(d.value, server)) continue;
        this.counts.unclaimed++;
        continue;
      }
      if (!this.client.receive(m, server)) this.counts.unclaimed++;
    }
  }

  /** The connection closed (the server, the network, or us): the allocation is gone. Idempotent. */
  closed(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.counts.closedReason = reason;
    this.client.transportClosed(reason);
    this.stun.stop();
  }

  /** Deallocates (waits at most `stopWaitMs` for the answer), then closes the connection. */
  async stop(): Promise<void> {
    if (this.open) {
      const deleted = this.client.stop();
      await new Promise<void>((resolve) => {
        const t = this.deps.clock.setTimer(this.stopWaitMs, resolve);
        void deleted.finally(() => {
          t.cancel();
          resolve();
        });
      });
    } else await this.client.stop();
    this.deps.stream.close();
    this.closed('stopped');
  }
}
