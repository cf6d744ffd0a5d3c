/**
 * Issue 15, enrolled overlays: the enrollment server checks SIP digest answers against its user list
 * (`p2psip enroll-server --sip-digest`): POST /sip-digest with the phone's Authorization fields as
 * JSON, answered `{"ok":true}` or `{"ok":false,"reason":…}`. Only `name:password` lines of the users
 * file can be used (their HA1s are computed at start, realm = the overlay); `name:scrypt$…` lines have
 * no digest secret and answer `unknown-user`. Bounded: (user, nonce, cnonce, nc) single use (10,000
 * remembered, 15 min), failures per user (20 per minute, then `unavailable` without checking), the
 * body size (the server's limit).
 */
import type { DigestAlgorithm, DigestCredentials, VerifyOutcome } from '../sip/auth/credential-verifier.js';
import { computeDigestResponse, computeHa1 } from '../sip/auth/digest-math.js';
import { timingSafeEqual } from 'node:crypto';

export const SIP_DIGEST_PATH = '/sip-digest';

export interface DigestSecret {
  md5: string;
  sha256: string;
}

/** HA1s of the `name:password` lines of a users file (the others have no digest secret). */
export function digestSecretsFromUsers(text: string, realm: string, isHash: (secret: string) => boolean): Map<string, DigestSecret> {
  const out = new Map<string, DigestSecret>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const secret = line.slice(colon + 1);
    if (secret === '' || isHash(secret)) continue;
    out.set(name, { md5: computeHa1('MD5', name, realm, secret), sha256: computeHa1('SHA-256', name, realm, secret) });
  }
  return out;
}

const FIELD = /^[^\0\r\n]{1,512}$/;

/** The JSON a peer sends: DigestCredentials, validated; undefined when malformed. */
export function parseDigestCredentials(body: Uint8Array): DigestCredentials | undefined {
  if (body.length > 4096) return undefined;
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as Record<string, unknown>;
  const s = (k: string): string | undefined => (typeof o[k] === 'string' && FIELD.test(o[k] as string) ? (o[k] as string) : undefined);
  const algorithm: DigestAlgorithm | undefined = o['algorithm'] === 'MD5' || o['algorithm'] === 'SHA-256' ? o['algorithm'] : undefined;
  const [username, realm, nonce, uri, response, method] = [s('username'), s('realm'), s('nonce'), s('uri'), s('response'), s('method')];
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined || method === undefined || algorithm === undefined) return undefined;
  const c: { -readonly [K in keyof DigestCredentials]: DigestCredentials[K] } = { username, realm, nonce, uri, response, method, algorithm };
  if (o['qop'] !== undefined) {
    const nc = s('nc');
    const cnonce = s('cnonce');
    if (o['qop'] !== 'auth' || nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined) return undefined;
    Object.assign(c, { qop: 'auth', nc, cnonce });
  }
  return c;
}

export interface EnrollmentDigestOptions {
  realm: string;
  maxReplayEntries?: number;
  replayWindowMs?: number;
  /** Failures per user per minute before answers are refused unchecked (default 20). */
  maxFailuresPerMinute?: number;
  /** Users whose failures are counted (default 4,096; the oldest forgotten). */
  maxTrackedUsers?: number;
}

/** The server side: one user list, its HA1s, and the bounded tables. Time is passed in. */
export class EnrollmentDigestTable {
  private readonly seen = new Map<string, number>();
  private readonly failures = new Map<string, { windowStart: number; count: number }>();
  private readonly o: Required<EnrollmentDigestOptions>;

  constructor(
    private readonly secrets: ReadonlyMap<string, DigestSecret>,
    options: EnrollmentDigestOptions,
  ) {
    this.o = { maxReplayEntries: 10_000, replayWindowMs: 15 * 60_000, maxFailuresPerMinute: 20, maxTrackedUsers: 4096, ...options, realm: options.realm.toLowerCase() };
  }

  get users(): number {
    return this.secrets.size;
  }

  verify(c: DigestCredentials, now: number): VerifyOutcome {
    const user = c.username.includes('@') && c.username.toLowerCase().endsWith(`@${this.o.realm}`) ? c.username.slice(0, c.username.lastIndexOf('@')) : c.username;
    if (c.realm.toLowerCase() !== this.o.realm) return { ok: false, reason: 'bad-response', detail: `realm ${c.realm} is not ${this.o.realm}` };
    const f = this.failures.get(user);
    if (f !== undefined && now - f.windowStart < 60_000 && f.count >= this.o.maxFailuresPerMinute) return { ok: false, reason: 'unavailable', detail: 'too many failures for this user; try later' };
    const secret = this.secrets.get(user);
    if (secret === undefined) return this.fail(user, now, 'unknown-user', 'no such user with a digest secret (name:password line)');
    for (const [k, at] of this.seen) {
      if (now - at < this.o.replayWindowMs) break;
      this.seen.delete(k);
    }
    const key = `${user} ${c.nonce} ${c.cnonce ?? ''} ${c.nc ?? ''}`;
    if (this.seen.has(key)) return { ok: false, reason: 'replay' };
    const want = computeDigestResponse(c.algorithm === 'MD5' ? secret.md5 : secret.sha256, c);
    const a = Buffer.from(want);
    const b = Buffer.from(c.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return this.fail(user, now, 'bad-response', 'wrong password');
    if (this.seen.size >= this.o.maxReplayEntries) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, now);
    return { ok: true };
  }

  private fail(user: string, now: number, reason: 'unknown-user' | 'bad-response', detail: string): VerifyOutcome {
    let f = this.failures.get(user);
    if (f === undefined || now - f.windowStart >= 60_000) {
      if (f === undefined && this.failures.size >= this.o.maxTrackedUsers) this.failures.delete(this.failures.keys().next().value as string);
      f = { windowStart: now, count: 0 };
      this.failures.set(user, f);
    }
    f.count++;
    return { ok: false, reason, detail };
  }
}
