import type { Uri } from '../message/sip-message.js';
import type { OutboundTarget } from '../transport/sip-transport.js';

/** One place to forward a request to (RFC 3261 §16.5). */
export interface ProxyTarget {
  /** The new Request-URI. */
  uri: Uri;
  /** Preference (Contact q), 1 when none: higher groups are tried first. */
  q: number;
  /** A fixed next hop (the flow a phone registered over); else it comes from Route / the URI. */
  via: OutboundTarget | undefined;
}
