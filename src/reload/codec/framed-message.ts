import { CodecError } from './codec-error.js';
import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import { Writer } from './writer.js';

/** RFC 6940 §6.6.2 FramedMessageType. */
export const FramedMessageType = { data: 128, ack: 129 } as const;

/**
 * RFC 6940 §6.6.2 FramedMessage, the per-hop wrapper: `data` carries one RELOAD message (or
 * fragment) with the link's sequence number; `ack` acknowledges one and says, bit N-M, which of
 * the 32 previous sequence numbers M were received.
 */
export type FramedMessage =
  | { type: 'data'; sequence: number; message: Uint8Array }
  | { type: 'ack'; ackSequence: number; received: number };

/** Bytes before the message in a data frame: type, sequence, uint24 length. */
export const DATA_FRAME_OVERHEAD = 8;
/** Size of an ack frame: type, ack_sequence, received. */
export const ACK_FRAME_LENGTH = 9;

function readFramed(r: Reader, maxMessageSize: number): FramedMessage {
  const at = r.offset;
  const type = r.u8('type');
  switch (type) {
    case FramedMessageType.data: {
      const sequence = r.u32('sequence');
      return { type: 'data', sequence, message: r.opaque(3, 'message', maxMessageSize) };
    }
    case FramedMessageType.ack:
      return { type: 'ack', ackSequence: r.u32('ack_sequence'), received: r.u32('received') };
    default:
      return r.fail('type', `unknown FramedMessageType ${type}`, at);
  }
}

/** Encodes one FramedMessage. Throws {@link CodecError} ('RELOAD_ENCODE'). */
export function encodeFramedMessage(f: FramedMessage, options: CodecOptions = {}): Uint8Array {
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  // sized exactly (an ACK is 9 bytes, data 8 + the message): no growth, no copy in finish()
  const exact = typeof f === 'object' && f !== null ? (f.type === 'ack' ? 9 : f.type === 'data' && f.message instanceof Uint8Array ? 8 + f.message.length : 256) : 256;
  const w = new Writer('FramedMessage', Number.MAX_SAFE_INTEGER, exact);
  if (typeof f !== 'object' || f === null) w.fail('', 'not a FramedMessage');
  switch (f.type) {
    case 'data':
      w.u8(FramedMessageType.data, 'type');
      w.u32(f.sequence, 'sequence');
      w.opaque(3, f.message, 'message', max);
      break;
    case 'ack':
      w.u8(FramedMessageType.ack, 'type');
      w.u32(f.ackSequence, 'ack_sequence');
      w.u32(f.received, 'received');
      break;
    default:
      w.fail('type', 'not a FramedMessage');
  }
  return w.finish();
}

/** Decodes exactly one FramedMessage filling `bytes` (a datagram). Never throws. */
export function decodeFramedMessage(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<FramedMessage> {
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  try {
    const r = new Reader(bytes, 'FramedMessage', max + DATA_FRAME_OVERHEAD);
    const f = readFramed(r, max);
    r.expectEnd();
    return { ok: true, value: f };
  } catch (e) {
    return { ok: false, error: asCodecError(e) };
  }
}

/**
 * Splits a byte stream (TLS/TCP, RFC 6940 §6.6.5) into FramedMessages. Holds at most one
 * incomplete frame (≤ maxMessageSize + 8 bytes): a frame announcing a longer message, or an
 * unknown type, is an error after which the decoder refuses all input (the link must be closed).
 */
export class FramedStreamDecoder {
  private readonly maxMessageSize: number;
  private pending: Uint8Array = new Uint8Array(0);
  private failed: CodecError | undefined;

  constructor(options: CodecOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Appends `chunk` and returns every frame completed by it, or the stream's error. */
  push(chunk: Uint8Array): DecodeResult<FramedMessage[]> {
    if (this.failed !== undefined) return { ok: false, error: this.failed };
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const frames: FramedMessage[] = [];
    let pos = 0;
    try {
      for (;;) {
        const need = this.frameLength(buf, pos);
        if (need === undefined || buf.length - pos < need) break;
        const r = new Reader(buf.subarray(pos, pos + need), 'FramedMessage', need);
        frames.push(readFramed(r, this.maxMessageSize));
        pos += need;
      }
    } catch (e) {
      this.failed = asCodecError(e);
      this.pending = new Uint8Array(0);
      return { ok: false, error: this.failed };
    }
    this.pending = buf.slice(pos);
    return { ok: true, value: frames };
  }

  // Size of the frame starting at `pos`, undefined until its header is complete; throws on a bad header.
  private frameLength(buf: Uint8Array, pos: number): number | undefined {
    if (pos >= buf.length) return undefined;
    const type = buf[pos]!;
    if (type === FramedMessageType.ack) return ACK_FRAME_LENGTH;
    if (type !== FramedMessageType.data) {
      throw new CodecError('RELOAD_DECODE', 'FramedMessage.type', `unknown FramedMessageType ${type}`);
    }
    if (buf.length - pos < DATA_FRAME_OVERHEAD) return undefined;
    const len = (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!;
    if (len > this.maxMessageSize) {
      throw new CodecError('RELOAD_DECODE', 'FramedMessage.message', `length ${len} exceeds the limit of ${this.maxMessageSize}`);
    }
    return DATA_FRAME_OVERHEAD + len;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function asCodecError(e: unknown): CodecError {
  if (e instanceof CodecError) return e;
  return new CodecError('RELOAD_DECODE', 'FramedMessage', `internal error: ${String(e)}`, undefined, { cause: e });
}
