import { P2psipError } from '../../lib/errors.js';

/** Errors of the SIP usage (codes: bad-aor, overlay-timeout, overlay-error, peer-unreachable, bad-answer). */
export class SipUsageError extends P2psipError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SipUsageError';
  }
}
