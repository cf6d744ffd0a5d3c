/**
 * DTLS channels over real loopback UDP sockets (one socket per end, owned by the test as the overlay
 * port would be), self-signed node identities and the overlay's certificate trust.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { SeededRandom } from '../../../src/lib/random.js';
import { DtlsChannel } from '../../../src/platform/dtls-channel.js';
import type { DtlsChannelOptions, DtlsChannelUser, DtlsRole } from '../../../src/platform/dtls-channel.js';
import { CertificateStore, certificateToPem, createSelfSignedIdentity, privateKeyToPem } from '../../../src/reload/security/index.js';
import type { NodeIdentity, NodeKeyAlgorithm } from '../../../src/reload/security/index.js';

export const OVERLAY = 'dtls.test';

export async function identity(algorithm: NodeKeyAlgorithm, seed: number, overlay = OVERLAY): Promise<NodeIdentity> {
  return createSelfSignedIdentity({ overlay, userName: `n${seed}@${overlay}`, now: Date.now() - 60_000, random: new SeededRandom(seed), algorithm });
}

/** The self-signed overlay's trust (RFC 6940 §11.3.1), as the TLS driver gets it: CertificateStore.trustsPeerCertificate. */
export function selfSignedTrust(overlay = OVERLAY): CertificateStore {
  return new CertificateStore({ overlay, rootCertificates: [], selfSignedPermitted: true, selfSignedDigest: 'sha256', nodeIdLength: 16 }, { now: () => Date.now() });
}

export function pem(id: NodeIdentity): { cert: string; key: string } {
  return { cert: certificateToPem(id.certificate.der), key: privateKeyToPem(id.keys.privateKey) };
}

/** A bound loopback socket whose datagrams go to `onDatagram`. */
export async function udp(onDatagram: (d: Uint8Array) => void): Promise<{ socket: Socket; port: number; sendTo: (port: number) => (d: Uint8Array) => void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  socket.on('message', (m) => onDatagram(new Uint8Array(m.buffer, m.byteOffset, m.length)));
  return {
    socket,
    port: socket.address().port,
    sendTo: (port) => (d) => socket.send(d, port, '127.0.0.1'),
  };
}

export class RecordingDtlsUser implements DtlsChannelUser {
  opened: Uint8Array | undefined;
  failed: Error | undefined;
  closed: { error: Error | undefined } | undefined;
  readonly data: Uint8Array[] = [];
  onDataHook: ((d: Uint8Array) => void) | undefined;
  private readonly waiters: (() => void)[] = [];

  onOpen(cert: Uint8Array): void {
    this.opened = cert;
    this.wake();
  }
  onData(d: Uint8Array): void {
    this.data.push(new Uint8Array(d));
    this.onDataHook?.(d);
    this.wake();
  }
  onFailed(e: Error): void {
    this.failed = e;
    this.wake();
  }
  onClosed(e: Error | undefined): void {
    this.closed = { error: e };
    this.wake();
  }

  /** Resolves when `cond()` holds (checked at each event), rejects after `ms`. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms);
      const check = (): void => {
        if (cond()) {
          clearTimeout(t);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export interface DtlsEnd {
  channel: DtlsChannel;
  user: RecordingDtlsUser;
  socket: Socket;
  port: number;
  keylog: string[];
}

export interface EndSpec {
  role: DtlsRole;
  id: NodeIdentity;
  verifyPeer?: (der: Uint8Array) => string | undefined;
  handshakeTimeoutMs?: number;
  /** Rewrites or drops (undefined) datagrams this end receives, before the channel sees them. */
  filter?: (d: Uint8Array) => Uint8Array | undefined;
}

/** Two channels on two loopback sockets, wired to each other (not started). */
export async function dtlsPair(a: EndSpec, b: EndSpec, extra: Partial<DtlsChannelOptions> = {}): Promise<{ a: DtlsEnd; b: DtlsEnd; close: () => void }> {
  const trust = selfSignedTrust();
  const ends: DtlsEnd[] = [];
  const deliver = (i: 0 | 1, spec: EndSpec) => (d: Uint8Array) => {
    const e = ends[i];
    if (e === undefined) return;
    const f = spec.filter === undefined ? d : spec.filter(d);
    if (f !== undefined) e.channel.receive(f);
  };
  const sockA = await udp(deliver(0, a));
  const sockB = await udp(deliver(1, b));
  for (const [spec, mine, theirs] of [
    [a, sockA, sockB],
    [b, sockB, sockA],
  ] as const) {
    const user = new RecordingDtlsUser();
    const keylog: string[] = [];
    const channel = new DtlsChannel({
      role: spec.role,
      transport: { send: mine.sendTo(theirs.port) },
      user,
      ...pem(spec.id),
      verifyPeer: spec.verifyPeer ?? ((der) => trust.trustsPeerCertificate(der)),
      handshakeTimeoutMs: spec.handshakeTimeoutMs ?? 4000,
      onKeylog: (l) => keylog.push(l),
      ...extra,
    });
    ends.push({ channel, user, socket: mine.socket, port: mine.port, keylog });
  }
  const close = (): void => {
    for (const e of ends) {
      e.channel.close();
      e.socket.close();
    }
  };
  return { a: ends[0]!, b: ends[1]!, close };
}
