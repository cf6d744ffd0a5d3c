/**
 * The one error base class of p2psip. Every error carries a stable `code`; each protocol
 * layer maps codes to its own answer (SIP status, RELOAD error code, CLI exit) in one place.
 */
export class P2psipError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'P2psipError';
  }
}
