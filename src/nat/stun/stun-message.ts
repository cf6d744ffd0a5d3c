/**
 * STUN messages (RFC 8489; TURN's methods and attributes RFC 8656; ICE's RFC 8445 §16; NAT behaviour
 * discovery RFC 5780 §7), sans-I/O: bytes in, a decoded message or a reason out, and back.
 *
 * Rules:
 * - Decoding never throws: a malformed message is `{ ok: false, error }` with the reason. Limits are
 *   explicit: at most {@link STUN_MAX_MESSAGE} bytes and {@link STUN_MAX_ATTRIBUTES} attributes.
 * - Only RFC 5389/8489 messages (with the magic cookie) are accepted; RFC 3489's are refused.
 * - Attributes after MESSAGE-INTEGRITY are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
 *   (RFC 8489 §14.5); nothing follows FINGERPRINT. Integrity and fingerprint are checked on the
 *   received bytes (`checkIntegrity`, the decoder for FINGERPRINT), never recomputed from a re-encoding.
 * - Addresses are IP literals (lib/ip.ts canonical form) with ports; XOR-ed ones use the cookie and,
 *   for IPv6, the transaction ID (§14.2).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { bytesToIp, ipToBytes } from '../../lib/ip.js';

export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Largest STUN message accepted (a TURN Data indication with a 64 KiB datagram fits). */
export const STUN_MAX_MESSAGE = 65_535 + 20;
/** Most attributes in one message; more is refused (a real message has a dozen). */
export const STUN_MAX_ATTRIBUTES = 64;
export const STUN_HEADER = 20;

export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export type StunClass = 'request' | 'indication' | 'success' | 'error';

export const StunAttr = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  PADDING: 0x0026,
  RESPONSE_PORT: 0x0027,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface StunMessage {
  readonly method: number;
  readonly cls: StunClass;
  /** 12 bytes. */
  readonly transactionId: Uint8Array;
  readonly attributes: readonly StunAttribute[];
}

/** A message as received: its bytes and where integrity starts, for `checkIntegrity`. */
export interface DecodedStun extends StunMessage {
  readonly raw: Uint8Array;
  /** Offset of the MESSAGE-INTEGRITY attribute's header, when present. */
  readonly integrityAt?: number;
  /** True when a FINGERPRINT attribute was present (and correct: a wrong one fails decoding). */
  readonly fingerprinted: boolean;
}

export type StunDecodeResult = { ok: true; value: DecodedStun } | { ok: false; error: string };

/** An IP literal and port. */
export interface StunAddress {
  readonly host: string;
  readonly port: number;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });

/**
 * True when `bytes` looks like a STUN message (RFC 7983 demultiplexing: first byte 0–3, the magic
 * cookie, a length that is a multiple of 4 and matches). Cheap; decoding may still refuse it.
 */
export function isStunPacket(bytes: Uint8Array): boolean {
  if (bytes.length < STUN_HEADER || (bytes[0]! & 0xc0) !== 0) return false;
  const len = (bytes[2]! << 8) | bytes[3]!;
  if (len % 4 !== 0 || len + STUN_HEADER !== bytes.length) return false;
  return readU32(bytes, 4) === STUN_MAGIC_COOKIE;
}

function classBits(cls: StunClass): number {
  switch (cls) {
    case 'request':
      return 0x000;
    case 'indication':
      return 0x010;
    case 'success':
      return 0x100;
    case 'error':
      return 0x110;
  }
}

function classOf(type: number): StunClass {
  switch (type & 0x110) {
    case 0x000:
      return 'request';
    case 0x010:
      return 'indication';
    case 0x100:
      return 'success';
    default:
      return 'error';
  }
}

function messageType(method: number, cls: StunClass): number {
  const m = method & 0xfff;
  return (((m & 0xf80) << 2) | ((m & 0x070) << 1) | (m & 0x00f) | classBits(cls)) & 0x3fff;
}

function methodOf(type: number): number {
  return ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
}

export interface StunEncodeOptions {
  /** Adds MESSAGE-INTEGRITY (HMAC-SHA1) with this key (short-term: the password; long-term: `longTermKey`). */
  integrityKey?: Uint8Array;
  /** Adds FINGERPRINT (always last). */
  fingerprint?: boolean;
}

/** Encodes a message; attribute values are padded to 4 bytes. Throws RangeError on a value over 65,535 bytes. */
export function encodeStun(msg: StunMessage, opts: StunEncodeOptions = {}): Uint8Array {
  if (msg.transactionId.length !== 12) throw new RangeError('STUN transaction ID must be 12 bytes');
  let size = STUN_HEADER;
  for (const a of msg.attributes) {
    if (a.value.length > 0xffff) throw new RangeError(`STUN attribute 0x${a.type.toString(16)} too long`);
    size += 4 + pad4(a.value.length);
  }
  if (opts.integrityKey !== undefined) size += 24;
  if (opts.fingerprint === true) size += 8;
  const out = new Uint8Array(size);
  writeU16(out, 0, messageType(msg.method, msg.cls));
  writeU32(out, 4, STUN_MAGIC_COOKIE);
  out.set(msg.transactionId, 8);
  let at = STUN_HEADER;
  for (const a of msg.attributes) {
    writeU16(out, at, a.type);
    writeU16(out, at + 2, a.value.length);
    out.set(a.value, at + 4);
    at += 4 + pad4(a.value.length);
  }
  if (opts.integrityKey !== undefined) {
    writeU16(out, 2, at + 24 - STUN_HEADER);
    const mac = createHmac('sha1', opts.integrityKey).update(out.subarray(0, at)).digest();
    writeU16(out, at, StunAttr.MESSAGE_INTEGRITY);
    writeU16(out, at + 2, 20);
    out.set(mac, at + 4);
    at += 24;
  }
  if (opts.fingerprint === true) {
    writeU16(out, 2, at + 8 - STUN_HEADER);
    const crc = (crc32(out.subarray(0, at)) ^ 0x5354554e) >>> 0;
    writeU16(out, at, StunAttr.FINGERPRINT);
    writeU16(out, at + 2, 4);
    writeU32(out, at + 4, crc);
    at += 8;
  }
  writeU16(out, 2, at - STUN_HEADER);
  return out;
}

/** Decodes one STUN message (the whole datagram). */
export function decodeStun(bytes: Uint8Array): StunDecodeResult {
  if (bytes.length < STUN_HEADER) return { ok: false, error: `STUN: ${bytes.length} bytes is shorter than the 20-byte header` };
  if (bytes.length > STUN_MAX_MESSAGE) return { ok: false, error: `STUN: ${bytes.length} bytes is over the ${STUN_MAX_MESSAGE}-byte limit` };
  if ((bytes[0]! & 0xc0) !== 0) return { ok: false, error: 'STUN: the two first bits are not zero' };
  if (readU32(bytes, 4) !== STUN_MAGIC_COOKIE) return { ok: false, error: 'STUN: no magic cookie (RFC 3489 messages are not accepted)' };
  const len = readU16(bytes, 2);
  if (len % 4 !== 0) return { ok: false, error: `STUN: message length ${len} is not a multiple of 4` };
  if (len + STUN_HEADER !== bytes.length) return { ok: false, error: `STUN: message length ${len} does not match the ${bytes.length - STUN_HEADER} bytes after the header` };
  const type = readU16(bytes, 0);
  const attributes: StunAttribute[] = [];
  let integrityAt: number | undefined;
  let fingerprinted = false;
  let at = STUN_HEADER;
  while (at < bytes.length) {
    if (fingerprinted) return { ok: false, error: 'STUN: an attribute follows FINGERPRINT' };
    if (at + 4 > bytes.length) return { ok: false, error: `STUN: truncated attribute header at offset ${at}` };
    const t = readU16(bytes, at);
    const l = readU16(bytes, at + 2);
    if (at + 4 + l > bytes.length) return { ok: false, error: `STUN: attribute 0x${t.toString(16)} of ${l} bytes overruns the message at offset ${at}` };
    if (t === StunAttr.FINGERPRINT) {
      if (l !== 4) return { ok: false, error: 'STUN: FINGERPRINT is not 4 bytes' };
      const expected = (crc32Adjusted(bytes, at) ^ 0x5354554e) >>> 0;
      if (readU32(bytes, at + 4) !== expected) return { ok: false, error: 'STUN: wrong FINGERPRINT' };
      fingerprinted = true;
    } else if (integrityAt === undefined || t === StunAttr.MESSAGE_INTEGRITY_SHA256) {
      if (t === StunAttr.MESSAGE_INTEGRITY) {
        if (l !== 20) return { ok: false, error: 'STUN: MESSAGE-INTEGRITY is not 20 bytes' };
        integrityAt = at;
      }
      if (attributes.length >= STUN_MAX_ATTRIBUTES) return { ok: false, error: `STUN: more than ${STUN_MAX_ATTRIBUTES} attributes` };
      attributes.push({ type: t, value: bytes.subarray(at + 4, at + 4 + l) });
    }
    at += 4 + pad4(l);
    if (at > bytes.length) return { ok: false, error: 'STUN: attribute padding overruns the message' };
  }
  const value: DecodedStun = {
    method: methodOf(type),
    cls: classOf(type),
    transactionId: bytes.subarray(8, 20),
    attributes,
    raw: bytes,
    fingerprinted,
    ...(integrityAt === undefined ? {} : { integrityAt }),
  };
  return { ok: true, value };
}

/** True when the message carries MESSAGE-INTEGRITY and it verifies with `key` (RFC 8489 §14.5). */
export function checkIntegrity(msg: DecodedStun, key: Uint8Array): boolean {
  const at = msg.integrityAt;
  if (at === undefined) return false;
  const copy = msg.raw.slice(0, at);
  writeU16(copy, 2, at + 24 - STUN_HEADER);
  const mac = createHmac('sha1', key).update(copy).digest();
  const got = msg.raw.subarray(at + 4, at + 24);
  return got.length === 20 && timingSafeEqual(mac, got);
}

/** The long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return new Uint8Array(createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest());
}

/** The short-term credential key (RFC 8489 §9.1.2): the password's bytes (ICE passwords are ice-chars). */
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(password);
}

// ---- attributes ----

export function attr(msg: StunMessage, type: number): Uint8Array | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

export function textAttr(type: number, text: string): StunAttribute {
  return { type, value: utf8.encode(text) };
}

export function readText(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : utf8d.decode(value);
}

export function u32Attr(type: number, v: number): StunAttribute {
  const value = new Uint8Array(4);
  writeU32(value, 0, v >>> 0);
  return { type, value };
}

export function readU32Attr(value: Uint8Array | undefined): number | undefined {
  return value === undefined || value.length !== 4 ? undefined : readU32(value, 0);
}

/** A 64-bit attribute (ICE-CONTROLLING / ICE-CONTROLLED tie-breaker). */
export function u64Attr(type: number, v: bigint): StunAttribute {
  const value = new Uint8Array(8);
  new DataView(value.buffer).setBigUint64(0, v & 0xffff_ffff_ffff_ffffn);
  return { type, value };
}

export function readU64Attr(value: Uint8Array | undefined): bigint | undefined {
  return value === undefined || value.length !== 8 ? undefined : new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0);
}

/** MAPPED-ADDRESS / OTHER-ADDRESS / RESPONSE-ORIGIN form (RFC 8489 §14.1). */
export function addressAttr(type: number, a: StunAddress): StunAttribute {
  return { type, value: encodeAddress(a, undefined) };
}

/** XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS form (RFC 8489 §14.2). */
export function xorAddressAttr(type: number, a: StunAddress, transactionId: Uint8Array): StunAttribute {
  return { type, value: encodeAddress(a, transactionId) };
}

export function readAddress(value: Uint8Array | undefined): StunAddress | undefined {
  return value === undefined ? undefined : decodeAddress(value, undefined);
}

export function readXorAddress(value: Uint8Array | undefined, transactionId: Uint8Array): StunAddress | undefined {
  return value === undefined ? undefined : decodeAddress(value, transactionId);
}

function encodeAddress(a: StunAddress, tid: Uint8Array | undefined): Uint8Array {
  const ip = ipToBytes(a.host);
  if (ip === undefined) throw new RangeError(`STUN: ${a.host} is not an IP literal`);
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? 0x01 : 0x02;
  let port = a.port & 0xffff;
  if (tid !== undefined) port ^= STUN_MAGIC_COOKIE >>> 16;
  writeU16(out, 2, port);
  out.set(ip, 4);
  if (tid !== undefined) xorIp(out.subarray(4), tid);
  return out;
}

function decodeAddress(v: Uint8Array, tid: Uint8Array | undefined): StunAddress | undefined {
  if (v.length < 4) return undefined;
  const family = v[1];
  const len = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (len === 0 || v.length !== 4 + len) return undefined;
  let port = readU16(v, 2);
  const ip = v.slice(4, 4 + len);
  if (tid !== undefined) {
    port ^= STUN_MAGIC_COOKIE >>> 16;
    xorIp(ip, tid);
  }
  const host = bytesToIp(ip);
  return host === undefined ? undefined : { host, port };
}

function xorIp(ip: Uint8Array, tid: Uint8Array): void {
  const mask = new Uint8Array(16);
  writeU32(mask, 0, STUN_MAGIC_COOKIE);
  mask.set(tid.subarray(0, 12), 4);
  for (let i = 0; i < ip.length; i++) ip[i]! ^= mask[i]!;
}

/** ERROR-CODE (RFC 8489 §14.8). */
export function errorCodeAttr(code: number, reason: string): StunAttribute {
  const r = utf8.encode(reason.slice(0, 127));
  const value = new Uint8Array(4 + r.length);
  value[2] = Math.floor(code / 100) & 0x07;
  value[3] = code % 100;
  value.set(r, 4);
  return { type: StunAttr.ERROR_CODE, value };
}

export function readErrorCode(value: Uint8Array | undefined): { code: number; reason: string } | undefined {
  if (value === undefined || value.length < 4) return undefined;
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason: utf8d.decode(value.subarray(4)) };
}

/** UNKNOWN-ATTRIBUTES (RFC 8489 §14.9). */
export function unknownAttributesAttr(types: readonly number[]): StunAttribute {
  const value = new Uint8Array(types.length * 2);
  types.forEach((t, i) => writeU16(value, i * 2, t));
  return { type: StunAttr.UNKNOWN_ATTRIBUTES, value };
}

/** Comprehension-required attributes (0x0000–0x7FFF) of `msg` that are not in `known`. */
export function unknownRequired(msg: StunMessage, known: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const a of msg.attributes) if (a.type < 0x8000 && !known.has(a.type) && !out.includes(a.type)) out.push(a.type);
  return out;
}

/** A response skeleton to `req`: same method and transaction ID. */
export function responseTo(req: StunMessage, cls: 'success' | 'error', attributes: StunAttribute[]): StunMessage {
  return { method: req.method, cls, transactionId: req.transactionId, attributes };
}

/** A new transaction ID from 12 random bytes. */
export function transactionKey(tid: Uint8Array): string {
  let s = '';
  for (const b of tid) s += b.toString(16).padStart(2, '0');
  return s;
}

// ---- bytes ----

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 of the message up to `at` with the header length covering the FINGERPRINT attribute. */
function crc32Adjusted(bytes: Uint8Array, at: number): number {
  const head = bytes.slice(0, at);
  writeU16(head, 2, at + 8 - STUN_HEADER);
  return crc32(head);
}
