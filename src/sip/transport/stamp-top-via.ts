/**
 * Server transport processing of the top Via of a received request: RFC 3261 §18.2.1
 * `received` and RFC 3581 §4 `rport`.
 */
import { formatVia, paramValue, parseVia, setParam, splitFirstValue } from '../message/index.js';
import type { SipRequest } from '../message/sip-message.js';
import { canonicalIp, sameIp } from '../../lib/ip.js';
import type { TransportAddress } from './sip-transport.js';

/**
 * Adds `received=<source ip>` to the top Via when its sent-by host is a name or an address other
 * than the packet source (RFC 3261 §18.2.1), or when it carries `rport` (RFC 3581 §4: then always);
 * fills an empty `rport` with the source port. Only the first Via value of the first Via field is
 * rewritten; later values of that field keep their bytes. Returns false when the top Via cannot
 * be read (the request should have been refused by the parser), true otherwise.
 */
export function stampTopVia(request: SipRequest, source: TransportAddress): boolean {
  const field = request.headers.get('via');
  if (field === undefined) return false;
  const [first, rest] = splitFirstValue(field);
  let vias;
  try {
    vias = parseVia(first);
  } catch {
    return false;
  }
  const top = vias[0];
  if (top === undefined) return false;
  const rport = paramValue(top.params, 'rport');
  let changed = false;
  if (rport !== undefined || !sameIp(top.host, source.host)) {
    setParam(top.params, 'received', canonicalIp(source.host) ?? source.host);
    changed = true;
  }
  if (rport === '') {
    setParam(top.params, 'rport', String(source.port));
    changed = true;
  }
  if (changed) request.headers.replaceFirst('via', formatVia(top) + rest);
  return true;
}
