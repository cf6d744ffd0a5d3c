/**
 * Stateless digest nonces (RFC 2617 §3.2.1: the server chooses the nonce's form; RFC 7616 §5.4 advises
 * a time stamp and a MAC). A nonce is base64url(issue time ‖ random ‖ HMAC-SHA-256(secret, time ‖ random)),
 * under a secret drawn from the injected Random at start: nothing is kept for a nonce until it is used,
 * so challenges cost one HMAC each; a nonce from another process (another peer, or this one before a
 * restart) or altered in any bit is not ours. Layout, 27 bytes = 36 characters: 6 bytes of issue time
 * (ms on the injected clock, big-endian), 9 random bytes, the first 12 bytes of the MAC.
 *
 * Shared nonces (issue 15): a phone that knows only its domain resolves it again for each request and
 * may send its answer to another peer than the one that challenged it. Given a `sharedKey` (the same
 * on every peer of an overlay) and a wall clock, every peer accepts every peer's nonces. A member could
 * make nonces then; that buys nothing: an answer is bound to its nonce, the nonce's age is checked,
 * and the user's storing peers take each (nonce, cnonce, nc) once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';

const TIME_BYTES = 6;
const RANDOM_BYTES = 9;
const MAC_BYTES = 12;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** Characters of a nonce (base64url of 27 bytes, no padding). */
export const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** How far ahead of ours another peer's clock may be for its nonce (shared nonces), ms. */
export const MAX_CLOCK_AHEAD_MS = 30_000;

export type NonceCheck =
  | { readonly verdict: 'valid'; readonly issuedAt: number }
  /** Ours, but older than the lifetime: challenged again with stale=true. */
  | { readonly verdict: 'stale'; readonly issuedAt: number }
  /** Not made by this process, altered, or malformed. */
  | { readonly verdict: 'invalid' };

export class DigestNonces {
  private readonly secret: Uint8Array;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly random: Random,
    /** How long a nonce is accepted after its issue, ms. */
    readonly lifetimeMs: number,
    /** The overlay's nonce key (at least 16 bytes; then `clock` must be a wall clock): nonces valid at every peer. */
    sharedKey?: Uint8Array,
  ) {
    if (!(lifetimeMs > 0)) throw new RangeError('digest nonce lifetime must be positive');
    if (sharedKey !== undefined && sharedKey.length < 16) throw new RangeError('a shared nonce key needs at least 16 bytes');
    this.secret = sharedKey ?? random.bytes(32);
  }

  /** Now on the nonces' clock (issue times are on it). */
  now(): number {
    return this.clock.now();
  }

  issue(): string {
    const raw = Buffer.alloc(NONCE_BYTES);
    raw.writeUIntBE(Math.max(0, Math.floor(this.clock.now())) % 2 ** 48, 0, TIME_BYTES);
    raw.set(this.random.bytes(RANDOM_BYTES), TIME_BYTES);
    this.mac(raw.subarray(0, TIME_BYTES + RANDOM_BYTES)).copy(raw, TIME_BYTES + RANDOM_BYTES);
    return raw.toString('base64url');
  }

  check(nonce: string): NonceCheck {
    if (nonce.length !== NONCE_CHARS || !BASE64URL.test(nonce)) return { verdict: 'invalid' };
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES) return { verdict: 'invalid' };
    const body = raw.subarray(0, TIME_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(this.mac(body), raw.subarray(TIME_BYTES + RANDOM_BYTES))) return { verdict: 'invalid' };
    const issuedAt = raw.readUIntBE(0, TIME_BYTES);
    const age = this.clock.now() - issuedAt;
    // a peer whose wall clock is a little ahead of ours (shared nonces) is not a forger
    if (age < -MAX_CLOCK_AHEAD_MS) return { verdict: 'invalid' };
    return age >= this.lifetimeMs ? { verdict: 'stale', issuedAt } : { verdict: 'valid', issuedAt };
  }

  private mac(body: Uint8Array): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC_BYTES);
  }
}
