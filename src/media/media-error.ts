import { P2psipError } from '../lib/errors.js';

/** Media that cannot be relayed, with the SIP answer it gets (488 for SDP, 503 for capacity). */
export class MediaError extends P2psipError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
    readonly reason: string,
    /** Seconds for Retry-After (capacity), when set. */
    readonly retryAfter?: number,
  ) {
    super(code, message);
    this.name = 'MediaError';
  }
}
