import { P2psipError } from '../../lib/errors.js';

/**
 * Why the ICE agent refused a call. Network input never throws: a bad check is answered and counted.
 * - `ICE_TOO_MANY_CANDIDATES`: the remote side offered more candidates than `maxRemoteCandidates`.
 * - `ICE_BAD_CANDIDATE`: a local candidate is not usable: not an IP literal, bad port, too many…
 * - `ICE_BAD_OPTION`: an option (a limit, a timer) is not a usable number.
 * - `ICE_BAD_CREDENTIALS`: a ufrag or password is not RFC 8445 §5.3 ice-chars of the right length.
 * - `ICE_BAD_STATE`: `start()` twice, or after `stop()`.
 * - `ICE_ILLEGAL_TRANSITION`: a state change the agent or its check list refuses (a bug).
 */
export type IceErrorCode = 'ICE_TOO_MANY_CANDIDATES' | 'ICE_BAD_CANDIDATE' | 'ICE_BAD_OPTION' | 'ICE_BAD_CREDENTIALS' | 'ICE_BAD_STATE' | 'ICE_ILLEGAL_TRANSITION';

export class IceError extends P2psipError {
  declare readonly code: IceErrorCode;

  constructor(code: IceErrorCode, message: string) {
    super(code, message);
    this.name = 'IceError';
  }
}
