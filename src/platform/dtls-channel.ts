/**
 * A DTLS 1.2 association with one peer (RFC 6347) over an injected datagram transport — the overlay's
 * UDP port, shared with STUN/ICE/TURN and owned elsewhere (RFC 7983 demultiplexing: `isDtlsDatagram`) —
 * for DTLS-UDP-SR overlay links (RFC 6940 §6.6.4). Built on werift-dtls 0.5 (pure TypeScript), with
 * what it lacks added around it:
 * - Mutual authentication (RFC 6940 §6.5.1.13: the Attach requester is the server and requests the
 *   client's certificate; both check the peer's against the overlay's trust): werift exchanges
 *   certificates but verifies no ServerKeyExchange or CertificateVerify signature and no Finished, so
 *   the channel checks them itself (dtls-handshake-checks.ts) by gating werift's handshake handler:
 *   the client checks the server's certificate (`verifyPeer`) and ServerKeyExchange signature when the
 *   ServerHelloDone arrives, before it sends its own flight; the server checks the client's
 *   certificate, CertificateVerify and Finished before it sends its Finished; the client checks the
 *   server's Finished. A refusal sends a fatal alert and fails the handshake on both sides.
 * - Alerts: werift drops fatal alerts silently and sends no close_notify; the channel reads alerts
 *   itself (plaintext ones only during the handshake) and sends close_notify on `close()`.
 * - Record sequence numbers: werift restarts epoch 1 numbering at 1 after its Finished, which used a
 *   higher number in epoch 1 — the same AES-GCM nonce twice. The channel moves the counter past every
 *   epoch-1 record already sent when the handshake completes.
 * - Anti-replay (RFC 6347 §4.1.2.6) for application data; epoch-0 records after the handshake and
 *   renegotiation are dropped.
 * Events go to a {@link DtlsChannelUser}; after `close()` or a failure nothing more is reported.
 * Limits of werift kept: DTLS 1.2 only; TLS_ECDHE_{ECDSA,RSA}_WITH_AES_128_GCM_SHA256; rsa_pkcs1_sha256
 * and ecdsa_secp256r1_sha256; only the leaf certificate is sent; handshake flights are retransmitted on
 * werift's own timers (0.5 s, 1 s, 1.5 s… up to 10 times), which end within a few seconds of `close()`.
 * werift-dtls 0.5.8's package.json names a `main` (lib/index.js) it does not ship: imports use the
 * deep path lib/dtls/src/index.js (the package has no `exports` map, so Node resolves it).
 */
import type { DtlsClient, DtlsServer } from 'werift-dtls/lib/dtls/src/index.js';
import type { Transport } from 'werift-dtls/lib/dtls/src/imports/common.js';
import type { FragmentedHandshake } from 'werift-dtls/lib/dtls/src/record/message/fragment.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { DtlsError, dtlsCredentials } from './dtls-credentials.js';
import { HandshakeType, checkCertificateVerify, checkFinished, checkServerKeyExchange, find, peerCertificateIn } from './dtls-handshake-checks.js';
import type { CachedHandshake } from './dtls-handshake-checks.js';
import { AlertDescription, AlertLevel, ContentType, DTLS12_VERSION, ReplayWindow, alertName, buildRecord, splitRecords } from './dtls-records.js';
import { SystemClock } from './system-clock.js';
import { weriftDtls } from './werift-dtls-module.js';
import { PeerCertificateError } from './tls-link-driver.js';

export { isDtlsDatagram } from './dtls-records.js';
export { DtlsError } from './dtls-credentials.js';
export type { DtlsErrorCode } from './dtls-credentials.js';

export type DtlsRole = 'client' | 'server';
export type DtlsChannelState = 'new' | 'handshaking' | 'open' | 'closed';

/** The datagram path to the peer (the owner of the UDP port knows the address). */
export interface DtlsDatagramTransport {
  send(datagram: Uint8Array): void;
}

export interface DtlsChannelUser {
  /** Handshake done, the peer authenticated: its certificate (DER). */
  onOpen(peerCertificate: Uint8Array): void;
  /** One application-data record. */
  onData(data: Uint8Array): void;
  /** The handshake did not complete (timeout, refused certificate, bad signature, fatal alert). Final. */
  onFailed(error: Error): void;
  /** An open association ended: close_notify from the peer (no error) or a fatal alert. Final. */
  onClosed(error: Error | undefined): void;
}

export interface DtlsChannelOptions {
  /** RFC 6940 §6.5.1.13: the Attach requester is the server, the answerer the client. */
  role: DtlsRole;
  transport: DtlsDatagramTransport;
  user: DtlsChannelUser;
  /** Our certificate (PEM; the first one is sent) and private key (PEM, RSA ≥ 2048 or ECDSA P-256). */
  cert: string | Buffer;
  key: string | Buffer;
  /**
   * The trust decision on the peer's certificate (DER): a refusal reason, or undefined to accept — the
   * same function as TlsLinkDriver's `verifyPeer` (CertificateStore.trustsPeerCertificate), plus the
   * Attach peer's Node-ID check where the caller knows it. Called once the peer proved it holds the key.
   */
  verifyPeer: (certDer: Uint8Array) => string | undefined;
  /** A handshake not done after this long fails. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /** Default the system clock (only the handshake timeout uses it). */
  clock?: Clock;
  /** NSS key log line (`CLIENT_RANDOM <client_random> <master_secret>`) when the handshake completes. */
  onKeylog?: (line: string) => void;
}

export interface DtlsChannelStats {
  state: DtlsChannelState;
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  appRecordsIn: number;
  appRecordsOut: number;
  /** Records dropped: malformed, replayed, epoch 0 after the handshake, unauthenticated alerts. */
  recordsDropped: number;
  replays: number;
}

/** Largest application-data record plaintext (RFC 6347 §4.1: 2^14). */
export const MAX_DTLS_PLAINTEXT = 16384;
const PEER: readonly [string, number] = ['peer', 0];

export class DtlsChannel {
  readonly role: DtlsRole;
  private st: DtlsChannelState = 'new';
  private readonly sock: DtlsClient | DtlsServer;
  private readonly wt: Transport;
  private readonly transport: DtlsDatagramTransport;
  private readonly user: DtlsChannelUser;
  private readonly verifyPeer: (der: Uint8Array) => string | undefined;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly onKeylog: ((line: string) => void) | undefined;
  private timer: TimerHandle | undefined;
  private serverChecked = false;
  private finishedChecked = false;
  private peerCert: Uint8Array | undefined;
  private lastError: string | undefined;
  private maxEpoch1Sent = 0;
  private readonly replay = new ReplayWindow();
  private received: Buffer | undefined;
  private readonly counters = { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, appRecordsIn: 0, appRecordsOut: 0, recordsDropped: 0, replays: 0 };

  /** Throws {@link DtlsError} 'DTLS_CONFIG' for a key or certificate werift cannot use. */
  constructor(options: DtlsChannelOptions) {
    this.role = options.role;
    this.transport = options.transport;
    this.user = options.user;
    this.verifyPeer = options.verifyPeer;
    this.clock = options.clock ?? new SystemClock();
    this.timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.onKeylog = options.onKeylog;
    const { certPem, keyPem, signatureHash } = dtlsCredentials(options.cert, options.key);
    this.wt = {
      type: 'udp',
      address: { address: '0.0.0.0', family: 'IPv4', port: 0 },
      closed: false,
      onData: () => undefined,
      send: (data: Buffer) => {
        this.out(data);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const o = { transport: this.wt, cert: certPem, key: keyPem, signatureHash, certificateRequest: true, extendedMasterSecret: true };
    try {
      const { DtlsClient, DtlsServer } = weriftDtls();
      this.sock = this.role === 'client' ? new DtlsClient(o) : new DtlsServer(o);
    } catch (e) {
      throw new DtlsError('DTLS_CONFIG', `werift-dtls refused our certificate or key: ${(e as Error).message}`, { cause: e });
    }
    const next = this.sock.onHandleHandshakes;
    this.sock.onHandleHandshakes = (assembled) => this.gate(assembled, next);
    this.sock.onConnect.subscribe(() => this.connected());
    this.sock.onData.subscribe((d: Buffer) => {
      this.received = d;
    });
    this.sock.onError.subscribe((e: unknown) => {
      this.lastError = e instanceof Error ? e.message : String(e);
    });
  }

  get state(): DtlsChannelState {
    return this.st;
  }

  /** The peer's verified certificate (DER), once open. */
  get peerCertificate(): Uint8Array | undefined {
    return this.peerCert;
  }

  /** Starts the handshake (the client sends its ClientHello) and its timeout. */
  start(): void {
    if (this.st !== 'new') return;
    this.st = 'handshaking';
    this.timer = this.clock.setTimer(this.timeoutMs, () => {
      this.timer = undefined;
      const why = this.lastError === undefined ? '' : ` (last error: ${this.lastError})`;
      this.fail(new DtlsError('DTLS_HANDSHAKE_TIMEOUT', `DTLS handshake not done after ${this.timeoutMs} ms${why}`));
    });
    if (this.role === 'client') {
      (this.sock as DtlsClient).connect().catch((e: unknown) => {
        this.lastError = e instanceof Error ? e.message : String(e);
      });
    }
  }

  /** One datagram from the peer's address (DTLS by RFC 7983). Never throws; ignored before `start()` and after the end. */
  receive(datagram: Uint8Array): void {
    if (this.st !== 'handshaking' && this.st !== 'open') return;
    this.counters.datagramsIn++;
    this.counters.bytesIn += datagram.length;
    const records = splitRecords(datagram);
    if (records === undefined) {
      this.counters.recordsDropped++;
      return;
    }
    for (const r of records) {
      if (this.st !== 'handshaking' && this.st !== 'open') return;
      // epoch 0 after the handshake (stale flights, or a ClientHello to renegotiate): never
      if ((this.st === 'open' && r.epoch === 0) || r.epoch > 1) {
        this.counters.recordsDropped++;
      } else if (r.type === ContentType.alert) {
        this.alert(r.epoch, r.version, r.sequence, r.fragment);
      } else if (r.type === ContentType.applicationData) {
        this.appData(r.sequence, r.bytes);
      } else {
        this.feed(r.bytes);
      }
    }
  }

  /** Sends one application-data record; false when not open or longer than 2^14 bytes. */
  send(data: Uint8Array): boolean {
    if (this.st !== 'open' || data.length > MAX_DTLS_PLAINTEXT) return false;
    this.counters.appRecordsOut++;
    this.sock.send(Buffer.from(data)).catch((e: unknown) => {
      this.lastError = e instanceof Error ? e.message : String(e);
    });
    return true;
  }

  /** Ends the association: close_notify when open (RFC 5246 §7.2.1), nothing during the handshake. No event follows. */
  close(): void {
    if (this.st === 'closed') return;
    if (this.st === 'open') this.sendAlert(AlertLevel.warning, AlertDescription.close_notify, true);
    this.finish();
  }

  stats(): DtlsChannelStats {
    return { state: this.st, ...this.counters };
  }

  // Datagrams werift sends. Epoch-1 sequence numbers are noted until the handshake is done (see connected()).
  private out(data: Buffer): void {
    if (this.st === 'closed' || this.st === 'new') return;
    if (this.st === 'handshaking') {
      for (const r of splitRecords(data) ?? []) if (r.epoch === 1 && r.sequence > this.maxEpoch1Sent) this.maxEpoch1Sent = r.sequence;
    }
    this.counters.datagramsOut++;
    this.counters.bytesOut += data.length;
    this.transport.send(new Uint8Array(data.buffer, data.byteOffset, data.length));
  }

  private feed(bytes: Uint8Array): void {
    try {
      this.wt.onData(Buffer.from(bytes), PEER);
    } catch (e) {
      this.counters.recordsDropped++;
      this.lastError = e instanceof Error ? e.message : String(e);
    }
  }

  private appData(sequence: number, bytes: Uint8Array): void {
    if (this.st !== 'open') {
      this.counters.recordsDropped++;
      return;
    }
    if (!this.replay.check(sequence)) {
      this.counters.replays++;
      this.counters.recordsDropped++;
      return;
    }
    this.received = undefined;
    this.feed(bytes);
    const d = this.received as Buffer | undefined;
    this.received = undefined;
    if (d === undefined) {
      this.counters.recordsDropped++; // did not authenticate
      return;
    }
    this.replay.mark(sequence);
    this.counters.appRecordsIn++;
    this.user.onData(new Uint8Array(d.buffer, d.byteOffset, d.length));
  }

  private alert(epoch: number, version: number, sequence: number, fragment: Uint8Array): void {
    let body: Uint8Array | undefined;
    if (epoch === 0) body = fragment; // only while handshaking (receive() drops epoch 0 afterwards)
    else if (this.sock.cipher.cipher !== undefined) {
      try {
        body = this.sock.cipher.cipher.decrypt(this.sock.sessionType, Buffer.from(fragment), { type: ContentType.alert, version, epoch, sequenceNumber: sequence });
      } catch {
        body = undefined;
      }
    }
    if (body === undefined || body.length !== 2) {
      this.counters.recordsDropped++;
      return;
    }
    const [level, description] = [body[0]!, body[1]!];
    if (description === AlertDescription.close_notify) {
      if (this.st === 'open') {
        this.sendAlert(AlertLevel.warning, AlertDescription.close_notify, true);
        this.finish();
        this.user.onClosed(undefined);
      } else this.fail(new DtlsError('DTLS_ALERT', 'the peer closed the association during the handshake'));
      return;
    }
    if (level === AlertLevel.fatal) this.fail(new DtlsError('DTLS_ALERT', `the peer sent a fatal alert: ${alertName(description)}`));
  }

  /**
   * Runs before werift's handshake handler: holds back the message after which werift would send its
   * next flight (client: ServerHelloDone; server: the client's Finished) or complete (client: the
   * server's Finished) until the peer's proofs are checked.
   */
  private async gate(assembled: FragmentedHandshake[], next: (a: FragmentedHandshake[]) => Promise<void>): Promise<void> {
    if (this.st === 'open') return next(assembled); // the server answers a retransmitted Finished with its last flight
    if (this.st !== 'handshaking') return;
    const client = this.role === 'client';
    const i = assembled.findIndex((h) => h.msg_type === HandshakeType.finished || (client && h.msg_type === HandshakeType.server_hello_done));
    if (i < 0) return next(assembled);
    if (i > 0) await next(assembled.slice(0, i));
    const h = assembled[i]!;
    let verdict = this.check(h);
    if (verdict === 'wait') {
      await new Promise<void>((resolve) => setImmediate(resolve)); // werift may still be filing the earlier messages
      verdict = this.check(h);
    }
    if (this.st !== 'handshaking') return;
    if (verdict === 'ok') return next(assembled.slice(i));
    if (verdict === 'wait') return; // the peer retransmits its flight
    const sentCcs = client && h.msg_type === HandshakeType.finished;
    this.sendAlert(AlertLevel.fatal, verdict.alert, sentCcs);
    this.fail(verdict.error);
  }

  private check(h: FragmentedHandshake): 'ok' | 'wait' | { error: Error; alert: number } {
    if (this.st !== 'handshaking') return 'wait';
    const cache: CachedHandshake[] = this.sock.dtls.sortedHandshakeCache;
    if (this.role === 'client' && h.msg_type === HandshakeType.server_hello_done) {
      if (this.serverChecked) return 'ok';
      const cert = peerCertificateIn(cache, 'client');
      if (cert === 'absent' || find(cache, HandshakeType.server_key_exchange) === undefined) return 'wait';
      if (cert === undefined) return { error: new PeerCertificateError('the server presented no certificate'), alert: AlertDescription.handshake_failure };
      if (find(cache, HandshakeType.certificate_request) === undefined) {
        this.lastError = 'the server did not request our certificate (RFC 6940 §6.5.1.13)';
        return 'wait';
      }
      const refusal = this.trust(cert);
      if (refusal !== undefined) return { error: new PeerCertificateError(refusal), alert: AlertDescription.bad_certificate };
      const why = checkServerKeyExchange(cache, cert);
      if (why !== undefined) return { error: new DtlsError('DTLS_HANDSHAKE', why), alert: AlertDescription.decrypt_error };
      this.serverChecked = true;
      this.peerCert = cert;
      return 'ok';
    }
    if (this.role === 'client') {
      if (!this.serverChecked) return { error: new DtlsError('DTLS_HANDSHAKE', 'Finished before the server was checked'), alert: AlertDescription.unexpected_message };
      const why = checkFinished(this.sock.cipher.masterSecret, 'server finished', cache, h.fragment);
      if (why !== undefined) return { error: new DtlsError('DTLS_HANDSHAKE', why), alert: AlertDescription.decrypt_error };
      this.finishedChecked = true;
      return 'ok';
    }
    // server: the client's whole flight must be in before its Finished is judged
    const cert = peerCertificateIn(cache, 'server');
    const ready = find(cache, HandshakeType.client_key_exchange) !== undefined && find(cache, HandshakeType.certificate_verify) !== undefined;
    if (!ready || cert === 'absent' || this.sock.cipher.masterSecret === undefined) return 'wait';
    if (cert === undefined) return { error: new PeerCertificateError('the client presented no certificate'), alert: AlertDescription.handshake_failure };
    const refusal = this.trust(cert);
    if (refusal !== undefined) return { error: new PeerCertificateError(refusal), alert: AlertDescription.bad_certificate };
    const why = checkCertificateVerify(cache, cert) ?? checkFinished(this.sock.cipher.masterSecret, 'client finished', cache, h.fragment);
    if (why !== undefined) return { error: new DtlsError('DTLS_HANDSHAKE', why), alert: AlertDescription.decrypt_error };
    this.finishedChecked = true;
    this.peerCert = cert;
    return 'ok';
  }

  private trust(cert: Uint8Array): string | undefined {
    try {
      return this.verifyPeer(cert);
    } catch (e) {
      return `verifyPeer threw: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private connected(): void {
    if (this.st !== 'handshaking') return; // werift reports again after a retransmitted flight
    const cert = this.peerCert;
    if (!this.finishedChecked || cert === undefined) {
      this.fail(new DtlsError('DTLS_HANDSHAKE', 'werift completed a handshake the channel did not check'));
      return;
    }
    // werift numbers epoch-1 records from 1 again after its Finished: move past every one sent (GCM nonces)
    const dtls = this.sock.dtls;
    dtls.recordSequenceNumber = Math.max(dtls.recordSequenceNumber, this.maxEpoch1Sent);
    this.st = 'open';
    this.timer?.cancel();
    this.timer = undefined;
    if (this.onKeylog !== undefined) {
      const hello = find(dtls.sortedHandshakeCache, HandshakeType.client_hello);
      const ms = this.sock.cipher.masterSecret;
      if (hello !== undefined) this.onKeylog(`CLIENT_RANDOM ${hex(hello.fragment.subarray(2, 34))} ${hex(ms)}`);
    }
    this.user.onOpen(cert);
  }

  private sendAlert(level: number, description: number, encrypted: boolean): void {
    const body = new Uint8Array([level, description]);
    const dtls = this.sock.dtls;
    let record: Uint8Array;
    if (encrypted && this.sock.cipher.cipher !== undefined) {
      const seq = Math.max(dtls.recordSequenceNumber, this.maxEpoch1Sent) + 1;
      dtls.recordSequenceNumber = seq;
      this.maxEpoch1Sent = seq;
      const sealed = this.sock.cipher.cipher.encrypt(this.sock.sessionType, Buffer.from(body), { type: ContentType.alert, version: DTLS12_VERSION, epoch: 1, sequenceNumber: seq });
      record = buildRecord(ContentType.alert, 1, seq, sealed);
    } else {
      record = buildRecord(ContentType.alert, 0, ++dtls.recordSequenceNumber, body);
    }
    this.counters.datagramsOut++;
    this.counters.bytesOut += record.length;
    this.transport.send(record);
  }

  private fail(error: Error): void {
    if (this.st === 'closed') return;
    const wasOpen = this.st === 'open';
    this.finish();
    if (wasOpen) this.user.onClosed(error);
    else this.user.onFailed(error);
  }

  // Final state: werift's flight loops end at their next wake-up, nothing more goes out or comes in.
  private finish(): void {
    this.st = 'closed';
    this.timer?.cancel();
    this.timer = undefined;
    // werift's flight loops end when `flight` passes their next flight; pinned so that a handler still
    // awaiting inside werift cannot start a new loop (and keep retransmitting into the void for 27 s)
    Object.defineProperty(this.sock.dtls, 'flight', { get: () => Number.MAX_SAFE_INTEGER, set: () => undefined, configurable: true });
    this.wt.closed = true;
    this.sock.close();
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
