import { P2psipError } from '../../lib/errors.js';

/** Stable codes of {@link TransactionError}. */
export type TransactionErrorCode =
  /** A state machine was asked for a transition its RFC 3261 §17 figure does not have. */
  | 'SIP_TX_ILLEGAL_TRANSITION'
  /** `sendRequest` got a request it cannot run a transaction for (ACK, no z9hG4bK branch, no CSeq). */
  | 'SIP_TX_BAD_REQUEST'
  /** `sendRequest` got a branch + method already used by a live client transaction. */
  | 'SIP_TX_DUPLICATE'
  /** `maxTransactions` reached: the new client transaction fails fast (reported through onTransportError). */
  | 'SIP_TX_LIMIT'
  /** A TransactionLayer option is out of range. */
  | 'SIP_TX_BAD_OPTIONS';

/** Errors of the SIP transaction layer (RFC 3261 §17). */
export class TransactionError extends P2psipError {
  declare readonly code: TransactionErrorCode;

  constructor(code: TransactionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TransactionError';
  }
}
