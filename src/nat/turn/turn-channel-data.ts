/**
 * TURN ChannelData messages (RFC 8656 §12.4): a 4-byte header — channel number (0x4000–0x4FFF) and
 * the length of the application data — then the data. Over UDP the padding to a multiple of 4 is
 * optional (§12.5): the decoder takes `length` bytes and ignores what follows; the encoder pads
 * unless told not to. Sans-I/O, never throws on input.
 */

/** Channel numbers a ChannelBind may use (RFC 8656 §12). */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;
/** RFC 5766's wider range (0x4000–0x7FFF), which RFC 8656 narrowed; older clients (coturn 4.6's uclient) still bind in it. */
export const RFC5766_CHANNEL_MAX = 0x7fff;
export const CHANNEL_DATA_HEADER = 4;

export interface ChannelData {
  readonly channel: number;
  readonly data: Uint8Array;
}

/** True when `n` is a channel number a client may bind (RFC 8656; with `rfc5766`, RFC 5766's range). */
export function isValidChannel(n: number, rfc5766 = false): boolean {
  return Number.isInteger(n) && n >= CHANNEL_MIN && n <= (rfc5766 ? RFC5766_CHANNEL_MAX : CHANNEL_MAX);
}

/**
 * True when the datagram's first byte puts it in the ChannelData range (0x40–0x4F, RFC 7983 / RFC 8656
 * §12; 0x40–0x7F with `rfc5766`) and it holds at least the header. Cheap; `decodeChannelData` may
 * still refuse it.
 */
export function isChannelData(bytes: Uint8Array, rfc5766 = false): boolean {
  return bytes.length >= CHANNEL_DATA_HEADER && bytes[0]! >= 0x40 && bytes[0]! <= (rfc5766 ? 0x7f : 0x4f);
}

/** The channel and data of a ChannelData datagram, or undefined (not ChannelData, or a length past its end). */
export function decodeChannelData(bytes: Uint8Array, rfc5766 = false): ChannelData | undefined {
  if (!isChannelData(bytes, rfc5766)) return undefined;
  const channel = (bytes[0]! << 8) | bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (CHANNEL_DATA_HEADER + length > bytes.length) return undefined;
  return { channel, data: bytes.subarray(CHANNEL_DATA_HEADER, CHANNEL_DATA_HEADER + length) };
}

/** A ChannelData datagram; padded to a multiple of 4 unless `pad` is false. Throws RangeError on a bad channel or > 65,535 bytes. */
export function encodeChannelData(channel: number, data: Uint8Array, pad = true): Uint8Array {
  if (!isValidChannel(channel, true)) throw new RangeError(`TURN: 0x${channel.toString(16)} is not a channel number`);
  if (data.length > 0xffff) throw new RangeError('TURN: ChannelData over 65,535 bytes');
  const size = CHANNEL_DATA_HEADER + (pad ? (data.length + 3) & ~3 : data.length);
  const out = new Uint8Array(size);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, CHANNEL_DATA_HEADER);
  return out;
}

/** CHANNEL-NUMBER attribute value (RFC 8656 §18.1): the number, then two RFFU bytes. */
export function channelNumberValue(channel: number): Uint8Array {
  return Uint8Array.of(channel >> 8, channel & 0xff, 0, 0);
}

/** The channel number of a CHANNEL-NUMBER attribute value, or undefined when it is not 4 bytes. */
export function readChannelNumber(value: Uint8Array | undefined): number | undefined {
  return value === undefined || value.length !== 4 ? undefined : (value[0]! << 8) | value[1]!;
}
