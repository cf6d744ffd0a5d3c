/**
 * ICE connectivity-check messages (RFC 8445 §7.1–§7.3 over RFC 8489 short-term credentials): the
 * attributes of a check, the verification of a received one, and the answers — pure functions.
 */
import {
  StunAttr,
  attr,
  checkIntegrity,
  encodeStun,
  errorCodeAttr,
  readText,
  readU32Attr,
  readU64Attr,
  readXorAddress,
  responseTo,
  textAttr,
  u32Attr,
  u64Attr,
  unknownAttributesAttr,
  unknownRequired,
  xorAddressAttr,
} from '../stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../stun/stun-message.js';

export type IceRole = 'controlling' | 'controlled';

export interface CheckFields {
  /** `remoteUfrag:localUfrag` (RFC 8445 §7.2.2). */
  username: string;
  /** PRIORITY: the would-be peer-reflexive candidate's priority (§7.1.1). */
  priority: number;
  role: IceRole;
  tieBreaker: bigint;
  /** USE-CANDIDATE (§7.1.2, controlling side, nomination). */
  useCandidate: boolean;
  software?: string;
}

/** The attributes of a check; MESSAGE-INTEGRITY (remote password) and FINGERPRINT are added by encoding. */
export function checkAttributes(f: CheckFields): StunAttribute[] {
  const out: StunAttribute[] = [textAttr(StunAttr.USERNAME, f.username), u32Attr(StunAttr.PRIORITY, f.priority)];
  out.push(u64Attr(f.role === 'controlling' ? StunAttr.ICE_CONTROLLING : StunAttr.ICE_CONTROLLED, f.tieBreaker));
  if (f.useCandidate) out.push({ type: StunAttr.USE_CANDIDATE, value: new Uint8Array(0) });
  if (f.software !== undefined) out.push(textAttr(StunAttr.SOFTWARE, f.software));
  return out;
}

/** Comprehension-required attributes a check may carry (the others get 420). */
const KNOWN_REQUIRED = new Set<number>([
  StunAttr.USERNAME,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.MESSAGE_INTEGRITY_SHA256,
  StunAttr.PRIORITY,
  StunAttr.USE_CANDIDATE,
]);

export type CheckVerdict =
  | {
      ok: true;
      /** The ufrag after the colon: the sender's. */
      remoteUfrag: string;
      priority: number;
      useCandidate: boolean;
      /** The role the sender claims, and its tie-breaker. */
      claimed: { role: IceRole; tieBreaker: bigint } | undefined;
    }
  | {
      ok: false;
      /** 400, 401 or 420. */
      status: number;
      reason: string;
      /** Whether the request was authenticated (a 420 is then protected, a 400/401 never is). */
      authenticated: boolean;
      unknown?: number[];
    };

/**
 * RFC 8445 §7.3 + RFC 8489 §9.1.3: a Binding request is a valid check for us when USERNAME is
 * `localUfrag:<remote ufrag>` (the remote part must match `remoteUfrag` when known), it carries
 * MESSAGE-INTEGRITY that verifies with our password, a PRIORITY, and at most one role attribute.
 * Missing USERNAME or MESSAGE-INTEGRITY: 400; wrong ufrag or integrity: 401 (RFC 8489 §9.1.3).
 */
export function verifyCheck(msg: DecodedStun, localUfrag: string, localKey: Uint8Array, remoteUfrag: string | undefined): CheckVerdict {
  const user = readText(attr(msg, StunAttr.USERNAME));
  if (user === undefined || msg.integrityAt === undefined) return { ok: false, status: 400, reason: 'Bad Request', authenticated: false };
  const colon = user.indexOf(':');
  const lfrag = colon < 0 ? user : user.slice(0, colon);
  const rfrag = colon < 0 ? '' : user.slice(colon + 1);
  if (lfrag !== localUfrag || rfrag.length === 0 || (remoteUfrag !== undefined && rfrag !== remoteUfrag)) {
    return { ok: false, status: 401, reason: 'Unauthorized', authenticated: false };
  }
  if (!checkIntegrity(msg, localKey)) return { ok: false, status: 401, reason: 'Unauthorized', authenticated: false };
  const unknown = unknownRequired(msg, KNOWN_REQUIRED);
  if (unknown.length > 0) return { ok: false, status: 420, reason: 'Unknown Attribute', authenticated: true, unknown };
  const priority = readU32Attr(attr(msg, StunAttr.PRIORITY));
  if (priority === undefined || priority === 0 || priority > 0x7fff_ffff) return { ok: false, status: 400, reason: 'Bad Request: PRIORITY', authenticated: true };
  const ctrling = attr(msg, StunAttr.ICE_CONTROLLING);
  const ctrled = attr(msg, StunAttr.ICE_CONTROLLED);
  if (ctrling !== undefined && ctrled !== undefined) return { ok: false, status: 400, reason: 'Bad Request: two roles', authenticated: true };
  let claimed: { role: IceRole; tieBreaker: bigint } | undefined;
  if (ctrling !== undefined || ctrled !== undefined) {
    const tieBreaker = readU64Attr(ctrling ?? ctrled);
    if (tieBreaker === undefined) return { ok: false, status: 400, reason: 'Bad Request: tie-breaker', authenticated: true };
    claimed = { role: ctrling !== undefined ? 'controlling' : 'controlled', tieBreaker };
  }
  return { ok: true, remoteUfrag: rfrag, priority, useCandidate: attr(msg, StunAttr.USE_CANDIDATE) !== undefined, claimed };
}

/** §7.3.1.2: success with XOR-MAPPED-ADDRESS = the request's source, protected with our password. */
export function checkSuccess(req: DecodedStun, source: StunAddress, localKey: Uint8Array, software?: string): Uint8Array {
  const attrs: StunAttribute[] = [xorAddressAttr(StunAttr.XOR_MAPPED_ADDRESS, source, req.transactionId)];
  if (software !== undefined) attrs.push(textAttr(StunAttr.SOFTWARE, software));
  return encodeStun(responseTo(req, 'success', attrs), { integrityKey: localKey, fingerprint: true });
}

/**
 * An error answer. `localKey` given: protected (487, 420 to an authenticated request); absent: not
 * (400/401, RFC 8489 §9.1.3: no MESSAGE-INTEGRITY when the request failed authentication).
 */
export function checkError(req: DecodedStun, code: number, reason: string, localKey: Uint8Array | undefined, unknown?: number[], software?: string): Uint8Array {
  const attrs: StunAttribute[] = [errorCodeAttr(code, reason)];
  if (unknown !== undefined && unknown.length > 0) attrs.push(unknownAttributesAttr(unknown));
  if (software !== undefined) attrs.push(textAttr(StunAttr.SOFTWARE, software));
  return encodeStun(responseTo(req, 'error', attrs), { ...(localKey === undefined ? {} : { integrityKey: localKey }), fingerprint: true });
}

/** XOR-MAPPED-ADDRESS of a success response. */
export function mappedAddress(res: DecodedStun): StunAddress | undefined {
  return readXorAddress(attr(res, StunAttr.XOR_MAPPED_ADDRESS), res.transactionId);
}
