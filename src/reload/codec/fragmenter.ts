import { CodecError } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { fragmentField } from './forwarding-header.js';
import { decodeReloadPdu } from './reload-message.js';

/** RFC 6940 §6.7: each fragment MUST contain at least 256 bytes of the message body. */
export const MIN_FRAGMENT_PAYLOAD = 256;
/** RFC 6940 §6.7: the largest fragment offset (24 bits). */
export const MAX_FRAGMENT_OFFSET = 0xffffff;

export interface FragmentOptions extends CodecOptions {
  /** Smallest payload slice per fragment (default {@link MIN_FRAGMENT_PAYLOAD}, RFC 6940 §6.7). */
  minFragmentPayload?: number;
}

// RFC 6940 §6.3.2: relo_token, overlay, configuration_sequence, version, ttl precede fragment; length follows.
const FRAGMENT_FIELD_OFFSET = 12;
const LENGTH_FIELD_OFFSET = 16;

/**
 * Splits an encoded RELOAD message (or a fragment of one: any peer on the path may refragment)
 * into fragments of at most `maxFragmentBytes` bytes each (RFC 6940 §6.7). Each fragment is a
 * byte copy of the original forwarding header with its fragment field (high bit, last bit, 24-bit
 * offset of the slice after the header) and length field rewritten, followed by its slice of the
 * payload; the slices are of equal size (±1 byte). Pass the next link's PMTU minus 32 bytes so
 * the Via List can grow (§6.7).
 *
 * Returns `[encoded]` unchanged when it fits, and also — as §6.7 says ("RELOAD fragmentation is
 * not performed") — when the header leaves room for fewer than `minFragmentPayload` bytes per slice.
 * Throws {@link CodecError} ('RELOAD_ENCODE') when `encoded` is not a RELOAD message or the
 * arguments are out of range.
 */
export function fragmentMessage(encoded: Uint8Array, maxFragmentBytes: number, options: FragmentOptions = {}): Uint8Array[] {
  const minPayload = options.minFragmentPayload ?? MIN_FRAGMENT_PAYLOAD;
  if (!Number.isInteger(maxFragmentBytes) || maxFragmentBytes < 1) fail(`maxFragmentBytes ${String(maxFragmentBytes)} is not a positive integer`);
  if (!Number.isInteger(minPayload) || minPayload < 1) fail(`minFragmentPayload ${String(minPayload)} is not a positive integer`);
  const decoded = decodeReloadPdu(encoded, options);
  if (!decoded.ok) throw new CodecError('RELOAD_ENCODE', 'fragmentMessage', `not a RELOAD message: ${decoded.error.message}`, undefined, { cause: decoded.error });
  if (encoded.length <= maxFragmentBytes) return [encoded];
  const { header, headerLength, payload } = decoded.value;
  const capacity = maxFragmentBytes - headerLength;
  const count = Math.ceil(payload.length / Math.max(capacity, 1));
  // RFC 6940 §6.7: equal-sized fragments; the smallest is floor(P / n) bytes
  if (capacity < minPayload || Math.floor(payload.length / count) < minPayload) return [encoded];
  const base = header.fragment.offset;
  if (base + payload.length > MAX_FRAGMENT_OFFSET + 1) fail(`payload ends past the 24-bit fragment offset (${base + payload.length} bytes)`);
  const small = Math.floor(payload.length / count);
  const bigger = payload.length % count;
  const fragments: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const size = small + (i < bigger ? 1 : 0);
    const out = new Uint8Array(headerLength + size);
    out.set(encoded.subarray(0, headerLength), 0);
    out.set(payload.subarray(at, at + size), headerLength);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    // a refragmented last fragment keeps its last bit only on its final piece
    const last = header.fragment.last && i === count - 1;
    view.setUint32(FRAGMENT_FIELD_OFFSET, fragmentField({ last, offset: base + at }, fail));
    view.setUint32(LENGTH_FIELD_OFFSET, out.length);
    fragments.push(out);
    at += size;
  }
  return fragments;
}

function fail(detail: string): never {
  throw new CodecError('RELOAD_ENCODE', 'fragmentMessage', detail);
}
