import { parseNameAddr } from './name-addr.js';
import { hasParam } from './params.js';
import { reasonPhrase } from './reason-phrase.js';
import { SipHeaders } from './sip-headers.js';
import type { SipRequest, SipResponse } from './sip-message.js';

export interface CreateResponseOptions {
  /** To tag added when the request's To has none and status > 100 (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Extra header fields appended after the copied ones. */
  headers?: Array<[string, string]>;
  body?: Uint8Array;
  /** Content-Type of `body`. */
  contentType?: string;
}

/**
 * Builds a response to `request` (RFC 3261 §8.2.6): copies every Via (in order), From, To, Call-ID
 * and CSeq; adds the To tag; copies Timestamp into a 100 (§8.2.6.1); sets Content-Length.
 */
export function createResponse(request: SipRequest, status: number, reason?: string, options: CreateResponseOptions = {}): SipResponse {
  const h = new SipHeaders();
  const src = request.headers;
  for (const f of src) if (f.key === 'via') h.append('Via', f.value);
  const from = src.get('from');
  if (from !== undefined) h.append('From', from);
  const to = src.get('to');
  if (to !== undefined) h.append('To', withToTag(to, status, options.toTag));
  const cid = src.get('call-id');
  if (cid !== undefined) h.append('Call-ID', cid);
  const cseq = src.get('cseq');
  if (cseq !== undefined) h.append('CSeq', cseq);
  if (status === 100) {
    const ts = src.get('timestamp');
    if (ts !== undefined) h.append('Timestamp', ts);
  }
  for (const [name, value] of options.headers ?? []) h.append(name, value);
  const body = options.body ?? new Uint8Array(0);
  if (options.contentType !== undefined) h.append('Content-Type', options.contentType);
  h.append('Content-Length', String(body.length));
  return { kind: 'response', status, reason: reason ?? reasonPhrase(status), version: 'SIP/2.0', headers: h, body };
}

function withToTag(to: string, status: number, tag: string | undefined): string {
  if (tag === undefined || status <= 100) return to;
  let hasTag: boolean;
  try {
    hasTag = hasParam(parseNameAddr(to, 'To').params, 'tag');
  } catch {
    return to;
  }
  return hasTag ? to : `${to};tag=${tag}`;
}
