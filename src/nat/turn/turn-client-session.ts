/**
 * The long-term credential mechanism on the client side (RFC 8489 §9.2.5), for TURN requests
 * (RFC 8656 §6): one session per client and server. A request goes first without credentials; a 401
 * gives REALM and NONCE, and the request is sent again with USERNAME, REALM, NONCE and
 * MESSAGE-INTEGRITY (key MD5(username:realm:password)); a 438 gives a new NONCE and the request goes
 * again; at most `maxAuthRounds` such rounds. A 401 to a request that carried credentials is final
 * (wrong credentials). Responses to authenticated requests count only with a valid MESSAGE-INTEGRITY,
 * except errors (an unsigned error cannot grant anything). Transactions run on the shared StunClient.
 */
import type { Random } from '../../lib/random.js';
import type { StunClient, StunRequestOptions, StunTransaction } from '../stun/stun-client.js';
import { StunAttr, attr, checkIntegrity, longTermKey, readErrorCode, readText, textAttr } from '../stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../stun/stun-message.js';

export interface TurnSessionOptions {
  server: StunAddress;
  username: string;
  password: string;
  /** The realm the server must name (default: any). */
  realm?: string;
  fingerprint: boolean;
  software?: string;
  maxAuthRounds: number;
  retransmission?: Pick<StunRequestOptions, 'rtoMs' | 'maxTransmissions' | 'lastWaitFactor'>;
  /** Set when requests go over a stream (TCP): each is sent once and fails after this long (RFC 8489 §6.2.2). */
  streamTimeoutMs?: number;
}

export type TurnExchange = { ok: true; response: DecodedStun } | { ok: false; reason: string; code?: number };

export interface TurnRequestOptions {
  /** Retransmission schedule of this request (overrides the session's). */
  schedule?: Pick<StunRequestOptions, 'maxTransmissions' | 'lastWaitFactor'>;
  /** Asked before each round: false ends the request ('stopped'). */
  proceed?(): boolean;
}

interface Cred {
  realm: string;
  nonce: string;
  key: Uint8Array;
}

export class TurnCredentialSession {
  private cred: Cred | undefined;
  private readonly inflight = new Set<StunTransaction>();

  constructor(
    private readonly stun: StunClient,
    private readonly random: Random,
    private readonly o: TurnSessionOptions,
  ) {}

  /** True once the server's REALM and NONCE are known (requests are then authenticated). */
  get authenticated(): boolean {
    return this.cred !== undefined;
  }

  /** Cancels every transaction in flight (their requests end with reason 'cancelled'). */
  cancelAll(): void {
    for (const tx of [...this.inflight]) tx.cancel();
  }

  /**
   * One request: `build` gets the transaction ID (an IPv6 XOR-PEER-ADDRESS needs it) and returns the
   * method's attributes; the credentials are added here.
   */
  async request(method: number, build: (tid: Uint8Array) => StunAttribute[], opts: TurnRequestOptions = {}): Promise<TurnExchange> {
    const o = this.o;
    for (let round = 0; round <= o.maxAuthRounds; round++) {
      if (opts.proceed !== undefined && !opts.proceed()) return { ok: false, reason: 'stopped' };
      const cred = this.cred;
      const transactionId = this.random.bytes(12);
      const attrs = build(transactionId);
      if (o.software !== undefined) attrs.push(textAttr(StunAttr.SOFTWARE, o.software));
      if (cred !== undefined) attrs.push(textAttr(StunAttr.USERNAME, o.username), textAttr(StunAttr.REALM, cred.realm), textAttr(StunAttr.NONCE, cred.nonce));
      const tx = this.stun.request(method, attrs, o.server, {
        ...o.retransmission,
        ...opts.schedule,
        ...(o.streamTimeoutMs === undefined ? {} : { rtoMs: o.streamTimeoutMs, maxTransmissions: 1, lastWaitFactor: 1 }),
        transactionId,
        fingerprint: o.fingerprint,
        ...(cred === undefined ? {} : { integrityKey: cred.key }),
        accept: (res) => acceptable(res, cred?.key),
      });
      this.inflight.add(tx);
      const out = await tx.outcome;
      this.inflight.delete(tx);
      if (out.kind !== 'response') return { ok: false, reason: out.kind === 'refused' ? out.reason : out.kind };
      const res = out.response;
      if (res.cls === 'success') return { ok: true, response: res };
      const err = readErrorCode(attr(res, StunAttr.ERROR_CODE)) ?? { code: 0, reason: 'error response without ERROR-CODE' };
      const realm = readText(attr(res, StunAttr.REALM)) ?? cred?.realm;
      const nonce = readText(attr(res, StunAttr.NONCE));
      const challenge = (err.code === 401 && cred === undefined) || err.code === 438;
      if (!challenge || nonce === undefined || realm === undefined) return { ok: false, code: err.code, reason: `${err.code} ${err.reason}` };
      if (o.realm !== undefined && realm !== o.realm) return { ok: false, code: err.code, reason: `realm "${realm}" is not "${o.realm}"` };
      this.cred = { realm, nonce, key: cred !== undefined && cred.realm === realm ? cred.key : longTermKey(o.username, realm, o.password) };
    }
    return { ok: false, reason: `no success after ${o.maxAuthRounds} authentication rounds` };
  }
}

/** A response to a request sent with `key` counts only with a valid MESSAGE-INTEGRITY, unless it is an error. */
function acceptable(res: DecodedStun, key: Uint8Array | undefined): boolean {
  if (key === undefined) return true;
  if (res.integrityAt !== undefined) return checkIntegrity(res, key);
  return res.cls === 'error';
}
