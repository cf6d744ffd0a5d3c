import { P2psipError } from '../../lib/errors.js';

/**
 * A SIP message or header field that does not follow the grammar of RFC 3261 §25 (or exceeds a
 * limit). `status`/`reason` are what a UAS answers with (RFC 3261 §8.2, §21): 400 with a reason
 * naming the problem, 505 for an unknown SIP version, 413 over a size limit.
 */
export class SipParseError extends P2psipError {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message?: string) {
    super('SIP_PARSE', message ?? reason);
    this.name = 'SipParseError';
    this.status = status;
    this.reason = reason;
  }
}

/** A 400 naming a malformed header field: `Bad Request - Malformed Via header`. */
export function malformedHeader(header: string, detail?: string): SipParseError {
  const reason = `Bad Request - Malformed ${header} header`;
  return new SipParseError(400, reason, detail === undefined ? reason : `${reason}: ${detail}`);
}
