import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { SignerIdentity, StoredData } from '../codec/index.js';
import { toHex } from './bytes-hex.js';
import type { CertificateStore, SignerResult } from './certificate-store.js';
import { SecurityError } from './security-error.js';

/** Where a signer's certificate may be stored (RFC 6940 §8): a CERTIFICATE_BY_* Kind at a Resource-ID. */
export interface CertificateLookupPlace {
  kind: number;
  resourceId: Uint8Array;
}

export interface CertificateResolverDeps {
  store: CertificateStore;
  clock: Clock;
  /**
   * The values of a CERTIFICATE_BY_* Kind at a Resource-ID, NOT verified (their signer is the very
   * certificate looked up): a Fetch through the overlay. Rejects or resolves [] when there are none.
   */
  fetchCertificates(kind: number, resourceId: Uint8Array): Promise<readonly StoredData[]>;
}

export interface CertificateResolverOptions {
  /** One lookup (all its fetches) gives up after this long. Default 10 s. */
  timeoutMs?: number;
  /** A signer not found is not looked up again for this long. Default 60 s. */
  negativeTtlMs?: number;
  /** Signers remembered as not found (oldest forgotten first). Default 1024. */
  maxNegative?: number;
  /** Lookups running at once; more are refused at once (no lookup storm). Default 8. */
  maxInFlight?: number;
  /** Places fetched per lookup at most. Default 4. */
  maxPlaces?: number;
  /** Certificate values examined per fetched place at most. Default 8. */
  maxValuesPerPlace?: number;
}

export interface CertificateResolverStats {
  lookups: number;
  fetches: number;
  found: number;
  notFound: number;
  refused: number;
  coalesced: number;
  negativeHits: number;
  busy: number;
  timeouts: number;
}

/**
 * Finds the certificate of a signer that is neither in a message's bag nor in the certificate store
 * through the Certificate Store Usage (RFC 6940 §8): fetches CERTIFICATE_BY_NODE / CERTIFICATE_BY_USER
 * at the given places, keeps a fetched certificate only when its hash is the SignerIdentity's and the
 * overlay's trust policy accepts it (the store checks the chain to the CA, or the self-signed rule,
 * and caches it, bounded). Bounded: one lookup per signer at a time (callers share it), a negative
 * cache, a timeout, a cap on concurrent lookups. Never rejects.
 */
export class CertificateResolver {
  readonly stats: CertificateResolverStats = { lookups: 0, fetches: 0, found: 0, notFound: 0, refused: 0, coalesced: 0, negativeHits: 0, busy: 0, timeouts: 0 };
  private readonly inFlight = new Map<string, Promise<SignerResult>>();
  /** identity key → monotonic time until which it is not looked up again (insertion order = age). */
  private readonly negative = new Map<string, number>();
  private readonly timeoutMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxNegative: number;
  private readonly maxInFlight: number;
  private readonly maxPlaces: number;
  private readonly maxValues: number;

  constructor(
    private readonly deps: CertificateResolverDeps,
    options: CertificateResolverOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 60_000;
    this.maxNegative = Math.max(1, options.maxNegative ?? 1024);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.maxPlaces = Math.max(1, options.maxPlaces ?? 4);
    this.maxValues = Math.max(1, options.maxValuesPerPlace ?? 8);
  }

  /** The signer of `identity`: from the store when known, else looked up at `places`. */
  resolve(identity: SignerIdentity, places: readonly CertificateLookupPlace[]): Promise<SignerResult> {
    const known = this.deps.store.resolveSigner(identity);
    if (known.ok || known.error.code !== 'CERT_UNKNOWN') return Promise.resolve(known);
    const key = identityKey(identity);
    if (key === undefined) return Promise.resolve(known);
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      this.stats.coalesced++;
      return running;
    }
    const until = this.negative.get(key);
    if (until !== undefined) {
      if (this.deps.clock.now() < until) {
        this.stats.negativeHits++;
        return Promise.resolve(unknown(identity, 'not found through the certificate store usage (cached)'));
      }
      this.negative.delete(key);
    }
    if (this.inFlight.size >= this.maxInFlight) {
      this.stats.busy++;
      return Promise.resolve(unknown(identity, 'too many certificate lookups running'));
    }
    this.stats.lookups++;
    const p = this.lookup(identity, places.slice(0, this.maxPlaces)).then((r) => {
      this.inFlight.delete(key);
      if (r.ok) this.stats.found++;
      else this.remember(key);
      return r;
    });
    this.inFlight.set(key, p);
    return p;
  }

  /** Lookups running now. */
  get running(): number {
    return this.inFlight.size;
  }

  private remember(key: string): void {
    this.stats.notFound++;
    this.negative.delete(key);
    this.negative.set(key, this.deps.clock.now() + this.negativeTtlMs);
    while (this.negative.size > this.maxNegative) this.negative.delete(this.negative.keys().next().value as string);
  }

  private lookup(identity: SignerIdentity, places: readonly CertificateLookupPlace[]): Promise<SignerResult> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<SignerResult>((resolve) => {
      timer = this.deps.clock.setTimer(this.timeoutMs, () => {
        this.stats.timeouts++;
        resolve(unknown(identity, `certificate lookup timed out after ${this.timeoutMs} ms`));
      });
    });
    const work = (async (): Promise<SignerResult> => {
      // never re-enter the caller (a message being verified) synchronously
      await Promise.resolve();
      let refusal: SignerResult | undefined;
      for (const place of places) {
        let values: readonly StoredData[];
        try {
          this.stats.fetches++;
          values = await this.deps.fetchCertificates(place.kind, place.resourceId);
        } catch {
          continue;
        }
        for (const v of values.slice(0, this.maxValues)) {
          if (!v.value.value.exists) continue;
          // the store matches the hash against the SignerIdentity and applies the trust policy
          const r = this.deps.store.resolveSigner(identity, [v.value.value.value]);
          if (r.ok) return r;
          if (r.error.code !== 'CERT_UNKNOWN') {
            this.stats.refused++;
            refusal = r;
          }
        }
      }
      return refusal ?? unknown(identity, 'no matching certificate through the certificate store usage');
    })();
    return Promise.race([work, timeout]).finally(() => timer?.cancel());
  }
}

function identityKey(identity: SignerIdentity): string | undefined {
  if (identity.type === 'cert_hash') return `h:${toHex(identity.certificateHash)}`;
  if (identity.type === 'cert_hash_node_id') return `n:${toHex(identity.certificateNodeIdHash)}`;
  return undefined;
}

function unknown(identity: SignerIdentity, why: string): SignerResult {
  return { ok: false, error: new SecurityError('CERT_UNKNOWN', `SignerIdentity ${identity.type}: ${why}`) };
}
