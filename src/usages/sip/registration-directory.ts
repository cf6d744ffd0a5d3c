/**
 * What the SIP usage needs from overlay storage (RFC 7904 §3): the SIP-REGISTRATION Kind (Kind-ID
 * 1, dictionary keyed by Node-ID). An adapter over the overlay's Store/Fetch implements it for a
 * real peer; MemoryRegistrationDirectory stands in for tests.
 */
import type { SipRegistration } from '../../reload/codec/index.js';

/** RFC 7904 §3: Kind-ID of SIP-REGISTRATION. */
export const SIP_REGISTRATION_KIND_ID = 1;

export interface RegistrationEntry {
  /** The dictionary key: Node-ID of the peer that stored it. */
  nodeId: Uint8Array;
  value: SipRegistration;
}

export interface RegistrationDirectory {
  /** Stores (or refreshes) our entry for `aor`, keyed by our Node-ID, for `lifetimeSec`. */
  publish(aor: string, value: SipRegistration, lifetimeSec: number): Promise<void>;
  /**
   * Removes our entry for `aor` (RFC 6940 §7.4.1.1: a store with exists=false). `remainingSec`:
   * what is left of the stored value's lifetime; the tombstone lives at least as long (§7.4.1.1 SHOULD).
   */
  withdraw(aor: string, remainingSec?: number): Promise<void>;
  /** Every live entry stored for `aor`. */
  lookup(aor: string): Promise<RegistrationEntry[]>;
}
