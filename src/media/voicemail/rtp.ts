/**
 * RTP fixed header (RFC 3550 §5.1), parsed and built: version 2, padding (P, the last octet counts
 * the padding octets, itself included), header extension (X, RFC 3550 §5.3.1: 16-bit profile, a
 * length in 32-bit words, the words), up to 15 CSRCs (the 4-bit CC), marker, payload type,
 * sequence number, timestamp, SSRC.
 *
 * A packet that is not RTP — too short, another version, a count or a length pointing past the
 * end, padding of zero octets or longer than the packet, an RTCP packet on a multiplexed port
 * (RFC 5761 §4: second octet 192..223) — is a VoicemailError RTP_MALFORMED naming the problem.
 * Limits: a packet is at most {@link MAX_RTP_PACKET_BYTES} (a UDP datagram).
 */
import { VoicemailError } from './voicemail-error.js';

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;
export const MAX_RTP_CSRCS = 15;
export const MAX_RTP_PACKET_BYTES = 65_535;

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE: RFC 8285 one-byte headers). */
  readonly profile: number;
  /** The extension words (a multiple of 4 octets). */
  readonly data: Uint8Array;
}

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  readonly extension: RtpHeaderExtension | undefined;
  /** The payload, padding removed (a view into the parsed bytes). */
  readonly payload: Uint8Array;
  /** Padding octets the packet carried (0: P bit clear). */
  readonly paddingBytes: number;
}

/** What {@link buildRtp} takes: the fields of a packet, optional ones defaulting to none. */
export interface RtpPacketInit {
  marker?: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extension?: RtpHeaderExtension;
  payload: Uint8Array;
  /** Padding octets to add, 0..255 (0: none). */
  paddingBytes?: number;
}

const bad = (why: string): VoicemailError => new VoicemailError('RTP_MALFORMED', `not an RTP packet: ${why}`);

/** True for an RTCP packet on an RTP port (RFC 5761 §4: packet types 192..223 in the second octet). */
export function isRtcp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0]! >> 6 === RTP_VERSION && bytes[1]! >= 192 && bytes[1]! <= 223;
}

/** Parses one RTP packet (RFC 3550 §5.1); throws VoicemailError RTP_MALFORMED otherwise. */
export function parseRtp(bytes: Uint8Array): RtpPacket {
  const len = bytes.length;
  if (len < RTP_HEADER_BYTES) throw bad(`${len} bytes, shorter than the 12-byte header`);
  if (len > MAX_RTP_PACKET_BYTES) throw bad(`${len} bytes, over ${MAX_RTP_PACKET_BYTES}`);
  const b0 = bytes[0]!;
  const version = b0 >> 6;
  if (version !== RTP_VERSION) throw bad(`version ${version}, 2 expected`);
  if (isRtcp(bytes)) throw bad(`RTCP packet type ${bytes[1]!} (RFC 5761)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, len);
  const cc = b0 & 0x0f;
  let at = RTP_HEADER_BYTES + 4 * cc;
  if (at > len) throw bad(`CSRC count ${cc} needs ${at} header bytes, the packet has ${len}`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(v.getUint32(RTP_HEADER_BYTES + 4 * i));
  let extension: RtpHeaderExtension | undefined;
  if (b0 & 0x10) {
    if (at + 4 > len) throw bad('header extension bit set, no room for the extension header');
    const profile = v.getUint16(at);
    const words = v.getUint16(at + 2);
    const end = at + 4 + 4 * words;
    if (end > len) throw bad(`header extension of ${words} words runs past the end`);
    extension = { profile, data: bytes.subarray(at + 4, end) };
    at = end;
  }
  let paddingBytes = 0;
  if (b0 & 0x20) {
    paddingBytes = bytes[len - 1]!;
    if (paddingBytes === 0) throw bad('padding bit set with a padding count of 0');
    if (paddingBytes > len - at) throw bad(`padding of ${paddingBytes} bytes is longer than the ${len - at} bytes after the header`);
  }
  return {
    marker: (bytes[1]! & 0x80) !== 0,
    payloadType: bytes[1]! & 0x7f,
    sequence: v.getUint16(2),
    timestamp: v.getUint32(4),
    ssrc: v.getUint32(8),
    csrcs,
    extension,
    payload: bytes.subarray(at, len - paddingBytes),
    paddingBytes,
  };
}

/** Builds one RTP packet; a field out of range is a VoicemailError RTP_INVALID_FIELD. */
export function buildRtp(p: RtpPacketInit): Uint8Array {
  const csrcs = p.csrcs ?? [];
  const padding = p.paddingBytes ?? 0;
  field('payloadType', p.payloadType, 127);
  field('sequence', p.sequence, 0xffff);
  field('timestamp', p.timestamp, 0xffffffff);
  field('ssrc', p.ssrc, 0xffffffff);
  field('paddingBytes', padding, 255);
  if (csrcs.length > MAX_RTP_CSRCS) throw new VoicemailError('RTP_INVALID_FIELD', `${csrcs.length} CSRCs, at most ${MAX_RTP_CSRCS}`);
  for (const c of csrcs) field('csrc', c, 0xffffffff);
  const ext = p.extension;
  if (ext !== undefined) {
    field('extension profile', ext.profile, 0xffff);
    if (ext.data.length % 4 !== 0 || ext.data.length > 4 * 0xffff) {
      throw new VoicemailError('RTP_INVALID_FIELD', `header extension data of ${ext.data.length} bytes is not a whole number of 32-bit words (at most 65535)`);
    }
  }
  const header = RTP_HEADER_BYTES + 4 * csrcs.length + (ext === undefined ? 0 : 4 + ext.data.length);
  const total = header + p.payload.length + padding;
  if (total > MAX_RTP_PACKET_BYTES) throw new VoicemailError('RTP_INVALID_FIELD', `packet of ${total} bytes, over ${MAX_RTP_PACKET_BYTES}`);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (ext !== undefined ? 0x10 : 0) | csrcs.length;
  out[1] = (p.marker === true ? 0x80 : 0) | p.payloadType;
  v.setUint16(2, p.sequence);
  v.setUint32(4, p.timestamp);
  v.setUint32(8, p.ssrc);
  let at = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    v.setUint32(at, c);
    at += 4;
  }
  if (ext !== undefined) {
    v.setUint16(at, ext.profile);
    v.setUint16(at + 2, ext.data.length / 4);
    out.set(ext.data, at + 4);
    at += 4 + ext.data.length;
  }
  out.set(p.payload, at);
  if (padding > 0) out[total - 1] = padding;
  return out;
}

function field(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new VoicemailError('RTP_INVALID_FIELD', `RTP ${name} must be an integer in [0, ${max}], got ${String(value)}`);
  }
}

/** `a − b` for 16-bit sequence numbers, in [−32768, 32767] (RFC 3550 Appendix A.1 arithmetic). */
export function seqDelta(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** `a − b` for 32-bit RTP timestamps, in [−2^31, 2^31). */
export function tsDelta(a: number, b: number): number {
  return (a - b) | 0;
}
