/**
 * The STUN Binding server every peer runs on its overlay UDP port (RFC 6940 §6.5.1.4: peers are
 * each other's STUN servers), with the RFC 5780 §7 additions a behaviour probe needs:
 * RESPONSE-ORIGIN, OTHER-ADDRESS when the peer has an alternate port, and CHANGE-REQUEST's
 * "change port" answered from that alternate port. A peer has one IP address to answer from, so
 * "change IP" is refused with 420 (RFC 5780 §6.1) — probes ask another peer instead.
 *
 * Only unauthenticated Binding requests are answered here; a request with USERNAME is an ICE
 * connectivity check and belongs to the ICE agent. Sans-I/O: returns the bytes and the socket to
 * send them from.
 */
import { sameIp } from '../../lib/ip.js';
import {
  StunAttr,
  StunMethod,
  addressAttr,
  attr,
  encodeStun,
  errorCodeAttr,
  readU32Attr,
  responseTo,
  textAttr,
  unknownAttributesAttr,
  unknownRequired,
  xorAddressAttr,
} from './stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from './stun-message.js';

export interface BindingServerOptions {
  /** The SOFTWARE attribute (RFC 8489 §14.14), e.g. `p2psip/0.1`. */
  software?: string;
  /** Where the alternate socket is bound (same IP, other port), when the peer has one. */
  alternate?: StunAddress;
}

export interface BindingReply {
  datagram: Uint8Array;
  /** Which of the peer's sockets sends it. */
  from: 'primary' | 'alternate';
}

const CHANGE_IP = 0x4;
const CHANGE_PORT = 0x2;
const KNOWN = new Set<number>([StunAttr.CHANGE_REQUEST, StunAttr.RESPONSE_PORT, StunAttr.PADDING, StunAttr.FINGERPRINT]);

/**
 * The answer to a Binding request received on `local` (the socket it arrived on) from `from`;
 * undefined for anything that is not an unauthenticated Binding request (not ours to answer).
 */
export function answerBinding(req: DecodedStun, from: StunAddress, local: StunAddress, opts: BindingServerOptions = {}): BindingReply | undefined {
  if (req.method !== StunMethod.Binding || req.cls !== 'request') return undefined;
  if (attr(req, StunAttr.USERNAME) !== undefined || attr(req, StunAttr.MESSAGE_INTEGRITY) !== undefined) return undefined;
  const tail: StunAttribute[] = opts.software === undefined ? [] : [textAttr(StunAttr.SOFTWARE, opts.software)];
  const fail = (code: number, reason: string, extra: StunAttribute[] = []): BindingReply => ({
    datagram: encodeStun(responseTo(req, 'error', [errorCodeAttr(code, reason), ...extra, ...tail]), { fingerprint: req.fingerprinted }),
    from: 'primary',
  });
  const unknown = unknownRequired(req, KNOWN);
  if (unknown.length > 0) return fail(420, 'Unknown Attribute', [unknownAttributesAttr(unknown)]);
  if (attr(req, StunAttr.RESPONSE_PORT) !== undefined) return fail(420, 'Unknown Attribute', [unknownAttributesAttr([StunAttr.RESPONSE_PORT])]);
  const change = readU32Attr(attr(req, StunAttr.CHANGE_REQUEST)) ?? 0;
  if ((change & CHANGE_IP) !== 0) return fail(420, 'Unknown Attribute', [unknownAttributesAttr([StunAttr.CHANGE_REQUEST])]);
  let via: 'primary' | 'alternate' = opts.alternate !== undefined && local.port === opts.alternate.port && sameIp(local.host, opts.alternate.host) ? 'alternate' : 'primary';
  if ((change & CHANGE_PORT) !== 0) {
    if (opts.alternate === undefined) return fail(420, 'Unknown Attribute', [unknownAttributesAttr([StunAttr.CHANGE_REQUEST])]);
    via = via === 'primary' ? 'alternate' : 'primary';
  }
  const origin = via === 'alternate' && opts.alternate !== undefined ? opts.alternate : local;
  const attrs: StunAttribute[] = [xorAddressAttr(StunAttr.XOR_MAPPED_ADDRESS, from, req.transactionId), addressAttr(StunAttr.RESPONSE_ORIGIN, origin)];
  if (opts.alternate !== undefined) attrs.push(addressAttr(StunAttr.OTHER_ADDRESS, via === 'alternate' ? local : opts.alternate));
  attrs.push(...tail);
  return { datagram: encodeStun(responseTo(req, 'success', attrs), { fingerprint: req.fingerprinted }), from: via };
}
