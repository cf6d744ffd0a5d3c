/**
 * Who may use the HTTP API, decided before any route runs (issue 14), as a pure check on the
 * request's method, target and headers (the clock is injected):
 * 1. Host must name this API — its bound address, localhost, 127.0.0.1 or [::1], with its port —
 *    else 421 (a DNS-rebinding page reaches us under its own name); missing → 400.
 * 2. An Origin other than the API's own → 403 (a web page elsewhere, whatever the route).
 * 3. Every method but GET and HEAD changes state and needs `Authorization: Bearer <token>` → 401;
 *    a browser's cross-site `Sec-Fetch-Site` on such a request → 403. A wrong token is 401 on
 *    any route.
 * 4. Routes that send overlay traffic take a token from a bucket (default 20/s, burst 40) unless
 *    the request carries the API token → 429 with Retry-After (seconds).
 */
import { timingSafeEqual } from 'node:crypto';
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

export class ApiGuard {
  private readonly hosts = new Set<string>();
  private readonly origins = new Set<string>();
  private readonly bucket: TokenBucket;

  constructor(
    deps: { clock: Clock },
    private readonly options: ApiGuardOptions,
  ) {
    if (options.token.length < 32) throw new RangeError('the API token must have at least 128 bits (32 hex digits)');
    this.bucket = new TokenBucket(deps.clock, options.overlayReads ?? DEFAULT_OVERLAY_READ_RATE);
  }

  /**
   * The address the API listens on (known once it is bound). `otherHosts`: more names of this
   * machine accepted in Host (its addresses, when it listens on a wildcard).
   */
  bind(host: string, port: number, otherHosts: readonly string[] = []): void {
    this.hosts.clear();
    this.origins.clear();
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
