/**
 * The event state compositor's store of this peer's publications (RFC 3903): each PUBLISH of a
 * phone of ours creates, refreshes, modifies or removes a publication named by an entity-tag.
 * Pure state on an injected clock; the service turns requests into {@link PublishInput} and
 * outcomes into responses.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { randomToken, type Random } from '../../lib/random.js';
import type { PidfElement, PidfTuple } from './pidf.js';
import type { PresenceState } from './presence-host.js';

export interface PublicationLimits {
  /** Shortest accepted Expires, s (below: 423 with Min-Expires). Default 60. */
  minExpires: number;
  /** Longest Expires granted, s (above: clamped). Default 3600. */
  maxExpires: number;
  /** Expires when the PUBLISH has none, s (RFC 3856 §6.4: the presence package's default). Default 3600. */
  defaultExpires: number;
  /** Publications of one AoR at this peer (devices). Default 8. */
  maxPerAor: number;
  /** Publications at this peer in all. Default 4096. */
  maxTotal: number;
  /** Retry-After of the 503 past a limit, s. Default 60. */
  retryAfter: number;
}

export const DEFAULT_PUBLICATION_LIMITS: Readonly<PublicationLimits> = Object.freeze({
  minExpires: 60,
  maxExpires: 3600,
  defaultExpires: 3600,
  maxPerAor: 8,
  maxTotal: 4096,
  retryAfter: 60,
});

/** One PUBLISH as the store sees it. */
export interface PublishInput {
  aor: string;
  /** SIP-If-Match, when present. */
  etag: string | undefined;
  /** Expires, when present (delta-seconds). */
  expires: number | undefined;
  /** The parsed body, when the request has one. */
  document: { tuples: readonly PidfTuple[]; elements: readonly PidfElement[] } | undefined;
}

/**
 * The answer (RFC 3903 §6): 200 with the new entity-tag and the expiry granted (an ETag of '' and
 * Expires 0 for a removal); 400, 412 (unknown entity-tag), 423 (Min-Expires), 503 (a limit:
 * Retry-After). `changed`: the AoR's composed state at this peer changed.
 */
export type PublishOutcome =
  | { status: 200; etag: string; expires: number; changed: boolean }
  | { status: 400; reason: string }
  | { status: 412 }
  | { status: 423; minExpires: number }
  | { status: 503; reason: string; retryAfter: number };

interface Publication {
  etag: string;
  aor: string;
  tuples: readonly PidfTuple[];
  elements: readonly PidfElement[];
  expiresAt: number;
  timer: TimerHandle;
  /** Creation order: the composed state lists the newest publication first. */
  seq: number;
}

export interface PublicationStoreDeps {
  clock: Clock;
  random: Random;
  /** An AoR's state here changed because a publication expired. */
  onExpired(aor: string): void;
}

export class PublicationStore {
  private readonly limits: PublicationLimits;
  private readonly byEtag = new Map<string, Publication>();
  private readonly byAor = new Map<string, Set<Publication>>();
  private seq = 0;

  constructor(
    private readonly deps: PublicationStoreDeps,
    limits: Partial<PublicationLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PUBLICATION_LIMITS, ...limits };
  }

  get size(): number {
    return this.byEtag.size;
  }

  /** RFC 3903 §6 steps 3–7 (the Event header and authorization were checked by the caller). */
  handle(p: PublishInput): PublishOutcome {
    const l = this.limits;
    if (p.expires !== undefined && p.expires > 0 && p.expires < l.minExpires) return { status: 423, minExpires: l.minExpires };
    const granted = Math.min(p.expires ?? l.defaultExpires, l.maxExpires);
    if (p.etag === undefined) {
      // initial publication
      if (p.document === undefined) return { status: 400, reason: 'Bad Request - PUBLISH without SIP-If-Match needs a body' };
      if (granted === 0) return { status: 400, reason: 'Bad Request - Expires 0 without SIP-If-Match' };
      const mine = this.byAor.get(p.aor);
      if ((mine?.size ?? 0) >= l.maxPerAor) return { status: 503, reason: `Service Unavailable - ${l.maxPerAor} publications for this AoR already`, retryAfter: l.retryAfter };
      if (this.byEtag.size >= l.maxTotal) return { status: 503, reason: 'Service Unavailable - Too many publications', retryAfter: l.retryAfter };
      const pub = this.add(p.aor, p.document.tuples, p.document.elements, granted);
      return { status: 200, etag: pub.etag, expires: granted, changed: true };
    }
    const old = this.byEtag.get(p.etag);
    if (old === undefined || old.aor !== p.aor) return { status: 412 };
    if (granted === 0) {
      // removal (RFC 3903 §4.5)
      this.remove(old);
      return { status: 200, etag: '', expires: 0, changed: true };
    }
    // refresh (no body) or modify (body): a new entity-tag either way (§6 step 6, 7)
    this.remove(old);
    const doc = p.document ?? { tuples: old.tuples, elements: old.elements };
    const pub = this.add(p.aor, doc.tuples, doc.elements, granted, p.document === undefined ? old.seq : undefined);
    return { status: 200, etag: pub.etag, expires: granted, changed: p.document !== undefined };
  }

  /** The AoR's state at this peer: every live publication's tuples and elements, newest first. */
  state(aor: string): PresenceState {
    const pubs = [...(this.byAor.get(aor) ?? [])].sort((a, b) => b.seq - a.seq);
    return { tuples: pubs.flatMap((x) => x.tuples), elements: pubs.flatMap((x) => x.elements) };
  }

  /** AoRs with at least one publication here. */
  aors(): string[] {
    return [...this.byAor.keys()];
  }

  /** Forgets everything (shutdown); no callbacks. */
  clear(): void {
    for (const p of this.byEtag.values()) p.timer.cancel();
    this.byEtag.clear();
    this.byAor.clear();
  }

  private add(aor: string, tuples: readonly PidfTuple[], elements: readonly PidfElement[], expires: number, seq?: number): Publication {
    let etag = randomToken(this.deps.random, 20);
    while (this.byEtag.has(etag)) etag = randomToken(this.deps.random, 20);
    const pub: Publication = {
      etag,
      aor,
      tuples,
      elements,
      expiresAt: this.deps.clock.now() + expires * 1000,
      seq: seq ?? this.seq++,
      timer: this.deps.clock.setTimer(expires * 1000, () => {
        if (this.byEtag.get(etag) !== pub) return;
        this.remove(pub);
        this.deps.onExpired(aor);
      }),
    };
    this.byEtag.set(etag, pub);
    let set = this.byAor.get(aor);
    if (set === undefined) this.byAor.set(aor, (set = new Set()));
    set.add(pub);
    return pub;
  }

  private remove(pub: Publication): void {
    pub.timer.cancel();
    this.byEtag.delete(pub.etag);
    const set = this.byAor.get(pub.aor);
    if (set === undefined) return;
    set.delete(pub);
    if (set.size === 0) this.byAor.delete(pub.aor);
  }
}
