/** Shared fixtures of the transaction-layer tests: a recording fake transport and TU, message builders. */
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import type { InboundMessage, OutboundTarget, SipTransport, TransportAddress, TransportProtocol } from '../../../../src/sip/transport/sip-transport.js';
import { TransactionLayer, type TransactionLayerOptions } from '../../../../src/sip/transaction/transaction-layer.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction, TransactionUser } from '../../../../src/sip/transaction/transaction-contract.js';

export interface Sent {
  at: number;
  message: SipMessage;
  target: OutboundTarget;
}

/** Records every send with the virtual time; can make sends fail (reported synchronously or later). */
export class FakeTransport implements SipTransport {
  readonly sent: Sent[] = [];
  /** When set, every send is reported failed to this callback. */
  failWith: ((target: OutboundTarget, message: SipMessage) => void) | undefined;

  constructor(private readonly clock: ManualClock) {}

  send(message: SipMessage, target: OutboundTarget): void {
    this.sent.push({ at: this.clock.now(), message, target });
    this.failWith?.(target, message);
  }

  isReliable(protocol: TransportProtocol): boolean {
    return protocol !== 'udp';
  }

  localAddress(protocol: TransportProtocol): TransportAddress | undefined {
    return { protocol, host: '127.0.0.1', port: 5060 };
  }

  /** Send times of messages satisfying `pred`. */
  times(pred: (m: SipMessage) => boolean = () => true): number[] {
    return this.sent.filter((s) => pred(s.message)).map((s) => s.at);
  }

  requests(method: string): Sent[] {
    return this.sent.filter((s) => s.message.kind === 'request' && s.message.method === method);
  }

  responses(status?: number): Sent[] {
    return this.sent.filter((s) => s.message.kind === 'response' && (status === undefined || s.message.status === status));
  }
}

/** Records what the layer passes to the TU; `onRequest` can be scripted. */
export class RecordingUser implements TransactionUser {
  readonly requests: ServerTransaction[] = [];
  readonly acks: InboundMessage[] = [];
  readonly strays: InboundMessage[] = [];
  onRequestHook: ((tx: ServerTransaction) => void) | undefined;

  onRequest(tx: ServerTransaction): void {
    this.requests.push(tx);
    this.onRequestHook?.(tx);
  }

  onAck(inbound: InboundMessage): void {
    this.acks.push(inbound);
  }

  onStrayResponse(inbound: InboundMessage): void {
    this.strays.push(inbound);
  }
}

export type ClientEvent =
  | { kind: 'response'; status: number; at: number; state: string }
  | { kind: 'timeout'; at: number }
  | { kind: 'transport-error'; at: number; code: string | undefined };

/** A ClientTransactionUser that records events with the virtual time. */
export function recordingClientUser(clock: ManualClock): ClientTransactionUser & { events: ClientEvent[] } {
  const events: ClientEvent[] = [];
  return {
    events,
    onResponse(response: SipResponse, tx: ClientTransaction) {
      events.push({ kind: 'response', status: response.status, at: clock.now(), state: tx.state });
    },
    onTimeout() {
      events.push({ kind: 'timeout', at: clock.now() });
    },
    onTransportError(_tx: ClientTransaction, error: Error) {
      events.push({ kind: 'transport-error', at: clock.now(), code: (error as Error & { code?: string }).code });
    },
  };
}

export interface Harness {
  clock: ManualClock;
  transport: FakeTransport;
  user: RecordingUser;
  layer: TransactionLayer;
}

export function harness(options?: TransactionLayerOptions): Harness {
  const clock = new ManualClock(0);
  const transport = new FakeTransport(clock);
  const user = new RecordingUser();
  const layer = new TransactionLayer({ clock, transport, user }, options);
  return { clock, transport, user, layer };
}

/** Parses SIP text (lines joined with CRLF, blank line and Content-Length added). */
export function sip(lines: string[]): SipMessage {
  const text = `${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
  const r = parseMessage(new TextEncoder().encode(text), { datagram: true });
  if (!r.ok) throw new Error(`test message does not parse: ${String(r.error)}`);
  return r.message;
}

export function req(lines: string[]): SipRequest {
  const m = sip(lines);
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

export function res(lines: string[]): SipResponse {
  const m = sip(lines);
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}

export const PEER: TransportAddress = { protocol: 'udp', host: '192.0.2.10', port: 5070 };
export const LOCAL: TransportAddress = { protocol: 'udp', host: '127.0.0.1', port: 5060 };

export function inbound(message: SipMessage, protocol: TransportProtocol = 'udp', flowId?: string): InboundMessage {
  return {
    message,
    source: { ...PEER, protocol },
    local: { ...LOCAL, protocol },
    flowId: protocol === 'udp' ? undefined : (flowId ?? 'flow-1'),
  };
}

export interface RequestSpec {
  method?: string;
  uri?: string;
  branch?: string;
  /** Via transport token and sent-by. */
  via?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  fromTag?: string;
  toTag?: string;
  extra?: string[];
}

/** A request as a UAC at 192.0.2.10:5070 sends it. */
export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? 'INVITE';
  const lines = [
    `${method} ${spec.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${spec.via ?? 'SIP/2.0/UDP 192.0.2.10:5070'};branch=${spec.branch ?? 'z9hG4bKabc123'}`,
    'Max-Forwards: 70',
    `From: Alice <sip:alice@example.com>;tag=${spec.fromTag ?? 'ftag1'}`,
    `To: Bob <sip:bob@example.com>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? 'call-1@192.0.2.10'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? method}`,
    ...(spec.extra ?? []),
  ];
  return req(lines);
}

export interface ResponseSpec {
  status: number;
  method?: string;
  branch?: string;
  via?: string;
  cseq?: number;
  toTag?: string;
  callId?: string;
  fromTag?: string;
}

/** A response as it comes back to the UAC at 192.0.2.10:5070 (or to us, as a client). */
export function response(spec: ResponseSpec): SipResponse {
  const method = spec.method ?? 'INVITE';
  return res([
    `SIP/2.0 ${spec.status} Whatever`,
    `Via: ${spec.via ?? 'SIP/2.0/UDP 192.0.2.10:5070'};branch=${spec.branch ?? 'z9hG4bKabc123'}`,
    `From: Alice <sip:alice@example.com>;tag=${spec.fromTag ?? 'ftag1'}`,
    `To: Bob <sip:bob@example.com>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? 'call-1@192.0.2.10'}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
  ]);
}

export const isRequest = (method: string) => (m: SipMessage): boolean => m.kind === 'request' && m.method === method;
export const isResponse = (status: number) => (m: SipMessage): boolean => m.kind === 'response' && m.status === status;

/** Target for client transactions: the UDP (or other protocol) next hop. */
export function target(protocol: TransportProtocol = 'udp'): OutboundTarget {
  return { destination: { protocol, host: '192.0.2.20', port: 5060 } };
}
