import { P2psipError } from '../lib/errors.js';

/** Codes of simulated socket failures (named after the POSIX errors a real stack reports). */
export type SimNetworkErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNABORTED' | 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL';

/** A simulated network failure, as a link driver reports it. */
export class SimNetworkError extends P2psipError {
  constructor(code: SimNetworkErrorCode, message: string) {
    super(code, message);
    this.name = 'SimNetworkError';
  }
}
