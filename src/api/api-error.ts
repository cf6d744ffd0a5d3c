/**
 * The one error class the library API throws (issue 17). `code` is stable (semver): programs branch
 * on it, never on the message text.
 */
import { P2psipError } from '../lib/errors.js';

/**
 * - `bad-argument`: a value given to the API is not usable (the message names it);
 * - `config`: the start options (or the overlay configuration) do not allow the start;
 * - `start`: the peer could not start (a port taken, the data directory unusable, no bootstrap…);
 * - `closed`: the peer was stopped;
 * - `limit`: an explicit bound was reached (the message names it);
 * - `storage`: the overlay refused or did not answer a Store/Fetch (`reloadError` holds RELOAD's error code, 0: no answer);
 * - `user`: the user directory refused (exists, wrong password, open overlay…);
 * - `sip`: a SIP exchange failed (`status` holds the final status).
 */
export type ApiErrorCode = 'bad-argument' | 'config' | 'start' | 'closed' | 'limit' | 'storage' | 'user' | 'sip';

export class P2psipApiError extends P2psipError {
  declare readonly code: ApiErrorCode;
  /** RFC 6940 error code of a `storage` error (0: no answer). */
  readonly reloadError: number | undefined;
  /** Final SIP status of a `sip` error. */
  readonly status: number | undefined;

  constructor(code: ApiErrorCode, message: string, extra: { reloadError?: number; status?: number; cause?: unknown } = {}) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'P2psipApiError';
    this.reloadError = extra.reloadError;
    this.status = extra.status;
  }
}
