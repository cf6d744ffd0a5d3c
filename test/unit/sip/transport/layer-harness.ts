/** Test harness: a TransportLayer on a MemoryDriver, and a raw peer driver to poke it with bytes. */
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { MemoryNetwork, type MemoryDriver, type MemoryNetworkOptions } from '../../../support/sip/memory-driver.js';
import { TransportLayer, type TransportLayerOptions } from '../../../../src/sip/transport/transport-layer.js';
import type { InboundMessage, OutboundTarget, TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { parse } from '../../../support/parse-sip.js';

export { parse };
import { DriverRecorder } from './driver-recorder.js';

export const SERVER_V4 = '192.0.2.10';
export const SERVER_V6 = '2001:db8::10';
export const PEER_V4 = '192.0.2.20';
export const PEER_V6 = '2001:db8::20';

export interface SendError {
  target: OutboundTarget;
  message: SipMessage;
  error: Error & { code?: string };
}

export class Harness {
  readonly net: MemoryNetwork;
  readonly clock = new ManualClock(1000);
  readonly driver: MemoryDriver;
  readonly peer: MemoryDriver;
  readonly peerEvents = new DriverRecorder();
  readonly received: InboundMessage[] = [];
  readonly sendErrors: SendError[] = [];
  readonly warnings: string[] = [];
  readonly layer: TransportLayer;
  onMessage: (m: InboundMessage) => void = () => {};

  constructor(options: TransportLayerOptions = {}, netOptions: MemoryNetworkOptions = {}) {
    this.net = new MemoryNetwork(netOptions);
    this.driver = this.net.createDriver({ hosts: [SERVER_V4, SERVER_V6] });
    this.peer = this.net.createDriver({ hosts: [PEER_V4, PEER_V6] });
    this.peer.setUser(this.peerEvents);
    this.layer = new TransportLayer(
      {
        driver: this.driver,
        clock: this.clock,
        user: {
          onMessage: (m) => {
            this.received.push(m);
            this.onMessage(m);
          },
          onSendError: (target, message, error) => this.sendErrors.push({ target, message, error }),
        },
        logger: { warn: (_o, msg) => this.warnings.push(msg) },
      },
      options,
    );
  }

  /** Flushes the network and fires due zero-delay timers until both are quiet. */
  settle(): void {
    for (let i = 0; i < 100; i++) {
      const n = this.net.flush();
      this.clock.advance(0);
      if (n === 0 && this.net.pending === 0) return;
    }
  }

  /** A datagram from the peer's udp socket (listening on `from`). */
  async peerUdp(port = 5070, host = '0.0.0.0'): Promise<TransportAddress> {
    return this.peer.listen('udp', host, port);
  }

  /** Opens a raw peer connection to the layer; returns the peer-side connection id. */
  peerConnect(protocol: 'tcp' | 'tls' | 'ws' | 'wss', host = SERVER_V4, port = 5060): string {
    const id = this.peer.connect({ protocol, host, port });
    this.settle();
    return id;
  }

  peerDatagrams(): string[] {
    return this.peerEvents.of('datagram').map((d) => d.text);
  }
}

export const enc = new TextEncoder();

export function request(opts: { via?: string; method?: string; body?: string; extra?: string; transport?: string } = {}): string {
  const body = opts.body ?? '';
  const method = opts.method ?? 'OPTIONS';
  return (
    `${method} sip:bob@example.com SIP/2.0\r\n` +
    `Via: ${opts.via ?? `SIP/2.0/${opts.transport ?? 'UDP'} ${PEER_V4}:5070;branch=z9hG4bK-1`}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>\r\n' +
    'Call-ID: call-1@example.com\r\n' +
    `CSeq: 1 ${method}\r\n` +
    (opts.extra ?? '') +
    `Content-Length: ${enc.encode(body).length}\r\n\r\n` +
    body
  );
}

export function response(status = 200, opts: { via?: string; body?: string } = {}): string {
  const body = opts.body ?? '';
  return (
    `SIP/2.0 ${status} OK\r\n` +
    `Via: ${opts.via ?? `SIP/2.0/UDP ${SERVER_V4}:5060;branch=z9hG4bK-9`}\r\n` +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>;tag=b1\r\n' +
    'Call-ID: call-9@example.com\r\n' +
    'CSeq: 1 OPTIONS\r\n' +
    `Content-Length: ${enc.encode(body).length}\r\n\r\n` +
    body
  );
}


export function parseRequest(text: string): SipRequest {
  const m = parse(text);
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

export function parseResponse(text: string): SipResponse {
  const m = parse(text);
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}
