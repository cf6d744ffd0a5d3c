import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { readIpAddressPort, writeIpAddressPort } from './ip-address-port.js';
import type { IpAddressPort } from './ip-address-port.js';
import { checkObject, decodeBody, encodeBody, writeList } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.5.1.1 OverlayLinkType codes (0 is invalid). */
export const OverlayLinkType = { 'DTLS-UDP-SR': 1, 'DTLS-UDP-SR-NO-ICE': 3, 'TLS-TCP-FH-NO-ICE': 4 } as const;

/**
 * RFC 6940 §6.5.1.1 CandType codes. The RFC marks 3 RESERVED; its drafts (and ICE) call it
 * prflx, which like srflx and relay carries a rel_addr_port.
 */
export const CandType = { host: 1, srflx: 2, prflx: 3, relay: 4 } as const;
export type CandTypeName = keyof typeof CandType;

/** RFC 6940 §6.5.1.1 IceExtension. */
export interface IceExtension {
  name: Uint8Array;
  value: Uint8Array;
}

/** RFC 6940 §6.5.1.1 IceCandidate; `relAddrPort` is present exactly when `type` is not host. */
export interface IceCandidate {
  addrPort: IpAddressPort;
  /** An {@link OverlayLinkType} code (1..255). */
  overlayLink: number;
  foundation: Uint8Array;
  priority: number;
  type: CandTypeName;
  relAddrPort?: IpAddressPort;
  extensions: IceExtension[];
}

/** RFC 6940 §6.5.1 AttachReqAns (the request and the answer have the same body). */
export interface AttachReqAns {
  ufrag: Uint8Array;
  password: Uint8Array;
  /** RFC 4145 role ("active", "passive", "actpass"). */
  role: Uint8Array;
  candidates: IceCandidate[];
  sendUpdate: boolean;
}

/** RFC 6940 §6.5.2 AppAttachReq / AppAttachAns (same body). */
export interface AppAttachReqAns {
  ufrag: Uint8Array;
  password: Uint8Array;
  /** Application-ID (§14.5), e.g. 5060 for SIP. */
  application: number;
  role: Uint8Array;
  candidates: IceCandidate[];
}

const CAND_NAMES: ReadonlyMap<number, CandTypeName> = new Map(Object.entries(CandType).map(([k, v]) => [v, k as CandTypeName]));

export function readIceCandidate(r: Reader): IceCandidate {
  const addrPort = r.scoped('addr_port', () => readIpAddressPort(r));
  const linkAt = r.offset;
  const overlayLink = r.u8('overlay_link');
  if (overlayLink === 0) r.fail('overlay_link', 'invalidOverlayLinkType (0)', linkAt);
  const foundation = r.opaque(1, 'foundation');
  const priority = r.u32('priority');
  const typeAt = r.offset;
  const code = r.u8('type');
  const type = CAND_NAMES.get(code);
  // no length follows the type, so an unknown CandType cannot be skipped
  if (type === undefined) return r.fail('type', `unknown CandType ${code}`, typeAt);
  const c: IceCandidate = { addrPort, overlayLink, foundation, priority, type, extensions: [] };
  if (type !== 'host') c.relAddrPort = r.scoped('rel_addr_port', () => readIpAddressPort(r));
  c.extensions = r.sub(2, 'extensions').items((e) => ({ name: e.opaque(2, 'name'), value: e.opaque(2, 'value') }));
  return c;
}

export function writeIceCandidate(w: Writer, c: IceCandidate): void {
  checkObject(w, c, 'IceCandidate');
  w.scoped('addr_port', () => writeIpAddressPort(w, c.addrPort));
  if (c.overlayLink === 0) w.fail('overlay_link', 'invalidOverlayLinkType (0)');
  w.u8(c.overlayLink, 'overlay_link');
  w.opaque(1, c.foundation, 'foundation');
  w.u32(c.priority, 'priority');
  if (typeof c.type !== 'string' || !Object.hasOwn(CandType, c.type)) w.fail('type', `unknown CandType ${String(c.type)}`);
  w.u8(CandType[c.type], 'type');
  if (c.type === 'host') {
    if (c.relAddrPort !== undefined) w.fail('rel_addr_port', 'a host candidate has no rel_addr_port');
  } else {
    if (c.relAddrPort === undefined) w.fail('rel_addr_port', `a ${c.type} candidate needs a rel_addr_port`);
    w.scoped('rel_addr_port', () => writeIpAddressPort(w, c.relAddrPort!));
  }
  writeList(w, c.extensions, 2, 'extensions', (e) => {
    checkObject(w, e, 'IceExtension');
    w.opaque(2, e.name, 'name');
    w.opaque(2, e.value, 'value');
  });
}

export function readAttachReqAns(r: Reader): AttachReqAns {
  const ufrag = r.opaque(1, 'ufrag');
  const password = r.opaque(1, 'password');
  const role = r.opaque(1, 'role');
  const candidates = r.sub(2, 'candidates').items(readIceCandidate);
  return { ufrag, password, role, candidates, sendUpdate: r.boolean('send_update') };
}

export function writeAttachReqAns(w: Writer, v: AttachReqAns): void {
  w.opaque(1, v.ufrag, 'ufrag');
  w.opaque(1, v.password, 'password');
  w.opaque(1, v.role, 'role');
  writeList(w, v.candidates, 2, 'candidates', (c) => writeIceCandidate(w, c));
  w.boolean(v.sendUpdate, 'send_update');
}

export function readAppAttachReqAns(r: Reader): AppAttachReqAns {
  const ufrag = r.opaque(1, 'ufrag');
  const password = r.opaque(1, 'password');
  const application = r.u16('application');
  const role = r.opaque(1, 'role');
  return { ufrag, password, application, role, candidates: r.sub(2, 'candidates').items(readIceCandidate) };
}

export function writeAppAttachReqAns(w: Writer, v: AppAttachReqAns): void {
  w.opaque(1, v.ufrag, 'ufrag');
  w.opaque(1, v.password, 'password');
  w.u16(v.application, 'application');
  w.opaque(1, v.role, 'role');
  writeList(w, v.candidates, 2, 'candidates', (c) => writeIceCandidate(w, c));
}

export function encodeAttachReqAns(v: AttachReqAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('AttachReqAns', v, options, writeAttachReqAns);
}

export function decodeAttachReqAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<AttachReqAns> {
  return decodeBody('AttachReqAns', bytes, options, readAttachReqAns);
}

export function encodeAppAttachReqAns(v: AppAttachReqAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('AppAttachReqAns', v, options, writeAppAttachReqAns);
}

export function decodeAppAttachReqAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<AppAttachReqAns> {
  return decodeBody('AppAttachReqAns', bytes, options, readAppAttachReqAns);
}
