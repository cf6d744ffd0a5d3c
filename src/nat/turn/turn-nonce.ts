/**
 * Stateless NONCEs for the long-term credential mechanism (RFC 8489 §9.2): a nonce carries its own
 * expiry and an HMAC over (expiry, client IP) under a per-server secret, so a server keeps no state
 * for a client before it has authenticated — a flood of unauthenticated requests costs one HMAC each
 * and nothing more. A nonce is good for `lifetimeMs` from its issue, only for the client IP it was
 * issued to, and only for this server instance (a new secret at each start).
 *
 * Text: 12 hex digits of expiry (ms on the injected clock) + 24 hex digits of MAC — 36 characters,
 * all qdtext (RFC 8489 §14.10), and without the "obMatJos2" security-feature prefix (§9.2: only
 * MD5 long-term keys, no PASSWORD-ALGORITHMS).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { canonicalIp } from '../../lib/ip.js';
import type { Random } from '../../lib/random.js';

export type NonceVerdict = 'valid' | 'stale' | 'invalid';

const MAC_HEX = 24;
const EXPIRY_HEX = 12;

export class TurnNonces {
  private readonly secret: Uint8Array;

  constructor(
    private readonly clock: Clock,
    random: Random,
    /** How long a nonce is accepted after its issue, ms. */
    readonly lifetimeMs: number,
  ) {
    if (!(lifetimeMs > 0)) throw new RangeError('TURN nonce lifetime must be positive');
    this.secret = random.bytes(32);
  }

  /** A fresh nonce for a client at `clientIp`. */
  issue(clientIp: string): string {
    const expiry = Math.max(0, Math.floor(this.clock.now() + this.lifetimeMs));
    const e = expiry.toString(16).padStart(EXPIRY_HEX, '0').slice(-EXPIRY_HEX);
    return e + this.mac(e, clientIp);
  }

  /** 'valid', 'stale' (ours but expired) or 'invalid' (not ours, another client's, or malformed). */
  check(nonce: string, clientIp: string): NonceVerdict {
    if (nonce.length !== EXPIRY_HEX + MAC_HEX || !/^[0-9a-f]+$/.test(nonce)) return 'invalid';
    const e = nonce.slice(0, EXPIRY_HEX);
    const want = Buffer.from(this.mac(e, clientIp), 'latin1');
    const got = Buffer.from(nonce.slice(EXPIRY_HEX), 'latin1');
    if (!timingSafeEqual(want, got)) return 'invalid';
    return parseInt(e, 16) > this.clock.now() ? 'valid' : 'stale';
  }

  private mac(expiryHex: string, clientIp: string): string {
    const ip = canonicalIp(clientIp) ?? clientIp;
    return createHmac('sha256', this.secret).update(`${expiryHex}|${ip}`).digest('hex').slice(0, MAC_HEX);
  }
}
