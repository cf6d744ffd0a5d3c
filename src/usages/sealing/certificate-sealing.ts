/**
 * UserSealing over the overlay's user certificates (issue 16, enrolled overlays): a user's
 * certificates are the CERTIFICATE_BY_USER values at its user name (RFC 6940 §8; every peer stores
 * its own there), each checked against the overlay's trust (issued by its CA, valid now, not a
 * bad-node) and naming that user. A value for the user is sealed to the newest
 * MAX_SEALED_RECIPIENTS of them (sealed-box.ts): any peer enrolled as that user opens it.
 *
 * Lookups are cached (found: `ttlMs`; none: `negativeTtlMs`), bounded (`maxCached` users), and
 * concurrent asks for one user share one Fetch.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { aorResourceName } from '../sip/aor-resource-id.js';
import { MAX_SEALED_RECIPIENTS, openSealed, seal, SealedBoxError, type SealOpener, type SealRecipient } from './sealed-box.js';
import type { SealResult, UserSealing } from './user-sealing.js';

/** A certificate the overlay trusts, as far as sealing needs it. */
export interface TrustedUserCertificate {
  /** The rfc822Name of subjectAltName (RFC 6940 §11.3). */
  userName: string;
  publicKey: KeyObject;
  /** SHA-256 of the DER. */
  hash: Uint8Array;
  notBefore: number;
}

export interface CertificateSealingHost {
  clock: Clock;
  /** The CERTIFICATE_BY_USER values stored at `userName` (an empty list when there are none). */
  fetchUserCertificates(userName: string): Promise<{ ok: true; ders: Uint8Array[] } | { ok: false; info: string }>;
  /** The certificate when the overlay trusts it now; undefined otherwise. */
  trusted(der: Uint8Array): TrustedUserCertificate | undefined;
  /** Our certificate's hash and private key. */
  self: SealOpener;
}

export interface CertificateSealingOptions {
  /** A user's certificates found are used this long before they are fetched again (default 5 min). */
  ttlMs: number;
  /** A user without certificates is asked again after this long (default 30 s). */
  negativeTtlMs: number;
  /** Users remembered (default 1,024; the oldest goes first). */
  maxCached: number;
}

export const DEFAULT_CERTIFICATE_SEALING_OPTIONS: Readonly<CertificateSealingOptions> = Object.freeze({ ttlMs: 5 * 60_000, negativeTtlMs: 30_000, maxCached: 1024 });

type Lookup = { ok: true; recipients: SealRecipient[] } | { ok: false; info: string };

export class CertificateSealing implements UserSealing {
  readonly counts = { sealed: 0, opened: 0, openFailed: 0, lookups: 0, lookupFailed: 0 };
  private readonly options: CertificateSealingOptions;
  private readonly cache = new Map<string, { until: number; recipients: SealRecipient[] }>();
  private readonly inFlight = new Map<string, Promise<Lookup>>();

  constructor(
    private readonly host: CertificateSealingHost,
    options: Partial<CertificateSealingOptions> = {},
  ) {
    this.options = { ...DEFAULT_CERTIFICATE_SEALING_OPTIONS, ...options };
    const { ttlMs, negativeTtlMs, maxCached } = this.options;
    for (const [name, v, max] of [['ttlMs', ttlMs, 86_400_000], ['negativeTtlMs', negativeTtlMs, 86_400_000], ['maxCached', maxCached, 1_000_000]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} ${v}: an integer in [0, ${max}]`);
    }
  }

  async seal(aor: string, plaintext: Uint8Array, aad: Uint8Array): Promise<SealResult> {
    const found = await this.recipients(aor);
    if (!found.ok) return { ok: false, reason: 'failed', info: found.info };
    if (found.recipients.length === 0) return { ok: false, reason: 'no-certificate', info: `the overlay holds no certificate of ${aorResourceName(aor)}` };
    try {
      const sealed = seal(found.recipients, plaintext, aad);
      this.counts.sealed++;
      return { ok: true, sealed };
    } catch (e) {
      return { ok: false, reason: 'failed', info: e instanceof Error ? e.message : String(e) };
    }
  }

  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    return this.openWithKey(sealed, aad)?.plaintext;
  }

  /** Opens a value sealed to us, with its content key (voicemail chunks are sealed under it). */
  openWithKey(sealed: Uint8Array, aad: Uint8Array): { plaintext: Uint8Array; contentKey: Uint8Array } | undefined {
    try {
      const r = openSealed(sealed, this.host.self, aad);
      this.counts.opened++;
      return r;
    } catch (e) {
      if (!(e instanceof SealedBoxError)) throw e;
      this.counts.openFailed++;
      return undefined;
    }
  }

  async hasUser(aor: string): Promise<boolean> {
    const r = await this.recipients(aor);
    return r.ok && r.recipients.length > 0;
  }

  /** The user's usable certificates, newest first, at most MAX_SEALED_RECIPIENTS. */
  recipients(aor: string): Promise<Lookup> {
    // the Resource Name as registrations use it (RFC 7904: user@domain, the user part as written)
    const user = aorResourceName(aor);
    const now = this.host.clock.now();
    const hit = this.cache.get(user);
    if (hit !== undefined && hit.until > now) return Promise.resolve({ ok: true, recipients: hit.recipients });
    const running = this.inFlight.get(user);
    if (running !== undefined) return running;
    const p = this.lookup(user).finally(() => this.inFlight.delete(user));
    this.inFlight.set(user, p);
    return p;
  }

  private async lookup(user: string): Promise<Lookup> {
    this.counts.lookups++;
    let res: Awaited<ReturnType<CertificateSealingHost['fetchUserCertificates']>>;
    try {
      res = await this.host.fetchUserCertificates(user);
    } catch (e) {
      res = { ok: false, info: e instanceof Error ? e.message : String(e) };
    }
    if (!res.ok) {
      this.counts.lookupFailed++;
      return { ok: false, info: `the certificates of ${user} could not be fetched (${res.info})` };
    }
    const seen = new Set<string>();
    const usable: TrustedUserCertificate[] = [];
    for (const der of res.ders) {
      const c = this.host.trusted(der);
      if (c === undefined || c.userName.toLowerCase() !== user.toLowerCase()) continue;
      const k = Buffer.from(c.hash).toString('hex');
      if (seen.has(k)) continue;
      seen.add(k);
      const t = c.publicKey.asymmetricKeyType;
      if (t !== 'rsa' && !(t === 'ec' && c.publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1')) continue;
      usable.push(c);
    }
    usable.sort((a, b) => b.notBefore - a.notBefore);
    const recipients = usable.slice(0, MAX_SEALED_RECIPIENTS).map((c) => ({ certificateHash: c.hash, publicKey: c.publicKey }));
    const now = this.host.clock.now();
    this.cache.delete(user);
    this.cache.set(user, { until: now + (recipients.length > 0 ? this.options.ttlMs : this.options.negativeTtlMs), recipients });
    while (this.cache.size > this.options.maxCached) this.cache.delete(this.cache.keys().next().value!);
    return { ok: true, recipients };
  }
}
