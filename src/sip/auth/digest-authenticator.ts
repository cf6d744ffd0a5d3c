/**
 * The SIP front's digest authentication (RFC 3261 §22, RFC 2617, RFC 8760). Sans-I/O: a Clock and a
 * Random are injected, and a CredentialVerifier says whether an answer was made with the user's
 * password — the front holds no password and no HA1.
 *
 * Who is challenged:
 * - REGISTER for a domain we serve: always (401, WWW-Authenticate / Authorization);
 * - other out-of-dialog requests from one of our phones — From names one of our domains (like
 *   Kamailio's `from_uri==myself`) and the request did not come from another p2psip peer (`fromPeer`)
 *   — with 407 (Proxy-Authenticate / Proxy-Authorization). OPTIONS for the peer itself (no user part:
 *   keep-alives, health checks) is not.
 * - never: ACK and CANCEL (§22.1: they cannot be resubmitted), in-dialog requests (a To tag: the
 *   dialog was set up by an authenticated request), requests from other domains (inbound calls).
 *
 * An answer is checked here as far as it can be without the password: syntax (400 naming the
 * problem), realm (another realm's credentials are not ours: challenged, and forwarded untouched),
 * algorithm (SHA-256 or MD5; others are challenged again), qop (auth; auth-int is not offered and is
 * challenged again; no qop only for MD5, RFC 2069 style, one use per nonce), the nonce (ours, by its
 * MAC; expired: challenged again with stale=true), the nonce count (a repeat: challenged again), and the
 * user (the Authorization user must be the REGISTER's To user, the Proxy-Authorization user the From
 * user: else 403). Only then is the verifier asked: bad password or unknown user → 403 (one text for
 * both), replay → challenged again, unavailable (or no answer within verifyTimeoutMs) → 503 with
 * Retry-After. A stale nonce is challenged again without asking the verifier (stale=true says only that
 * the nonce expired; the phone answers the new challenge with its password, which is then checked).
 *
 * Bounds: failures per source (FailureThrottle: past the limit, 403 without asking the verifier — the
 * front must not turn guessed passwords into overlay work), nonce counts (NonceCounts), verifications
 * in flight (past the limit, 503), the length of a credentials value.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { isSipUri } from '../message/index.js';
import type { SipRequest, Uri } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import type { CredentialVerifier, DigestAlgorithm, DigestCredentials, VerifyOutcome } from './credential-verifier.js';
import { formatChallenge, parseCredentials } from './digest-header.js';
import { DIGEST_HEX_LENGTH } from './digest-math.js';
import { DigestNonces } from './digest-nonces.js';
import { FailureThrottle } from './failure-throttle.js';
import { NonceCounts } from './nonce-counts.js';
import type { AuthVerdict, RequestAuthenticator } from './request-authenticator.js';
import { headerUri, inDialog, stripOurs, userOf } from './request-fields.js';

export interface DigestAuthOptions {
  /** The realm of our challenges: the overlay's SIP domain. Required. */
  realm: string;
  /** How long a nonce is accepted, s (default 300); then it is stale. */
  nonceLifetimeS: number;
  /**
   * Algorithms offered, one challenge each, in order of preference (RFC 8760 §2.4; default MD5 only).
   * ['SHA-256', 'MD5'] is what RFC 8760 recommends, but phones of today's distributions break on it:
   * baresip 1.0.0 (libre) fails to register when any challenge is SHA-256 ("Function not implemented"),
   * SIPp 3.6.1 when the first one is; linphonec 5.1 answers SHA-256. So SHA-256 is opt-in.
   */
  algorithms: readonly DigestAlgorithm[];
  /** Accept MD5 answers without qop (RFC 2069 style; default true). Each nonce then serves once. */
  allowNoQop: boolean;
  /** Nonces whose highest nonce count is remembered (default 10,000). */
  maxNonceCounts: number;
  /** Failed answers (wrong password, unknown user, user mismatch) per source and window before 403s without asking (default 20). */
  maxFailuresPerSource: number;
  /** That window, s (default 60). */
  failureWindowS: number;
  /** Sources tracked for failures (default 4,096). */
  maxTrackedSources: number;
  /** Longest wait for the verifier, ms (default 10,000); then 503. */
  verifyTimeoutMs: number;
  /** Verifications in flight at once (default 256); beyond, 503. */
  maxPendingVerifications: number;
  /** Retry-After of a 503 (verifier unavailable, too many verifications), s (default 5). */
  unavailableRetryAfterS: number;
  /** Longest credentials value (one Authorization / Proxy-Authorization field), characters (default 4,096); longer: 400. */
  maxCredentialsLength: number;
}

export const DEFAULT_DIGEST_AUTH_OPTIONS: Readonly<Omit<DigestAuthOptions, 'realm'>> = Object.freeze({
  nonceLifetimeS: 300,
  algorithms: Object.freeze(['MD5'] as DigestAlgorithm[]),
  allowNoQop: true,
  maxNonceCounts: 10_000,
  maxFailuresPerSource: 20,
  failureWindowS: 60,
  maxTrackedSources: 4_096,
  verifyTimeoutMs: 10_000,
  maxPendingVerifications: 256,
  unavailableRetryAfterS: 5,
  maxCredentialsLength: 4_096,
});

export interface DigestAuthDeps {
  clock: Clock;
  random: Random;
  verifier: CredentialVerifier;
  /** Which URIs name our domains (LocalIdentity). */
  domains: { isLocalDomainUri(uri: Uri): boolean };
  /**
   * True for a request another p2psip peer forwarded to us (RFC 7904 target `;p2psip=peer`, over an
   * authenticated SIP channel): its caller was authenticated by the peer it registered with.
   */
  fromPeer?: (request: SipRequest, source: TransportAddress) => boolean;
  /**
   * Nonces every peer of the overlay accepts (a phone that resolves its domain per request may answer
   * another peer than the one that challenged it): the overlay's nonce key and a wall clock (nonce
   * times must compare between peers). Absent: nonces of this process only, on `clock`.
   */
  nonceKey?: { readonly key: Uint8Array; readonly wallClock: () => number };
}

export interface DigestAuthStats {
  /** 401/407 sent, every cause (no credentials, stale, replay, foreign nonce, unsupported algorithm/qop). */
  challenges: number;
  /** Of those, with stale=true (expired or forgotten nonce). */
  stale: number;
  /** Of those, for a repeated nonce count (seen here or by the verifier). */
  replays: number;
  /** Of those, for a nonce that is not ours (forged, altered, another peer's or an earlier run's). */
  foreignNonces: number;
  /** Of those, for an answer with an algorithm or qop we do not offer. */
  unsupported: number;
  successes: number;
  failures: {
    /** Wrong password. */
    badResponse: number;
    unknownUser: number;
    /** Credentials of another user than the request's (403). */
    userMismatch: number;
    /** 400: unreadable credentials. */
    malformed: number;
    /** 503: the verifier could not answer, timed out, or too many verifications in flight. */
    unavailable: number;
  };
  /** 403s without asking the verifier: the source had too many failures. */
  throttled: number;
  /** Verifications in flight now. */
  pending: number;
  /** Nonces in the nonce-count table now, and how many were forgotten to stay within its bound. */
  nonceCounts: number;
  nonceEvictions: number;
  /** Sources with a failure window now. */
  trackedSources: number;
}

type Role = { readonly registrar: boolean; readonly user: string | undefined };

const HEX = /^[0-9a-fA-F]+$/;
const NC = /^[0-9a-fA-F]{8}$/;

export class DigestAuthenticator implements RequestAuthenticator {
  readonly options: DigestAuthOptions;
  private readonly nonces: DigestNonces;
  private readonly counts: NonceCounts;
  private readonly throttle: FailureThrottle;
  private pending = 0;
  private readonly counters = {
    challenges: 0,
    stale: 0,
    replays: 0,
    foreignNonces: 0,
    unsupported: 0,
    successes: 0,
    throttled: 0,
    failures: { badResponse: 0, unknownUser: 0, userMismatch: 0, malformed: 0, unavailable: 0 },
  };

  constructor(
    private readonly deps: DigestAuthDeps,
    options: Partial<DigestAuthOptions> & { realm: string },
  ) {
    this.options = { ...DEFAULT_DIGEST_AUTH_OPTIONS, ...options };
    const o = this.options;
    if (o.realm === '' || /["\\\r\n]/.test(o.realm)) throw new RangeError('digest auth: the realm must be a non-empty domain name');
    if (o.algorithms.length === 0 || o.algorithms.some((a) => a !== 'MD5' && a !== 'SHA-256')) throw new RangeError('digest auth: algorithms must be SHA-256 and/or MD5');
    for (const [name, v] of [
      ['verifyTimeoutMs', o.verifyTimeoutMs],
      ['unavailableRetryAfterS', o.unavailableRetryAfterS],
      ['maxCredentialsLength', o.maxCredentialsLength],
      ['maxPendingVerifications', o.maxPendingVerifications],
    ] as const) {
      if (!(Number.isFinite(v) && v >= 1)) throw new RangeError(`digest auth: ${name} must be >= 1`);
    }
    this.nonces = new DigestNonces(deps.nonceKey === undefined ? deps.clock : { now: deps.nonceKey.wallClock }, deps.random, o.nonceLifetimeS * 1000, deps.nonceKey?.key);
    this.counts = new NonceCounts(o.maxNonceCounts, o.nonceLifetimeS * 1000);
    this.throttle = new FailureThrottle({ maxFailures: o.maxFailuresPerSource, windowMs: o.failureWindowS * 1000, maxSources: o.maxTrackedSources });
  }

  stats(): DigestAuthStats {
    const c = this.counters;
    return {
      ...c,
      failures: { ...c.failures },
      pending: this.pending,
      nonceCounts: this.counts.size,
      nonceEvictions: this.counts.evictions,
      trackedSources: this.throttle.size,
    };
  }

  answersAtOnce(request: SipRequest): boolean {
    return !request.headers.has('authorization') && !request.headers.has('proxy-authorization');
  }

  authenticate(request: SipRequest, source: TransportAddress): AuthVerdict | Promise<AuthVerdict> {
    const role = this.role(request, source);
    if (role === undefined) return this.pass(request);
    const header = role.registrar ? 'authorization' : 'proxy-authorization';
    let params: ReadonlyMap<string, string> | undefined;
    for (const value of request.headers.getAll(header)) {
      const p = parseCredentials(value, this.options.maxCredentialsLength);
      if (!p.ok) return this.malformed(p.problem);
      // §22.3: credentials of other realms (or schemes) are not ours
      if (p.scheme.toLowerCase() === 'digest' && p.params.get('realm') === this.options.realm) {
        params = p.params;
        break;
      }
    }
    if (params === undefined) return this.challenge(role, false);
    return this.check(request, source, role, params);
  }

  private check(request: SipRequest, source: TransportAddress, role: Role, p: ReadonlyMap<string, string>): AuthVerdict | Promise<AuthVerdict> {
    for (const name of ['username', 'nonce', 'uri', 'response'] as const) {
      if (p.get(name) === undefined) return this.malformed(`no ${name}`);
    }
    const username = p.get('username')!;
    const nonce = p.get('nonce')!;
    const uri = p.get('uri')!;
    const response = p.get('response')!;
    const algText = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const algorithm = algText === 'MD5' ? 'MD5' : algText === 'SHA-256' ? 'SHA-256' : undefined;
    if (algorithm === undefined || !this.options.algorithms.includes(algorithm)) {
      this.counters.unsupported++;
      return this.challenge(role, false);
    }
    const qopText = p.get('qop');
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    let count: number;
    if (qopText === undefined) {
      if (algorithm !== 'MD5' || !this.options.allowNoQop) {
        this.counters.unsupported++;
        return this.challenge(role, false);
      }
      if (nc !== undefined || cnonce !== undefined) return this.malformed('nc or cnonce without qop');
      count = 1;
    } else {
      const qop = qopText.toLowerCase();
      if (qop === 'auth-int') {
        this.counters.unsupported++;
        return this.challenge(role, false);
      }
      if (qop !== 'auth') return this.malformed('qop must be auth');
      if (nc === undefined || !NC.test(nc)) return this.malformed('nc must be 8 hex digits');
      if (cnonce === undefined || cnonce === '') return this.malformed('no cnonce');
      count = parseInt(nc, 16);
    }
    if (response.length !== DIGEST_HEX_LENGTH[algorithm] || !HEX.test(response)) {
      return this.malformed(`response must be ${DIGEST_HEX_LENGTH[algorithm]} hex digits for ${algorithm}`);
    }
    const now = this.deps.clock.now();
    if (this.throttle.blocked(source.host, now)) {
      this.counters.throttled++;
      return reply(403, 'Forbidden - Too many failed authentication attempts, try later');
    }
    if (role.user === undefined || username !== role.user) {
      this.counters.failures.userMismatch++;
      this.throttle.fail(source.host, now);
      return reply(403, role.registrar ? 'Forbidden - Credentials are not for the To user' : 'Forbidden - Credentials are not for the From user');
    }
    const n = this.nonces.check(nonce);
    if (n.verdict === 'invalid') {
      this.counters.foreignNonces++;
      return this.challenge(role, false);
    }
    if (n.verdict === 'stale') return this.challenge(role, true);
    const use = this.counts.use(nonce, count, n.issuedAt, this.nonces.now());
    if (use === 'replay') {
      this.counters.replays++;
      return this.challenge(role, false);
    }
    if (use === 'forgotten') return this.challenge(role, true);
    if (this.pending >= this.options.maxPendingVerifications) {
      this.counters.failures.unavailable++;
      return this.unavailable('Service Unavailable - Too many authentications in progress');
    }
    const credentials: DigestCredentials = {
      username,
      realm: this.options.realm,
      nonce,
      uri,
      response: response.toLowerCase(),
      algorithm,
      method: request.method,
      ...(qopText === undefined ? {} : { qop: 'auth' as const, nc: nc!, cnonce: cnonce! }),
      ...(p.get('opaque') === undefined ? {} : { opaque: p.get('opaque')! }),
    };
    return this.ask(credentials).then((outcome) => this.conclude(outcome, request, source, role, username));
  }

  private conclude(outcome: VerifyOutcome, request: SipRequest, source: TransportAddress, role: Role, user: string): AuthVerdict {
    if (outcome.ok) {
      this.counters.successes++;
      return { kind: 'pass', request: stripOurs(request, this.options.realm, this.options.maxCredentialsLength), user };
    }
    switch (outcome.reason) {
      case 'replay':
        this.counters.replays++;
        return this.challenge(role, false);
      case 'unavailable':
        this.counters.failures.unavailable++;
        return this.unavailable('Service Unavailable - Credentials cannot be checked now');
      case 'unknown-user':
      case 'bad-response':
        if (outcome.reason === 'unknown-user') this.counters.failures.unknownUser++;
        else this.counters.failures.badResponse++;
        this.throttle.fail(source.host, this.deps.clock.now());
        // one text for both: which users exist is not told
        return reply(403, 'Forbidden - Wrong user name or password');
    }
  }

  /** The verifier's answer, bounded in time; a throw or rejection is 'unavailable'. */
  private async ask(credentials: DigestCredentials): Promise<VerifyOutcome> {
    this.pending++;
    let timer: TimerHandle | undefined;
    try {
      const timeout = new Promise<VerifyOutcome>((resolve) => {
        timer = this.deps.clock.setTimer(this.options.verifyTimeoutMs, () => resolve({ ok: false, reason: 'unavailable', detail: 'verifier timed out' }));
      });
      const answer = Promise.resolve()
        .then(() => this.deps.verifier.verify(credentials))
        .catch((err: unknown): VerifyOutcome => ({ ok: false, reason: 'unavailable', detail: err instanceof Error ? err.message : String(err) }));
      return await Promise.race([answer, timeout]);
    } finally {
      timer?.cancel();
      this.pending--;
    }
  }

  /** Who must authenticate for this request, or undefined: it goes on without. */
  private role(request: SipRequest, source: TransportAddress): Role | undefined {
    const m = request.method;
    if (m === 'ACK' || m === 'CANCEL') return undefined;
    if (inDialog(request)) return undefined;
    if (m === 'REGISTER' && this.deps.domains.isLocalDomainUri(request.uri)) {
      return { registrar: true, user: userOf(headerUri(request, 'to')) };
    }
    const from = headerUri(request, 'from');
    if (from === undefined || !this.deps.domains.isLocalDomainUri(from)) return undefined;
    // keep-alives and health checks for the peer itself
    if (m === 'OPTIONS' && isSipUri(request.uri) && (request.uri.user ?? '') === '' && this.deps.domains.isLocalDomainUri(request.uri)) return undefined;
    if (this.deps.fromPeer?.(request, source) === true) return undefined;
    return { registrar: false, user: userOf(from) };
  }

  private challenge(role: Role, stale: boolean): AuthVerdict {
    this.counters.challenges++;
    if (stale) this.counters.stale++;
    const nonce = this.nonces.issue();
    const name = role.registrar ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const headers = this.options.algorithms.map((algorithm): [string, string] => [name, formatChallenge({ realm: this.options.realm, nonce, algorithm, stale })]);
    return role.registrar ? { kind: 'reply', status: 401, reason: 'Unauthorized', headers } : { kind: 'reply', status: 407, reason: 'Proxy Authentication Required', headers };
  }

  private malformed(problem: string): AuthVerdict {
    this.counters.failures.malformed++;
    return reply(400, `Bad Request - Malformed credentials: ${problem}`);
  }

  private unavailable(reason: string): AuthVerdict {
    return { kind: 'reply', status: 503, reason, headers: [['Retry-After', String(this.options.unavailableRetryAfterS)]] };
  }

  private pass(request: SipRequest): AuthVerdict {
    return { kind: 'pass', request: this.answersAtOnce(request) ? request : stripOurs(request, this.options.realm, this.options.maxCredentialsLength) };
  }
}

function reply(status: number, reason: string): AuthVerdict {
  return { kind: 'reply', status, reason, headers: [] };
}
