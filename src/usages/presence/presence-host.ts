/**
 * What the presence service (issue 16) needs from the peer that runs it: time, randomness, a way to
 * send a NOTIFY, our Contact, and the presence state of every peer (the overlay). Small on purpose:
 * the service is sans-I/O and runs the same on fake hosts in tests.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { SipRequest, Uri } from '../../sip/message/sip-message.js';
import type { OutboundTarget } from '../../sip/transport/sip-transport.js';
import type { CallStateSource } from './dialog-info.js';
import type { MessageSummarySource } from './message-summary.js';
import type { PidfElement, PidfTuple } from './pidf.js';
import type { PresenceRuleStore } from './presence-authorization.js';

/** What the devices of one AoR published at one peer (the tuples and the extension elements, e.g. RPID person). */
export interface PresenceState {
  tuples: readonly PidfTuple[];
  elements: readonly PidfElement[];
}

/** What the rest of the overlay knows of an AoR. */
export interface PresenceSnapshot {
  /** Whether the AoR is registered anywhere (a phone that never PUBLISHes is open while registered). */
  registered: boolean;
  /**
   * What was published for the AoR at the other peers. This peer's own publications are left out:
   * the service holds them itself and adds them fresh (no wait for the overlay to read its own write).
   */
  published: readonly PresenceState[];
}

/** The presence state of the whole overlay, as the lead keeps it (in the overlay). */
export interface PresenceSource {
  /** Everything the other peers published for `aor`, and whether it is registered anywhere. */
  fetch(aor: string): Promise<PresenceSnapshot>;
  /** This peer's devices' state for `aor` changed (empty lists: nothing published here any more). */
  publish(aor: string, own: PresenceState): Promise<void>;
  /**
   * Calls `onChange` when another peer reports a change for `aor` or a registration of it changes;
   * returns the unwatch function (called when the last subscription for the AoR ends).
   */
  watch(aor: string, onChange: () => void): () => void;
}

export interface PresenceHost {
  clock: Clock;
  random: Random;
  /**
   * Sends a request outside the transaction layer's users (a NOTIFY): adds the top Via (with a fresh
   * branch) and sends it to its first Route, else its Request-URI (see `nextHopUri`). With no Route
   * and a Request-URI the proxy would not send to directly (a `.invalid` WebSocket contact, a phone
   * behind NAT on a TCP/TLS flow: the proxy's `bindingTarget` rule), it goes to `arrivedOn`, where
   * the subscription's last SUBSCRIBE came from. Resolves with the final status; 408 on timeout
   * (Timer F), 503 when it cannot be sent.
   */
  send(request: SipRequest, arrivedOn: OutboundTarget): Promise<number>;
  /** Our SIP URI for Contact (a URI naming this element with no user part: in-dialog SUBSCRIBEs come back to it). */
  localContact(): string;
  presence: PresenceSource;
  /** Call state for the dialog event package (RFC 4235); none: the package is not offered. */
  callState?: CallStateSource;
  /** Message waiting state for the message-summary package (RFC 3842); none: not offered. */
  messageSummary?: MessageSummarySource;
  /** Watcher authorization rules; none: every watcher is allowed. */
  rules?: PresenceRuleStore;
  /** The canonical AoR of a URI (the proxy's `LocalIdentity.canonicalAor`); default: sip:user@host, host lowercased. */
  canonicalAor?(uri: Uri): string | undefined;
}
