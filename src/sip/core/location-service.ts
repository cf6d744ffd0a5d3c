/**
 * The location service behind the registrar and proxy (RFC 3261 §10, §16.5). In-memory for a
 * stand-alone peer; the overlay (SIP usage, RFC 7904) provides another implementation later.
 */
import { P2psipError } from '../../lib/errors.js';
import type { NameAddr, SipRequest } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/sip-transport.js';

/** One contact bound to an address-of-record. */
export interface Binding {
  /** Canonical AoR (see canonicalAor). */
  aor: string;
  /** The Contact as registered (URI and header params other than expires/q kept). */
  contact: NameAddr;
  /** Absolute expiry on the injected clock, ms. */
  expiresAt: number;
  /** Preference 0..1 (RFC 3261 §20.10), default 1. */
  q: number;
  callId: string;
  cseq: number;
  /** Where the REGISTER came from (the phone's transport address as seen by us). */
  source: TransportAddress;
  /** The connection the REGISTER arrived on, for stream transports (requests go back on it). */
  flowId: string | undefined;
}

/** What one REGISTER asks for (RFC 3261 §10.3 steps 6–7, already validated). */
export interface BindingChange {
  /** '*' = remove all (Expires: 0); otherwise the contacts with their requested lifetimes (0 = remove). */
  contacts: '*' | ReadonlyArray<{ contact: NameAddr; expiresSec: number; q: number }>;
  callId: string;
  cseq: number;
  source: TransportAddress;
  flowId: string | undefined;
}

export type BindingUpdateResult =
  | { ok: true; bindings: Binding[] }
  | { ok: false; reason: 'out-of-order' | 'too-many-bindings' }
  /** The AoR's bindings would hold more than `limit` bytes (Contacts as kept + Call-IDs). */
  | { ok: false; reason: 'aor-too-large'; limit: number };

export interface LocationService {
  /** Applies a REGISTER atomically and returns the AoR's current bindings. */
  update(aor: string, change: BindingChange): Promise<BindingUpdateResult>;
  /**
   * Current, unexpired bindings of an AoR, highest q first. `request` is the request being routed
   * and `source` where it came from (a distributed location service may look at them); a rejection
   * with a LocationLookupError is answered with its status, any other with 503.
   */
  lookup(aor: string, request?: SipRequest, source?: TransportAddress): Promise<Binding[]>;
  /**
   * Like lookup, for a proxy that forks: the bindings known now, and `more` (bindings found later,
   * e.g. the AoR's phones at other peers of an overlay) to fork to once they arrive. The phones known
   * now need not wait for the slower ones. `more` never rejects. `stale`: those of `bindings` found
   * meanwhile to be no longer there (a peer the AoR left): their branches end as 404. Never rejects.
   */
  lookupForking?(aor: string, request?: SipRequest, source?: TransportAddress): Promise<ForkingLookup>;
  /** Number of AoRs with at least one binding (for /api/status). */
  size(): number;
}

/**
 * Told of every change of an AoR's bindings at this peer (a REGISTER applied, bindings found
 * expired), with the list before and after; observers (the node's registration events, issue 17)
 * work out what was added, refreshed, removed or expired. Must not throw or call back into the service.
 */
export interface BindingObserver {
  bindingsChanged(aor: string, before: readonly Binding[], after: readonly Binding[], now: number): void;
}

/**
 * A location service whose changes can be computed first and applied after: the SIP usage stores a
 * REGISTER in the overlay between the two, and a REGISTER whose Store fails changes nothing.
 */
export interface StagedLocationService extends LocationService {
  /** What update() would make of the AoR's bindings; changes nothing. */
  stage(aor: string, change: BindingChange): BindingUpdateResult;
  /** Makes `bindings` (a staged result) the AoR's bindings; none removes the AoR. */
  commit(aor: string, bindings: readonly Binding[]): void;
  /** Current, unexpired bindings of an AoR (no round trip). */
  lookupNow(aor: string): Binding[];
  /** Every AoR with its bindings. */
  entries(): Array<[string, Binding[]]>;
}

/**
 * A REGISTER the location service could not apply, with the SIP answer to give (e.g. 503 when the
 * overlay Store did not answer, 500 when it was refused, 400 for an AoR that may not be stored).
 * Nothing was changed.
 */
export class LocationUpdateError extends P2psipError {
  constructor(
    code: string,
    message: string,
    /** SIP status to answer with (400..699). */
    readonly status: number,
    /** Reason phrase (RFC 3261 §21), the message is appended to it. */
    readonly reason: string,
    /** Retry-After to send, seconds (RFC 3261 §20.33). */
    readonly retryAfterSec?: number,
  ) {
    super(code, message);
    this.name = 'LocationUpdateError';
  }
}

/** A lookup that failed with a definite SIP answer (e.g. 480 unreachable, 408 timeout). */
export class LocationLookupError extends P2psipError {
  constructor(
    code: string,
    message: string,
    /** SIP status to answer with (400..699). */
    readonly status: number,
    /** Reason phrase (RFC 3261 §21), the message is appended to it. */
    readonly reason: string,
  ) {
    super(code, message);
    this.name = 'LocationLookupError';
  }
}

/** What LocationService.lookupForking gives. */
export interface ForkingLookup {
  bindings: Binding[];
  more?: Promise<Binding[]>;
  stale?: Promise<Binding[]>;
}
