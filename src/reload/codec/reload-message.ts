import { CodecError } from './codec-error.js';
import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { DEFAULT_NODE_ID_LENGTH } from './destination.js';
import { readForwardingHeader, writeForwardingHeader } from './forwarding-header.js';
import type { ForwardingHeader } from './forwarding-header.js';
import { readMessageContents, writeMessageContents } from './message-contents.js';
import type { MessageContents } from './message-contents.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import { readSecurityBlock, writeSecurityBlock } from './security-block.js';
import type { SecurityBlock } from './security-block.js';
import { Writer } from './writer.js';

/** A whole RELOAD message (RFC 6940 §6.3): forwarding header, contents, security block. */
export interface ReloadMessage {
  header: ForwardingHeader;
  contents: MessageContents;
  securityBlock: SecurityBlock;
}

/**
 * A forwarding header and the bytes after it, undecoded (MessageContents + SecurityBlock, or one
 * fragment of them, RFC 6940 §6.7): what an intermediate peer needs (§6.3: it examines only the header).
 */
export interface ReloadPdu {
  header: ForwardingHeader;
  /** Bytes of the encoded forwarding header (the fragment offset counts from its end, §6.7). */
  headerLength: number;
  payload: Uint8Array;
}

// RFC 6940 §6.3.2: relo_token, overlay, configuration_sequence, version, ttl, fragment precede length.
const LENGTH_FIELD_OFFSET = 16;

/**
 * Encodes a whole, unfragmented message. `header.length` is ignored: the real size is written
 * (RFC 6940 §6.3.2). Throws {@link CodecError} ('RELOAD_ENCODE'), also above `maxMessageSize`.
 */
export function encodeReloadMessage(msg: ReloadMessage, options: CodecOptions = {}): Uint8Array {
  const w = new Writer('ReloadMessage', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  if (typeof msg !== 'object' || msg === null || typeof msg.header !== 'object' || msg.header === null) w.fail('', 'not a ReloadMessage');
  const f = msg.header.fragment;
  if (typeof f !== 'object' || f === null || f.last !== true || f.offset !== 0) {
    w.fail('header.fragment', 'a whole message is its only fragment: { last: true, offset: 0 } (RFC 6940 §6.7)');
  }
  w.scoped('header', () => writeForwardingHeader(w, { ...msg.header, length: 0 }, options.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH));
  w.scoped('contents', () => writeMessageContents(w, msg.contents));
  w.scoped('security_block', () => writeSecurityBlock(w, msg.securityBlock));
  w.patchLength(LENGTH_FIELD_OFFSET, 4, w.length, 'header.length');
  return w.finish();
}

/**
 * Decodes a whole, unfragmented message (RFC 6940 §6.3). Never throws: bad input, a length field
 * that is not the input's size, a fragment (§6.7: reassemble first) or trailing bytes give
 * `{ ok: false, error }` with the field path.
 */
export function decodeReloadMessage(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ReloadMessage> {
  return guarded(() => {
    const r = new Reader(bytes, 'ReloadMessage', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    const header = r.scoped('header', () => readHeaderChecked(r, bytes.length, options));
    if (!header.fragment.last || header.fragment.offset !== 0) {
      r.fail('header.fragment', 'a fragment, not a whole message (RFC 6940 §6.7: reassemble first)', 12);
    }
    const contents = r.scoped('contents', () => readMessageContents(r));
    const securityBlock = r.scoped('security_block', () => readSecurityBlock(r));
    r.expectEnd();
    return { header, contents, securityBlock };
  });
}

/** Decodes the forwarding header and leaves the rest undecoded (RFC 6940 §6.3, §6.7). Never throws. */
export function decodeReloadPdu(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ReloadPdu> {
  return guarded(() => {
    const r = new Reader(bytes, 'ReloadMessage', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    const header = r.scoped('header', () => readHeaderChecked(r, bytes.length, options));
    const headerLength = r.offset;
    return { header, headerLength, payload: r.bytes(r.remaining, 'payload') };
  });
}

/**
 * Encodes a forwarding header followed by `payload` as they are (a forwarded message or a
 * fragment); `header.length` is replaced by the real size. Throws {@link CodecError}.
 */
export function encodeReloadPdu(header: ForwardingHeader, payload: Uint8Array, options: CodecOptions = {}): Uint8Array {
  const w = new Writer('ReloadMessage', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  if (typeof header !== 'object' || header === null) w.fail('header', 'not a ForwardingHeader');
  w.scoped('header', () => writeForwardingHeader(w, { ...header, length: 0 }, options.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH));
  w.bytes(payload, 'payload');
  w.patchLength(LENGTH_FIELD_OFFSET, 4, w.length, 'header.length');
  return w.finish();
}

function readHeaderChecked(r: Reader, size: number, options: CodecOptions): ForwardingHeader {
  const header = readForwardingHeader(r, options.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH);
  // RFC 6940 §6.3.2: length counts the whole message (this fragment), header included
  if (header.length !== size) r.fail('length', `length field ${header.length} is not the message size ${size}`, LENGTH_FIELD_OFFSET);
  return header;
}

function guarded<T>(fn: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof CodecError) return { ok: false, error: e };
    // defensive: the readers throw CodecError only; anything else is a bug, still not a throw
    return { ok: false, error: new CodecError('RELOAD_DECODE', 'ReloadMessage', `internal error: ${String(e)}`, undefined, { cause: e }) };
  }
}
