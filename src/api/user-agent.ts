/**
 * The application's own SIP user agent (issue 17): the application is a "phone" inside its process,
 * bound to a UDP port next to its peer's SIP front, which is its registrar and outbound proxy. It
 * REGISTERs the application's users (answering digest challenges, RFC 3261 §22), sends requests
 * through the overlay and delivers the requests that reach those users to the application's handler.
 * Built from the project's SIP stack: TransportLayer (RFC 3261 §18) under TransactionLayer (§17).
 *
 * Bounds: users, requests in flight, sessions, header count and body size — constants below and in
 * sip-text.ts, ua-dialogs.ts, ua-incoming.ts (the requests to our users).
 */
import type { Clock, TimerHandle } from '../lib/clock.js';
import { randomToken, type Random } from '../lib/random.js';
import { NodeTransportDriver } from '../platform/node-transport-driver.js';
import { cseqOf, formatUri, headerKey, isSipUri, parseNameAddrList } from '../sip/message/index.js';
import type { SipRequest, SipResponse } from '../sip/message/sip-message.js';
import { TransactionLayer } from '../sip/transaction/index.js';
import type { OutboundTarget, TransportAddress } from '../sip/transport/sip-transport.js';
import { TransportLayer } from '../sip/transport/transport-layer.js';
import { P2psipApiError } from './api-error.js';
import { digestAnswer, pickChallenge } from './digest-client.js';
import { MAX_REQUEST_BODY_BYTES, bodyBytes, checkedHeaders, localResult, resultOf } from './sip-text.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type Dialog, type IncomingRequest, type OutgoingRequest, type RequestHandler, type SipResult } from './sip-types.js';
import { MAX_DIALOGS, dialogKey, dialogTarget, tagOf, uacDialog, type DialogState } from './ua-dialogs.js';
import { ackOf, buildRequest, cancelOf, type RequestFields } from './ua-messages.js';
import { UaIncoming } from './ua-incoming.js';

/** Users one user agent registers at once. */
export const MAX_USERS = 64;
/** Requests the application may have in flight at once (each waits for its final response). */
export const MAX_PENDING_REQUESTS = 256;
/** Longest wait for a request, ms. */
export const MAX_REQUEST_TIMEOUT_MS = 300_000;
/** REGISTER expiry asked for by default, s; accepted range. */
export const DEFAULT_REGISTER_EXPIRES_S = 600;
export const MIN_REGISTER_EXPIRES_S = 60;
export const MAX_REGISTER_EXPIRES_S = 86_400;
/** After a failed refresh the REGISTER is tried again this much later, ms. */
export const REFRESH_RETRY_MS = 30_000;
/** Digest answers sent for one request at most (a second challenge may be stale=true). */
export const MAX_AUTH_ATTEMPTS = 2;
/** How long a stop waits for the un-REGISTERs and BYEs, ms. */
export const STOP_WAIT_MS = 2_000;
/** Application user names: what a SIP user part and the user directory both take. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

type Final = { response: SipResponse } | { local: SipResult };

interface UaUser {
  user: string;
  aor: string;
  password: string | undefined;
  callId: string;
  cseq: number;
  expiresS: number;
  timer: TimerHandle | undefined;
}

export interface UserAgentDeps {
  clock: Clock;
  random: Random;
  /** The peer's SIP front on UDP (the registrar and outbound proxy). */
  front: { host: string; port: number };
  /** The overlay's SIP domain. */
  domain: string;
  /** Address to bind the user agent's UDP port to (loopback next to the front). */
  bindHost: string;
  /** Told about each request that reached one of our users. */
  onRequest?: (r: IncomingRequest) => void;
  log?: (obj: object, msg: string) => void;
}

export class AppUserAgent {
  private readonly users = new Map<string, UaUser>();
  private readonly dialogs = new Map<string, DialogState>();
  private readonly inflight = new Set<(f: Final) => void>();
  private handler: RequestHandler | undefined;
  private readonly incoming: UaIncoming;
  private closed = false;

  private constructor(
    private readonly deps: UserAgentDeps,
    private readonly transport: TransportLayer,
    private readonly tx: TransactionLayer,
    readonly local: TransportAddress,
  ) {
    this.incoming = new UaIncoming({
      clock: deps.clock,
      random: deps.random,
      tx,
      dialogs: this.dialogs,
      domain: deps.domain,
      hasUser: (u) => this.users.has(u),
      contactOf: (u) => this.contactOf(u),
      endDialog: (d) => this.endDialog(d),
      handler: () => this.handler,
      closed: () => this.closed,
      onRequest: deps.onRequest,
      log: deps.log,
    });
  }

  static async start(deps: UserAgentDeps): Promise<AppUserAgent> {
    let tx: TransactionLayer | undefined;
    const transport = new TransportLayer({
      driver: new NodeTransportDriver(),
      clock: deps.clock,
      user: { onMessage: (m) => tx?.receive(m), onSendError: (t, m, e) => tx?.onSendError(t, m, e) },
    });
    let ua: AppUserAgent | undefined;
    tx = new TransactionLayer({
      clock: deps.clock,
      transport,
      user: {
        onRequest: (t) => ua?.incoming.onRequest(t),
        onAck: (inbound) => ua?.incoming.onAck(inbound),
        onStrayResponse: () => undefined,
      },
      onError: (err) => deps.log?.({ err: String(err) }, 'api user agent: a callback failed'),
    });
    const local = await transport.listen('udp', deps.bindHost, 0);
    ua = new AppUserAgent(deps, transport, tx, local);
    return ua;
  }

  /** The Contact of `user` at this user agent. */
  contactOf(user: string): string {
    const host = this.local.host.includes(':') ? `[${this.local.host}]` : this.local.host;
    return `sip:${user}@${host}:${this.local.port}`;
  }

  setHandler(handler: RequestHandler | undefined): void {
    this.handler = handler;
  }

  registeredUsers(): string[] {
    return [...this.users.keys()];
  }

  // ------------------------------------------------------------------ registrations

  /** REGISTERs `user` (RFC 3261 §10) and keeps it refreshed; throws `sip` with the final status when refused. */
  async register(user: string, password: string | undefined, expiresS = DEFAULT_REGISTER_EXPIRES_S): Promise<{ aor: string; contact: string; expiresS: number }> {
    this.open();
    if (typeof user !== 'string' || !USER_NAME.test(user)) throw new P2psipApiError('bad-argument', `a user name is a letter or digit then up to 63 of [A-Za-z0-9._+-]: ${JSON.stringify(String(user)).slice(0, 80)}`);
    if (!Number.isInteger(expiresS) || expiresS < MIN_REGISTER_EXPIRES_S || expiresS > MAX_REGISTER_EXPIRES_S) {
      throw new P2psipApiError('bad-argument', `expires is from ${MIN_REGISTER_EXPIRES_S} to ${MAX_REGISTER_EXPIRES_S} seconds`);
    }
    const known = this.users.get(user);
    if (known === undefined && this.users.size >= MAX_USERS) throw new P2psipApiError('limit', `at most ${MAX_USERS} users per peer (MAX_USERS)`);
    const u: UaUser = known ?? { user, aor: `sip:${user}@${this.deps.domain}`, password, callId: `${randomToken(this.deps.random, 20)}@p2psip-api`, cseq: 0, expiresS, timer: undefined };
    u.password = password;
    u.expiresS = expiresS;
    const r = await this.sendRegister(u, expiresS);
    if (r.status < 200 || r.status >= 300) {
      if (known === undefined) this.users.delete(user);
      throw new P2psipApiError('sip', `REGISTER ${u.aor} refused: ${r.status} ${r.reason}`, { status: r.status });
    }
    this.users.set(user, u);
    const granted = this.grantedExpiry(r, expiresS);
    this.scheduleRefresh(u, granted);
    return { aor: u.aor, contact: this.contactOf(user), expiresS: granted };
  }

  /** Removes `user`'s binding (REGISTER with expires 0) and stops refreshing it. */
  async unregister(user: string): Promise<SipResult> {
    const u = this.users.get(user);
    if (u === undefined) throw new P2psipApiError('bad-argument', `${user} is not registered here`);
    u.timer?.cancel();
    this.users.delete(user);
    return this.sendRegister(u, 0);
  }

  private async sendRegister(u: UaUser, expiresS: number): Promise<SipResult> {
    const contact = `<${this.contactOf(u.user)}>${expiresS === 0 ? ';expires=0' : ''}`;
    const fromTag = randomToken(this.deps.random, 10);
    const { final } = await this.exchange(
      (cseq) => {
        u.cseq = Math.max(u.cseq + 1, cseq);
        return this.build({ method: 'REGISTER', ruri: `sip:${this.deps.domain}`, from: `<${u.aor}>;tag=${fromTag}`, to: `<${u.aor}>`, callId: u.callId, cseq: u.cseq, contact, extra: [['Expires', String(expiresS)]], body: new Uint8Array(0) });
      },
      this.frontTarget(),
      u,
      DEFAULT_REQUEST_TIMEOUT_MS,
    );
    return 'local' in final ? final.local : resultOf(final.response);
  }

  private grantedExpiry(r: SipResult, asked: number): number {
    const mine = this.contactOf('');
    for (const v of r.headers.filter(([n]) => headerKey(n) === 'contact').map(([, v]) => v)) {
      try {
        for (const na of parseNameAddrList(v, 'Contact')) {
          if (!isSipUri(na.uri) || !formatUri(na.uri).includes(mine.slice(mine.indexOf('@')))) continue;
          const e = Number(na.params.find((p) => p.name.toLowerCase() === 'expires')?.value);
          if (Number.isInteger(e) && e > 0) return e;
        }
      } catch {
        // unreadable Contact: the Expires header or what we asked for
      }
    }
    const e = Number(r.header('expires'));
    return Number.isInteger(e) && e > 0 ? e : asked;
  }

  /** Refreshes at half the granted time (at least 5 s later); a failure is retried after REFRESH_RETRY_MS. */
  private scheduleRefresh(u: UaUser, grantedS: number, delayMs = Math.max(5_000, (grantedS * 1000) / 2)): void {
    u.timer?.cancel();
    u.timer = this.deps.clock.setTimer(delayMs, () => {
      if (this.closed || this.users.get(u.user) !== u) return;
      void this.sendRegister(u, u.expiresS).then(
        (r) => {
          if (this.users.get(u.user) !== u) return;
          if (r.status >= 200 && r.status < 300) this.scheduleRefresh(u, this.grantedExpiry(r, u.expiresS));
          else {
            this.deps.log?.({ aor: u.aor, status: r.status }, 'api user agent: REGISTER refresh failed, trying again later');
            this.scheduleRefresh(u, u.expiresS, REFRESH_RETRY_MS);
          }
        },
        () => undefined,
      );
    });
  }

  // ------------------------------------------------------------------ requests we send

  /** Sends an out-of-dialog request through the peer; resolves with its final response (INVITE 2xx: acknowledged, with its dialog). */
  async request(req: OutgoingRequest, to: string): Promise<SipResult> {
    this.open();
    const method = typeof req.method === 'string' ? req.method.toUpperCase() : '';
    if (!/^[A-Z]{1,32}$/.test(method)) throw new P2psipApiError('bad-argument', `not a SIP method: ${JSON.stringify(String(req.method)).slice(0, 40)}`);
    if (['REGISTER', 'ACK', 'CANCEL', 'BYE', 'PRACK'].includes(method)) throw new P2psipApiError('bad-argument', `${method} is sent by the API itself (register/unregister, dialogs)`);
    const timeoutMs = req.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_REQUEST_TIMEOUT_MS) throw new P2psipApiError('bad-argument', `timeoutMs is from 1 to ${MAX_REQUEST_TIMEOUT_MS}`);
    const body = bodyBytes(req.body);
    if (body.length > MAX_REQUEST_BODY_BYTES) throw new P2psipApiError('limit', `a body of ${body.length} bytes: at most ${MAX_REQUEST_BODY_BYTES} (MAX_REQUEST_BODY_BYTES)`);
    const extra = checkedHeaders(req.headers);
    if (body.length > 0) extra.push(['Content-Type', req.contentType ?? (typeof req.body === 'string' ? 'text/plain;charset=utf-8' : 'application/octet-stream')]);
    if (this.inflight.size >= MAX_PENDING_REQUESTS) throw new P2psipApiError('limit', `${MAX_PENDING_REQUESTS} requests in flight (MAX_PENDING_REQUESTS)`);
    if (method === 'INVITE' && this.dialogs.size >= MAX_DIALOGS) throw new P2psipApiError('limit', `${MAX_DIALOGS} sessions (MAX_DIALOGS)`);
    const fromUser = this.fromUser(req.from);
    const fromAor = fromUser?.aor ?? 'sip:anonymous@anonymous.invalid';
    const fromTag = randomToken(this.deps.random, 10);
    const callId = `${randomToken(this.deps.random, 20)}@p2psip-api`;
    let seq = 0;
    let sent: SipRequest | undefined;
    /** The To tag of the 2xx this request resolved with (INVITE). */
    let accepted: string | undefined;
    const { final, request } = await this.exchange(
      (cseq) => {
        seq = Math.max(seq + 1, cseq);
        sent = this.build({ method, ruri: to, from: `<${fromAor}>;tag=${fromTag}`, to: `<${to}>`, callId, cseq: seq, contact: fromUser === undefined ? undefined : `<${this.contactOf(fromUser.user)}>`, extra, body });
        return sent;
      },
      this.frontTarget(),
      fromUser,
      timeoutMs,
      // a 2xx after the final answer: the same one retransmitted is acknowledged again (RFC 6026 §8.4);
      // another one (a fork, or one after our deadline) is acknowledged and ended with BYE (RFC 3261 §13.2.2.4)
      (late) => {
        if (sent === undefined) return;
        this.ackFor(sent, late);
        const tag = tagOf(late.headers.get('to'));
        if (accepted !== undefined && tag === accepted) return;
        const d = tag === undefined ? undefined : uacDialog(sent, late, tag, fromAor);
        if (d !== undefined) void this.bye(d);
      },
    );
    if ('local' in final) return final.local;
    const r = final.response;
    if (method !== 'INVITE' || r.status >= 300) return resultOf(r);
    this.ackFor(request, r);
    const remoteTag = tagOf(r.headers.get('to'));
    accepted = remoteTag;
    const d = remoteTag === undefined ? undefined : uacDialog(request, r, remoteTag, fromAor);
    if (d === undefined) return resultOf(r);
    this.dialogs.set(dialogKey(d.callId, d.localTag), d);
    return resultOf(r, { dialog: this.dialogView(d) });
  }

  private fromUser(from: string | undefined): UaUser | undefined {
    if (from === undefined) return this.users.values().next().value;
    const name = from.replace(/^sips?:/i, '').split('@')[0] ?? '';
    const u = this.users.get(name);
    if (u === undefined) throw new P2psipApiError('bad-argument', `from: ${JSON.stringify(from).slice(0, 80)} is not one of the users registered here`);
    return u;
  }

  /** Sends BYE in a dialog (RFC 3261 §15.1.1). */
  private async bye(d: DialogState): Promise<SipResult> {
    if (d.ended) return localResult(481, 'Call/Transaction Does Not Exist');
    const target = dialogTarget(d.routeSet, d.remoteTarget);
    this.endDialog(d);
    if (target === undefined || this.closed) return localResult(503, 'Service Unavailable (no route to the other side)');
    const { final } = await this.exchange(
      () => this.build({ method: 'BYE', ruri: d.remoteTarget, from: d.localParty, to: d.remoteParty, callId: d.callId, cseq: d.localSeq++, contact: undefined, extra: d.routeSet.map((r): [string, string] => ['Route', r]), body: new Uint8Array(0) }),
      target,
      undefined,
      DEFAULT_REQUEST_TIMEOUT_MS,
    );
    return 'local' in final ? final.local : resultOf(final.response);
  }

  /** ACK for a 2xx to our INVITE (RFC 3261 §13.2.2.4): end to end, along the dialog's route set. */
  private ackFor(invite: SipRequest, ok: SipResponse): void {
    const a = ackOf(invite, ok, this.local, this.deps.random);
    if (a !== undefined) this.transport.send(a.ack, a.target);
  }

  private build(o: RequestFields): SipRequest {
    return buildRequest(o, this.local, this.deps.random);
  }

  /**
   * Sends the request `make(cseq)` builds; a 401/407 is answered with `cred`'s password (at most
   * MAX_AUTH_ATTEMPTS times, each with a higher CSeq, RFC 3261 §22.2). Resolves with the final answer.
   */
  private async exchange(
    make: (cseq: number) => SipRequest,
    target: OutboundTarget,
    cred: { user: string; password: string | undefined } | undefined,
    timeoutMs: number,
    onLate2xx?: (r: SipResponse) => void,
  ): Promise<{ final: Final; request: SipRequest }> {
    const deadline = this.deps.clock.now() + timeoutMs;
    let request = make(1);
    for (let attempt = 0; ; attempt++) {
      const final = await this.transact(request, target, Math.max(1, deadline - this.deps.clock.now()), onLate2xx);
      if (!('response' in final) || cred?.password === undefined || attempt >= MAX_AUTH_ATTEMPTS) return { final, request };
      const status = final.response.status;
      if (status !== 401 && status !== 407) return { final, request };
      const challenge = pickChallenge(final.response.headers.getAll(status === 401 ? 'www-authenticate' : 'proxy-authenticate'));
      if (challenge === undefined) return { final, request };
      const next = make(cseqOf(request).seq + 1);
      const answer = digestAnswer(challenge, { username: cred.user, password: cred.password, method: next.method, uri: formatUri(next.uri), cnonce: randomToken(this.deps.random, 16), nc: 1 });
      next.headers.set(status === 401 ? 'Authorization' : 'Proxy-Authorization', answer);
      request = next;
    }
  }

  /** One client transaction: the final response, or a local 408 (deadline, Timer B/F) or 503 (transport error, stop). */
  private transact(request: SipRequest, target: OutboundTarget, timeoutMs: number, onLate2xx?: (r: SipResponse) => void): Promise<Final> {
    if (this.closed) return Promise.resolve({ local: localResult(503, 'Service Unavailable (the peer stopped)') });
    return new Promise<Final>((resolve) => {
      let done = false;
      let provisional = false;
      let timer: TimerHandle | undefined;
      const finish = (f: Final): void => {
        if (done) return;
        done = true;
        timer?.cancel();
        this.inflight.delete(finish);
        resolve(f);
      };
      this.inflight.add(finish);
      const tx = this.tx.sendRequest(request, target, {
        onResponse: (r) => {
          if (r.status < 200) {
            provisional = true;
            return;
          }
          if (done) {
            if (r.status < 300) onLate2xx?.(r);
            return;
          }
          finish({ response: r });
        },
        onTimeout: () => finish({ local: localResult(408, 'Request Timeout') }),
        onTransportError: (_t, e) => finish({ local: localResult(503, `Service Unavailable (${e.message})`) }),
      });
      if (!done) {
        timer = this.deps.clock.setTimer(timeoutMs, () => {
          // an INVITE is cancelled (RFC 3261 §9.1: once a provisional came) and left to its transaction,
          // which acknowledges the 487; a late 2xx is acknowledged and ended (onLate2xx). Others end here.
          if (request.method !== 'INVITE') tx.terminate();
          else if (provisional) this.cancel(request, target);
          finish({ local: localResult(408, 'Request Timeout') });
        });
      }
    });
  }

  /** CANCEL of a pending INVITE (RFC 3261 §9.1), in a client transaction of its own. */
  private cancel(invite: SipRequest, target: OutboundTarget): void {
    const ignore = (): void => undefined;
    this.tx.sendRequest(cancelOf(invite), target, { onResponse: ignore, onTimeout: ignore, onTransportError: ignore });
  }

  private frontTarget(): OutboundTarget {
    return { destination: { protocol: 'udp', host: this.deps.front.host, port: this.deps.front.port } };
  }

  private dialogView(d: DialogState): Dialog {
    return { callId: d.callId, remote: d.remote, local: d.local, remoteSdp: d.remoteSdp, bye: () => this.bye(d), ended: d.endedPromise };
  }

  /** The view of the session an INVITE we answered 2xx set up (by Call-ID), for the application. */
  dialogOf(callId: string): Dialog | undefined {
    for (const d of this.dialogs.values()) if (d.callId === callId && !d.ended) return this.dialogView(d);
    return undefined;
  }

  private endDialog(d: DialogState): void {
    this.dialogs.delete(dialogKey(d.callId, d.localTag));
    d.end();
  }

  private open(): void {
    if (this.closed) throw new P2psipApiError('closed', 'the peer was stopped');
  }

  /** Un-REGISTERs every user and ends every session (bounded by STOP_WAIT_MS), then closes the port. */
  async close(): Promise<void> {
    if (this.closed) return;
    const byes = [...this.dialogs.values()].map((d) => this.bye(d));
    const unregs = [...this.users.keys()].map((u) => this.unregister(u));
    let timer: TimerHandle | undefined;
    await Promise.race([Promise.allSettled([...byes, ...unregs]), new Promise<void>((resolve) => (timer = this.deps.clock.setTimer(STOP_WAIT_MS, resolve)))]);
    timer?.cancel();
    this.closed = true;
    for (const finish of [...this.inflight]) finish({ local: localResult(503, 'Service Unavailable (the peer stopped)') });
    this.incoming.stop();
    for (const d of [...this.dialogs.values()]) this.endDialog(d);
    for (const u of this.users.values()) u.timer?.cancel();
    this.users.clear();
    this.tx.close();
    await this.transport.close();
  }
}
