/** Helpers for the real-socket SIP transport tests: two TransportLayers on loopback. */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../../src/platform/system-clock.js';
import { NodeTransportDriver, type NodeTransportDriverOptions } from '../../src/platform/node-transport-driver.js';
import type { SipMessage } from '../../src/sip/message/sip-message.js';
import { TransportLayer } from '../../src/sip/transport/transport-layer.js';
import { parse } from '../support/parse-sip.js';

export { parse };
import type { InboundMessage } from '../../src/sip/transport/sip-transport.js';

const TLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tls');
export const tlsFiles = {
  ca: readFileSync(join(TLS_DIR, 'ca.pem')),
  cert: readFileSync(join(TLS_DIR, 'server.pem')),
  key: readFileSync(join(TLS_DIR, 'server.key')),
  clientCert: readFileSync(join(TLS_DIR, 'client.pem')),
  clientKey: readFileSync(join(TLS_DIR, 'client.key')),
};

/** Driver options with the fixture certificates on both sides. */
export function tlsDriverOptions(extra: NodeTransportDriverOptions = {}): NodeTransportDriverOptions {
  return { tls: { key: tlsFiles.key, cert: tlsFiles.cert }, tlsClient: { ca: tlsFiles.ca }, ...extra };
}

/** Messages in arrival order; `next()` waits for the next one (bounded by the test's timeout). */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(t: T) => void> = [];

  push(t: T): void {
    const w = this.waiters.shift();
    if (w !== undefined) w(t);
    else this.items.push(t);
  }

  next(): Promise<T> {
    const t = this.items.shift();
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get size(): number {
    return this.items.length;
  }
}

export interface Endpoint {
  layer: TransportLayer;
  driver: NodeTransportDriver;
  inbox: Inbox<InboundMessage>;
  errors: Inbox<Error>;
}

export function endpoint(options: NodeTransportDriverOptions = {}): Endpoint {
  const driver = new NodeTransportDriver(options);
  const inbox = new Inbox<InboundMessage>();
  const errors = new Inbox<Error>();
  const layer = new TransportLayer({
    driver,
    clock: new SystemClock(),
    user: { onMessage: (m) => inbox.push(m), onSendError: (_t, _m, e) => errors.push(e) },
  });
  return { layer, driver, inbox, errors };
}

export const enc = new TextEncoder();

export function request(transport: string, sentBy: string, body = ''): string {
  return (
    'OPTIONS sip:bob@example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/${transport} ${sentBy};rport;branch=z9hG4bK-it-${transport.toLowerCase()}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>\r\n' +
    'Call-ID: it-1@example.com\r\n' +
    'CSeq: 1 OPTIONS\r\n' +
    `Content-Length: ${enc.encode(body).length}\r\n\r\n` +
    body
  );
}


/** A 200 to the request of `inbound`, with its (received/rport-stamped) Vias. */
export function okFor(inbound: InboundMessage): SipMessage {
  const h = inbound.message.headers;
  return parse(
    'SIP/2.0 200 OK\r\n' +
      h.getAll('via').map((v) => `Via: ${v}\r\n`).join('') +
      `From: ${h.get('from')}\r\nTo: ${h.get('to')};tag=b1\r\nCall-ID: ${h.get('call-id')}\r\nCSeq: ${h.get('cseq')}\r\nContent-Length: 0\r\n\r\n`,
  );
}

/** True when this machine can bind [::1]. */
export async function hasIpv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      s.close();
    } catch {
      // not bound
    }
  }
}
