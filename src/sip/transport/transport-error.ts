import { P2psipError } from '../../lib/errors.js';

/** Stable codes of the SIP transport layer and its drivers. */
export type TransportErrorCode =
  | 'TRANSPORT_CONNECT_FAILED'
  | 'TRANSPORT_CONNECT_TIMEOUT'
  | 'TRANSPORT_HANDSHAKE_TIMEOUT'
  | 'TRANSPORT_CONNECTION_CLOSED'
  | 'TRANSPORT_NOT_LISTENING'
  | 'TRANSPORT_MESSAGE_TOO_LARGE'
  | 'TRANSPORT_QUEUE_FULL'
  | 'TRANSPORT_TOO_MANY_CONNECTIONS'
  | 'TRANSPORT_SEND_FAILED'
  | 'TRANSPORT_CLOSED'
  | 'TRANSPORT_ADDRESS_IN_USE'
  | 'TRANSPORT_BAD_ADDRESS'
  | 'TRANSPORT_FRAMING'
  | 'TRANSPORT_WRITE_OVERFLOW';

export class TransportError extends P2psipError {
  declare readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TransportError';
  }
}
