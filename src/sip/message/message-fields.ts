import { parseNameAddr } from './name-addr.js';
import { paramValue } from './params.js';
import { parseCSeq } from './scalar.js';
import { SipParseError } from './sip-parse-error.js';
import { parseVia } from './via.js';
import type { CSeq, SipMessage, Via } from './sip-message.js';

function missing(header: string): SipParseError {
  return new SipParseError(400, `Bad Request - Missing ${header} header`);
}

/** The first via-parm of the first Via field (RFC 3261 §18.2.2, §17.1.3). */
export function topVia(msg: SipMessage): Via {
  const v = msg.headers.get('via');
  if (v === undefined) throw missing('Via');
  return parseVia(v)[0]!;
}

export function callId(msg: SipMessage): string {
  const v = msg.headers.get('call-id');
  if (v === undefined || v === '') throw missing('Call-ID');
  return v;
}

export function cseqOf(msg: SipMessage): CSeq {
  const v = msg.headers.get('cseq');
  if (v === undefined) throw missing('CSeq');
  return parseCSeq(v);
}

function tagOf(msg: SipMessage, header: 'From' | 'To'): string | undefined {
  const v = msg.headers.get(header);
  if (v === undefined) throw missing(header);
  return paramValue(parseNameAddr(v, header).params, 'tag');
}

/** The From tag; undefined when absent (RFC 2543 peers). */
export function fromTag(msg: SipMessage): string | undefined {
  return tagOf(msg, 'From');
}

/** The To tag; undefined when absent (out-of-dialog requests). */
export function toTag(msg: SipMessage): string | undefined {
  return tagOf(msg, 'To');
}
