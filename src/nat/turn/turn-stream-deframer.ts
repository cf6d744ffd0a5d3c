/**
 * Splits a TURN-over-TCP byte stream into messages (RFC 8656 §3.1, §12.5), sans-I/O. A stream carries
 * STUN messages and ChannelData back to back, each self-delimiting:
 * - STUN (first byte 0x00–0x03): a 20-byte header whose bytes 2–3 give the attribute length (a multiple
 *   of 4, RFC 8489 §5) and bytes 4–7 the magic cookie; the message is 20 + length bytes;
 * - ChannelData (first byte 0x40–0x4F; 0x40–0x7F with `rfc5766`): a 4-byte header whose bytes 2–3 give
 *   the data length; over TCP the message is padded to a multiple of 4 (§12.5), so it is
 *   4 + length rounded up to 4 bytes.
 * Anything else cannot be resynchronised (there are no message boundaries to look for): the stream is
 * refused and the owner closes the connection.
 *
 * Limits: a message longer than `maxMessageBytes` (its header says so) is refused before its body is
 * read; bytes held at once are below `maxMessageBytes` (only the incomplete message at the end of what
 * came in is kept), so one connection never holds more than one message's worth.
 */

/** The longest message the formats allow: STUN, 20 + 65,532 (the largest multiple of 4) bytes. */
export const MAX_STREAM_MESSAGE_BYTES = 20 + 65_532;

export interface TurnStreamDeframerOptions {
  /** Longest message accepted, bytes (default {@link MAX_STREAM_MESSAGE_BYTES}; at least 24). */
  maxMessageBytes?: number;
  /** ChannelData of RFC 5766's channel range (first byte up to 0x7F) too (default false). */
  rfc5766ChannelNumbers?: boolean;
}

export type DeframeResult = { ok: true; messages: Uint8Array[] } | { ok: false; reason: string };

const STUN_HEADER = 20;
const CHANNEL_HEADER = 4;
const COOKIE = [0x21, 0x12, 0xa4, 0x42] as const;

export class TurnStreamDeframer {
  private readonly max: number;
  private readonly channelTop: number;
  /** The incomplete message's bytes received so far, in the order they came. */
  private chunks: Uint8Array[] = [];
  private held = 0;
  /** The incomplete message's whole size, once its header is in. */
  private need: number | undefined;
  private refused: string | undefined;

  constructor(opts: TurnStreamDeframerOptions = {}) {
    this.max = opts.maxMessageBytes ?? MAX_STREAM_MESSAGE_BYTES;
    if (!Number.isInteger(this.max) || this.max < 24 || this.max > MAX_STREAM_MESSAGE_BYTES) throw new RangeError(`TURN stream: maxMessageBytes must be an integer in 24…${MAX_STREAM_MESSAGE_BYTES} (got ${this.max})`);
    this.channelTop = opts.rfc5766ChannelNumbers === true ? 0x7f : 0x4f;
  }

  /** Bytes held for an incomplete message (always below maxMessageBytes). */
  get buffered(): number {
    return this.held;
  }

  /**
   * The complete messages `bytes` finishes (views into the bytes given; copies where a message spanned
   * several pushes), or the reason the stream is refused — then and for every later push.
   */
  push(bytes: Uint8Array): DeframeResult {
    if (this.refused !== undefined) return { ok: false, reason: this.refused };
    if (bytes.length === 0) return { ok: true, messages: [] };
    if (this.need !== undefined && this.held + bytes.length < this.need) {
      // still short of the message: kept as it came, joined once (a large message in small reads costs one copy)
      this.chunks.push(bytes);
      this.held += bytes.length;
      return { ok: true, messages: [] };
    }
    let data = bytes;
    this.need = undefined;
    if (this.held > 0) {
      data = concat([...this.chunks, bytes], this.held + bytes.length);
      this.chunks = [];
      this.held = 0;
    }
    const messages: Uint8Array[] = [];
    let off = 0;
    while (off < data.length) {
      const size = this.sizeAt(data, off);
      if (typeof size === 'string') {
        this.refused = size;
        return { ok: false, reason: size };
      }
      if (size === undefined || data.length - off < size) {
        this.need = size;
        break;
      }
      messages.push(data.subarray(off, off + size));
      off += size;
    }
    if (off < data.length) {
      // a copy: the rest of a large read is not kept alive by a few bytes of it
      const rest = data.slice(off);
      this.chunks = [rest];
      this.held = rest.length;
    }
    return { ok: true, messages };
  }

  /** The whole size of the message at `off`; undefined when its header is not all there yet; a string: refused. */
  private sizeAt(d: Uint8Array, off: number): number | string | undefined {
    const first = d[off]!;
    const have = d.length - off;
    if (first <= 0x03) {
      if (have < 4) return undefined;
      const len = (d[off + 2]! << 8) | d[off + 3]!;
      if ((len & 3) !== 0) return `STUN message length ${len} is not a multiple of 4`;
      for (let i = 0; i < 4 && 4 + i < have; i++) if (d[off + 4 + i] !== COOKIE[i]) return 'STUN message without the magic cookie';
      return this.within(STUN_HEADER + len);
    }
    if (first >= 0x40 && first <= this.channelTop) {
      if (have < 4) return undefined;
      const len = (d[off + 2]! << 8) | d[off + 3]!;
      return this.within(CHANNEL_HEADER + ((len + 3) & ~3));
    }
    return `neither STUN nor ChannelData (first byte 0x${first.toString(16).padStart(2, '0')})`;
  }

  private within(size: number): number | string {
    return size > this.max ? `a ${size}-byte message (limit ${this.max})` : size;
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
