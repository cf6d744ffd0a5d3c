import { P2psipError } from '../../lib/errors.js';

/** Stable codes of the link layer. */
export type LinkErrorCode =
  /** A frame that does not follow RFC 6940 §6.6.2 (the link is closed). */
  | 'RELOAD_LINK_PROTOCOL'
  /** No ACK for an outstanding frame within the failure timeout (§6.6.5), or connect took too long. */
  | 'RELOAD_LINK_TIMEOUT'
  /** `maxLinks` links are already open or opening. */
  | 'RELOAD_LINK_LIMIT'
  /** The layer was shut down. */
  | 'RELOAD_LINK_SHUTDOWN';

/** An error of the RELOAD overlay link layer (RFC 6940 §6.6). */
export class LinkError extends P2psipError {
  constructor(code: LinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'LinkError';
  }
}
