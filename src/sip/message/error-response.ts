import { parseNameAddr } from './name-addr.js';
import { hasParam } from './params.js';
import { parseCSeq } from './scalar.js';
import { SipHeaders } from './sip-headers.js';
import { isCallId } from './validate-headers.js';
import { formatVia, parseTopViaLenient, parseVia } from './via.js';
import type { SipResponse } from './sip-message.js';

/** FNV-1a, for a To tag that is the same for retransmissions of the same bad request. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function parses(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/**
 * The answer to a request that failed to parse (RFC 3261 §8.2.6, §18.2.2): built from whatever of
 * Via, From, To, Call-ID and CSeq is readable. Every Via is copied when all parse, else the top one
 * is rebuilt from what can be read of it; without a readable Via there is nowhere to answer, so
 * undefined. The To tag is derived from the request, so retransmissions get the same answer.
 */
export function errorResponse(src: SipHeaders, status: number, reason: string): SipResponse | undefined {
  const vias = src.getAll('via');
  if (vias.length === 0) return undefined;
  const h = new SipHeaders();
  if (vias.every((v) => parses(() => parseVia(v)))) {
    for (const v of vias) h.append('Via', v);
  } else {
    const top = parseTopViaLenient(vias[0]!);
    if (top === undefined) return undefined;
    h.append('Via', formatVia(top));
  }
  const from = src.get('from');
  if (from !== undefined && parses(() => parseNameAddr(from, 'From'))) h.append('From', from);
  const to = src.get('to');
  if (to !== undefined) {
    let toHasTag: boolean | undefined;
    try {
      toHasTag = hasParam(parseNameAddr(to, 'To').params, 'tag');
    } catch {
      toHasTag = undefined;
    }
    if (toHasTag !== undefined) h.append('To', toHasTag || status === 100 ? to : `${to};tag=${fnv1a(`${vias[0]}|${from ?? ''}|${src.get('call-id') ?? ''}`)}`);
  }
  const cid = src.get('call-id');
  if (cid !== undefined && isCallId(cid)) h.append('Call-ID', cid);
  const cseq = src.get('cseq');
  if (cseq !== undefined && parses(() => parseCSeq(cseq))) h.append('CSeq', cseq);
  h.append('Content-Length', '0');
  return { kind: 'response', status, reason, version: 'SIP/2.0', headers: h, body: new Uint8Array(0) };
}
