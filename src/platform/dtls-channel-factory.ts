/**
 * The DTLS associations of DTLS-UDP-SR links (RFC 6940 §6.6.4) as the ICE links need them: a
 * DtlsChannel per link with our node certificate, the overlay's trust decision on the peer's (the
 * same as the TLS links', CertificateStore.trustsPeerCertificate) and, when the Attach tells whom to
 * expect, the check that the certificate carries that Node-ID (§6.5.1.13).
 */
import type { SecureChannel, SecureChannelEvents, SecureChannelFactory } from '../reload/link/ice-links.js';
import type { Clock } from '../lib/clock.js';
import { appendFileSync } from 'node:fs';
import { DtlsChannel } from './dtls-channel.js';
import { weriftDtls } from './werift-dtls-module.js';

/**
 * NSS key log lines appended to the file SSLKEYLOGFILE names (the convention of browsers, curl and
 * Wireshark's `tls.keylog_file`), when it is set: then DTLS-UDP-SR traffic can be decrypted.
 */
export function keylogFromEnvironment(env: NodeJS.ProcessEnv = process.env): ((line: string) => void) | undefined {
  const file = env['SSLKEYLOGFILE'];
  if (file === undefined || file === '') return undefined;
  return (line) => {
    try {
      appendFileSync(file, `${line}\n`, { mode: 0o600 });
    } catch {
      // a key log that cannot be written costs nothing but the capture's decryption
    }
  };
}

export interface DtlsChannelFactoryOptions {
  cert: string;
  key: string;
  /** A refusal reason for a certificate the overlay does not trust, else undefined. */
  trust(der: Uint8Array): string | undefined;
  /** The Node-IDs a trusted certificate carries. */
  nodeIdsOf(der: Uint8Array): readonly Uint8Array[];
  clock: Clock;
  handshakeTimeoutMs?: number;
  /** NSS key log lines, for Wireshark (`tls.keylog_file`). */
  onKeylog?: (line: string) => void;
}

export class DtlsChannelFactory implements SecureChannelFactory {
  /** Loads werift-dtls now (see werift-dtls-module.ts), so that a peer with ICE links pays for it at start, not in its first handshake. */
  constructor(private readonly o: DtlsChannelFactoryOptions) {
    weriftDtls();
  }

  create(role: 'client' | 'server', send: (datagram: Uint8Array) => void, events: SecureChannelEvents, expected: Uint8Array | undefined): SecureChannel {
    const { trust, nodeIdsOf } = this.o;
    return new DtlsChannel({
      role,
      transport: { send },
      user: events,
      cert: this.o.cert,
      key: this.o.key,
      clock: this.o.clock,
      ...(this.o.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: this.o.handshakeTimeoutMs }),
      ...(this.o.onKeylog === undefined ? {} : { onKeylog: this.o.onKeylog }),
      verifyPeer: (der) => {
        const refused = trust(der);
        if (refused !== undefined) return refused;
        if (expected !== undefined && !nodeIdsOf(der).some((id) => Buffer.from(id).equals(Buffer.from(expected)))) {
          return 'the certificate is not of the node that sent the Attach (RFC 6940 §6.5.1.13)';
        }
        return undefined;
      },
    });
  }
}
