/**
 * Who may use the HTTP API, decided before any route runs (issue 14), as a pure check on the
 * request's method, target and headers (the clock is injected):
 * 1. Host must name this API — its bound address, localhost, 127.0.0.1 or [::1], with its port —
 *    else 421 (a DNS-rebinding page reaches us under its own name); missing → 400.
 * 2. An Origin other than the API's own → 403 (a web page elsewhere, whatever the route).
 * 3. Every method but GET and HEAD changes state and needs `Authorization: Bearer <token>` → 401;
 *    a browser's cross-site `Sec-Fetch-Site` on such a request → 403. A wrong token is 401 on
 *    any route.
 * 4. Bound to anything but loopback (issue 17), GET and HEAD need credentials too: the token, or the
 *    session cookie a browser gets from `POST /api/login` with the token (HttpOnly, SameSite=Strict;
 *    good for reads only, {@link SESSION_LIFETIME_MS}). Without them a page is redirected (303) to
 *    the login page, anything else gets 401; the login page and its assets stay open.
 * 4b. Personal data (issue 16: a user's voicemail, PRIVATE_READ_PREFIXES) needs credentials for GET and
 *    HEAD too, even on loopback: any local process may read the dashboard, not someone's messages.
 * 5. Routes that send overlay traffic take a token from a bucket (default 20/s, burst 40) unless
 *    the request carries the API token → 429 with Retry-After (seconds).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { DEFAULT_OVERLAY_READ_RATE, TokenBucket, type TokenBucketOptions } from './api-rate-limit.js';
import type { ApiReply } from './status-api.js';

export type ApiHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface ApiGuardOptions {
  /** The API token (state-changing requests carry it). */
  token: string;
  /** Paths whose requests send overlay traffic (rate-limited). */
  overlayRoutes: ReadonlySet<string>;
  /** Rate of those requests without the token; default {@link DEFAULT_OVERLAY_READ_RATE}. */
  overlayReads?: TokenBucketOptions;
  /** Paths any GET/HEAD may read even off loopback (the login page and its assets); default {@link PUBLIC_PATHS}. */
  publicPaths?: ReadonlySet<string>;
  /** Lifetime of a session cookie; default {@link SESSION_LIFETIME_MS}. */
  sessionLifetimeMs?: number;
}

/** Paths whose reads need the token even on loopback (users' personal data). */
export const PRIVATE_READ_PREFIXES: readonly string[] = ['/api/voicemail'];

/** The browser's session cookie (issued by `POST /api/login`, checked here). */
export const SESSION_COOKIE = 'p2psip_session';
/** A session is good for 12 hours (then the login page asks for the token again). */
export const SESSION_LIFETIME_MS = 12 * 3600_000;
/** Where a browser without credentials is sent when the API listens beyond loopback. */
export const LOGIN_PATH = '/login';
/** Open to every GET even beyond loopback: the login page and what it loads. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([LOGIN_PATH, '/dashboard/login.js', '/dashboard/style.css']);

/** True for an address only this machine reaches: 127.0.0.0/8, ::1, ::ffff:127.x, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Names every API accepts in Host besides its bound address. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

const refuse = (status: number, error: string, headers?: Record<string, string>): ApiReply => ({
  status,
  body: JSON.stringify({ error }),
  contentType: 'application/json',
  ...(headers === undefined ? {} : { headers }),
});

/** `host` as it appears in a Host header: IPv6 in brackets, lower-case. */
export function hostHeaderName(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

function header(headers: ApiHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Equal strings, in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of cookie `name` in a Cookie header, if there. */
function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class ApiGuard {
  private readonly hosts = new Set<string>();
  private readonly origins = new Set<string>();
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  /** Bound to loopback only: reads need no credentials. */
  private loopbackOnly = true;
  private readonly sessionKey: Buffer;

  constructor(
    deps: { clock: Clock },
    private readonly options: ApiGuardOptions,
  ) {
    if (options.token.length < 32) throw new RangeError('the API token must have at least 128 bits (32 hex digits)');
    this.clock = deps.clock;
    this.bucket = new TokenBucket(deps.clock, options.overlayReads ?? DEFAULT_OVERLAY_READ_RATE);
    // sessions are signed with a key derived from the token: a new token ends every session
    this.sessionKey = createHmac('sha256', options.token).update('p2psip dashboard session key').digest();
  }

  /** Whether reads need credentials (the API listens beyond loopback). */
  get readsNeedCredentials(): boolean {
    return !this.loopbackOnly;
  }

  /**
   * A Set-Cookie value opening a read session for a browser that proved it has the token (the
   * caller answers `POST /api/login` with it, after this guard let the request through).
   */
  issueSession(): string {
    const issued = Math.floor(this.clock.now()).toString(36);
    const lifetimeMs = this.options.sessionLifetimeMs ?? SESSION_LIFETIME_MS;
    return `${SESSION_COOKIE}=${issued}.${this.mac(issued)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(lifetimeMs / 1000)}`;
  }

  private mac(issued: string): string {
    return createHmac('sha256', this.sessionKey).update(issued).digest('base64url');
  }

  /** A session cookie this guard issued, not expired. */
  private validSession(cookieHeader: string | undefined): boolean {
    const v = cookieValue(cookieHeader, SESSION_COOKIE);
    if (v === undefined || v.length > 100) return false;
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(v);
    if (m === null || !sameSecret(m[2]!, this.mac(m[1]!))) return false;
    const age = this.clock.now() - parseInt(m[1]!, 36);
    return age >= -1000 && age < (this.options.sessionLifetimeMs ?? SESSION_LIFETIME_MS);
  }

  /**
   * The address the API listens on (known once it is bound). `otherHosts`: more names of this
   * machine accepted in Host (its addresses, when it listens on a wildcard).
   */
  bind(host: string, port: number, otherHosts: readonly string[] = []): void {
    this.hosts.clear();
    this.origins.clear();
    this.loopbackOnly = isLoopbackHost(host);
    const names = [...LOOPBACK_HOST_NAMES, ...otherHosts.map(hostHeaderName)];
    if (!WILDCARDS.has(host)) names.push(hostHeaderName(host));
    for (const n of names) {
      this.hosts.add(`${n}:${port}`);
      this.origins.add(`http://${n}:${port}`);
      if (port === 80) {
        this.hosts.add(n);
        this.origins.add(`http://${n}`);
      }
    }
  }

  /** The refusal for this request, or undefined when it may go to its route. */
  check(method: string, url: URL, headers: ApiHeaders): ApiReply | undefined {
    if (this.hosts.size === 0) return refuse(503, 'the API is not listening yet');
    const host = header(headers, 'host');
    if (host === undefined || host === '') return refuse(400, 'a Host header is required');
    if (!this.hosts.has(host.toLowerCase())) return refuse(421, 'the Host header does not name this API (use its address, localhost or 127.0.0.1, with its port)');
    const origin = header(headers, 'origin');
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) return refuse(403, 'requests from another origin are refused');
    const authorization = header(headers, 'authorization');
    let authenticated = false;
    if (authorization !== undefined) {
      const m = /^bearer +(\S+) *$/i.exec(authorization);
      if (m === null || !sameSecret(m[1]!, this.options.token)) {
        return refuse(401, 'wrong API token', { 'www-authenticate': 'Bearer realm="p2psip", error="invalid_token"' });
      }
      authenticated = true;
    }
    const changesState = method !== 'GET' && method !== 'HEAD';
    if (changesState) {
      const site = header(headers, 'sec-fetch-site');
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return refuse(403, 'cross-site requests are refused');
      if (!authenticated) {
        return refuse(401, `${method} needs the API token: Authorization: Bearer <token> (the file api-token in the peer's data directory)`, {
          'www-authenticate': 'Bearer realm="p2psip"',
        });
      }
    }
    if (!authenticated && PRIVATE_READ_PREFIXES.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`)) && !this.validSession(header(headers, 'cookie'))) {
      return refuse(401, `${url.pathname.split('/').slice(0, 3).join('/')} holds users' messages: reads need the API token too (Authorization: Bearer <token>)`, {
        'www-authenticate': 'Bearer realm="p2psip"',
      });
    }
    if (!authenticated && !this.loopbackOnly) {
      // issue 17: beyond loopback every read needs credentials too (changesState was settled above)
      const publicPath = (this.options.publicPaths ?? PUBLIC_PATHS).has(url.pathname);
      if (!publicPath && !this.validSession(header(headers, 'cookie'))) {
        const page = !url.pathname.startsWith('/api/') && url.pathname !== '/metrics' && /text\/html/i.test(header(headers, 'accept') ?? '');
        if (page) return { status: 303, body: '', contentType: 'text/plain; charset=utf-8', headers: { location: LOGIN_PATH } };
        return refuse(401, `this API listens beyond loopback: reads need the API token too (Authorization: Bearer <token>) or a session from ${LOGIN_PATH}`, {
          'www-authenticate': 'Bearer realm="p2psip"',
        });
      }
    }
    if (!authenticated && this.options.overlayRoutes.has(url.pathname)) {
      const t = this.bucket.take();
      if (!t.ok) {
        const sec = Math.max(1, Math.ceil(t.retryAfterMs / 1000));
        return refuse(429, 'too many requests that send overlay traffic; try again later', { 'retry-after': String(sec) });
      }
    }
    return undefined;
  }
}
