/**
 * The receive path of stream flows: tcp/tls bytes through the flow's framer (RFC 3261 §18.3, with
 * RFC 5626 §4.4.1 CRLF pings answered), WebSocket messages (RFC 7118 §5), the message deadlines they
 * move (message-deadlines.ts), and the answers this layer gives itself before it closes a flow: 400/413
 * for a stream that cannot be framed, 408 for a request whose body did not arrive in time.
 */
import { isUtf8 } from 'node:buffer';
import type { Clock } from '../../lib/clock.js';
import type { Flow } from './connection-table.js';
import { bodyTimeoutResponse, framingErrorResponse } from './framing-error-response.js';
import type { InboundDelivery, Logger } from './inbound-delivery.js';
import { MessageDeadlines, type DeadlinePhase } from './message-deadlines.js';
import type { FramerEvent } from './stream-framer.js';
import type { TransportDriver } from './transport-driver.js';
import type { ResolvedTransportOptions, TransportCounters } from './transport-layer-options.js';

export interface StreamReceiverDeps {
  clock: Clock;
  driver: TransportDriver;
  inbound: InboundDelivery;
  counters: TransportCounters;
  options: ResolvedTransportOptions;
  logger?: Logger;
  /** The flow of a driver connection id. */
  flow(id: string): Flow | undefined;
  /** Closes a flow (framing error, deadline passed). */
  closeFlow(flow: Flow): void;
}

const PONG = new Uint8Array([13, 10]);

export class StreamReceiver {
  readonly deadlines: MessageDeadlines;

  constructor(private readonly deps: StreamReceiverDeps) {
    this.deadlines = new MessageDeadlines({ clock: deps.clock, options: deps.options, expired: (flow, phase) => this.timedOut(flow, phase) });
  }

  /** Bytes of a tcp/tls flow. */
  streamData(id: string, data: Uint8Array): void {
    const flow = this.deps.flow(id);
    const framer = flow?.framer;
    if (flow === undefined || flow.state !== 'open' || framer === undefined) return;
    flow.lastActivity = this.deps.clock.now();
    const before = framer.stage;
    let completed = 0;
    for (const ev of framer.push(data)) {
      if (flow.state !== 'open') return;
      if (ev.kind === 'message') completed++;
      this.framerEvent(flow, ev);
    }
    if (flow.state === 'open') this.deadlines.progress(flow, before, framer.stage, completed);
  }

  /** One WebSocket message of a ws/wss flow. */
  wsMessage(id: string, data: Uint8Array): void {
    const { counters, driver, options } = this.deps;
    const flow = this.deps.flow(id);
    if (flow === undefined || flow.state !== 'open') return;
    flow.lastActivity = this.deps.clock.now();
    if (isCrlfOnly(data)) {
      // SIP over WebSocket clients (SIP.js, JsSIP) send RFC 5626-style CRLF pings in a WS message.
      counters.keepAlivesReceived++;
      if (data.length >= 4) driver.write(id, PONG);
      return;
    }
    this.deadlines.message(flow);
    if (data.length > options.limits.maxMessageBytes) {
      counters.parseErrors++;
      return;
    }
    // RFC 7118 §5: one SIP message per WS message: framed like a datagram.
    this.deps.inbound.deliver(data, true, flow.remote, flow.local ?? flow.remote, flow.id, (bytes) => driver.write(id, bytes, !isUtf8(bytes)));
  }

  private framerEvent(flow: Flow, ev: FramerEvent): void {
    const { counters, driver } = this.deps;
    if (ev.kind === 'ping') {
      counters.keepAlivesReceived++;
      driver.write(flow.id, PONG); // RFC 5626 §4.4.1 pong
      return;
    }
    if (ev.kind === 'message') {
      this.deps.inbound.deliver(ev.data, false, flow.remote, flow.local ?? flow.remote, flow.id, (bytes) => driver.write(flow.id, bytes));
      return;
    }
    counters.framingErrors++;
    counters.parseErrors++;
    this.deps.logger?.warn({ flowId: flow.id, remote: flow.remote, reason: ev.reason }, `sip transport: framing error, closing: ${ev.detail}`);
    const response = ev.header === undefined ? undefined : framingErrorResponse(ev.header, ev.reason, this.deps.options.limits);
    if (response !== undefined) this.deps.inbound.reply(response, (bytes) => driver.write(flow.id, bytes));
    this.deps.closeFlow(flow);
  }

  /**
   * A message (or the first one) not received in time: closed, after a 408 when the header section
   * was read (phase 'body'). Not logged one by one: a slowloris would flood the log (counted instead).
   */
  private timedOut(flow: Flow, phase: DeadlinePhase): void {
    const { options } = this.deps;
    this.deps.counters.messageTimeouts++;
    const header = phase === 'body' ? flow.framer?.pendingHeader() : undefined;
    const response = header === undefined ? undefined : bodyTimeoutResponse(header, options.limits, options.bodyTimeoutMs);
    if (response !== undefined) this.deps.inbound.reply(response, (bytes) => this.deps.driver.write(flow.id, bytes));
    this.deps.closeFlow(flow);
  }
}

/** Empty or CR/LF only: a keep-alive (RFC 5626 §4.4.1), not a message. */
export function isCrlfOnly(data: Uint8Array): boolean {
  if (data.length === 0) return true;
  for (const b of data) if (b !== 13 && b !== 10) return false;
  return true;
}

