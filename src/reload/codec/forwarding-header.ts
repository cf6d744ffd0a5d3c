import { DEFAULT_NODE_ID_LENGTH, checkNodeIdLength, readDestinationList, writeDestinationList } from './destination.js';
import type { CodecOptions } from './codec-options.js';
import type { Destination } from './destination.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import { Writer } from './writer.js';

/** RFC 6940 §6.3.2: "RELO" with the high bit of the first byte set. */
export const RELO_TOKEN = 0xd2454c4f;
/** RFC 6940 §6.3.2: protocol version times 10; this is version 1.0. */
export const RELOAD_VERSION = 10;
/** RFC 6940 §6.3.2: the initial TTL SHOULD be 100. */
export const DEFAULT_INITIAL_TTL = 100;
/** Bytes of the ForwardingHeader before its three lists. */
export const FORWARDING_HEADER_FIXED_LENGTH = 38;

/** RFC 6940 §6.3.2.3 ForwardingOption flags. */
export const FORWARD_CRITICAL = 0x01;
export const DESTINATION_CRITICAL = 0x02;
export const RESPONSE_COPY = 0x04;

/** RFC 6940 §6.3.2.3: type (1..255, 0 is invalid), flags, and the option value (`length` bytes). */
export interface ForwardingOption {
  type: number;
  flags: number;
  value: Uint8Array;
}

/**
 * RFC 6940 §6.3.2 / §6.7 fragment field: high bit always 1, then the last-fragment bit, six
 * reserved bits (written 0, ignored on receipt) and a 24-bit offset. An unfragmented message is
 * `{ last: true, offset: 0 }` (0xC0000000).
 */
export interface Fragment {
  last: boolean;
  offset: number;
}

/** The RFC 6940 §6.3.2 ForwardingHeader (relo_token is implicit). */
export interface ForwardingHeader {
  /** Lower 32 bits of SHA-1 of the overlay name. */
  overlay: number;
  configurationSequence: number;
  /** {@link RELOAD_VERSION} for RFC 6940 (checking it is the receiver's job). */
  version: number;
  ttl: number;
  fragment: Fragment;
  /** Size in bytes of the whole message (this fragment) including this header. */
  length: number;
  transactionId: bigint;
  maxResponseLength: number;
  viaList: Destination[];
  destinationList: Destination[];
  options: ForwardingOption[];
}

export const UNFRAGMENTED: Readonly<Fragment> = Object.freeze({ last: true, offset: 0 });

const FRAGMENT_HIGH_BIT = 0x80000000;
const FRAGMENT_LAST_BIT = 0x40000000;
const FRAGMENT_OFFSET_MASK = 0x00ffffff;

/** Reads a ForwardingHeader at the reader's position (RFC 6940 §6.3.2). */
export function readForwardingHeader(r: Reader, nodeIdLength: number = DEFAULT_NODE_ID_LENGTH): ForwardingHeader {
  checkNodeIdLength(nodeIdLength, (d) => r.fail('', d));
  const at = r.offset;
  const token = r.u32('relo_token');
  if (token !== RELO_TOKEN) r.fail('relo_token', `0x${token.toString(16).padStart(8, '0')} is not the RELOAD token 0xd2454c4f`, at);
  const overlay = r.u32('overlay');
  const configurationSequence = r.u16('configuration_sequence');
  const version = r.u8('version');
  const ttl = r.u8('ttl');
  const fragAt = r.offset;
  const frag = r.u32('fragment');
  // RFC 6940 §6.7: messages with the high bit clear SHOULD be discarded
  if ((frag & FRAGMENT_HIGH_BIT) === 0) r.fail('fragment', 'the high bit of the fragment field must be set', fragAt);
  const fragment: Fragment = { last: (frag & FRAGMENT_LAST_BIT) !== 0, offset: frag & FRAGMENT_OFFSET_MASK };
  const length = r.u32('length');
  const transactionId = r.u64('transaction_id');
  const maxResponseLength = r.u32('max_response_length');
  // RFC 6940 §6.3.2: the three list lengths come first, then the three lists
  const lengthsAt = r.offset;
  const viaLength = r.u16('via_list_length');
  const destLength = r.u16('destination_list_length');
  const optionsLength = r.u16('options_length');
  const viaList = readDestinationList(r.take(viaLength, 'via_list', 'via_list_length', lengthsAt), nodeIdLength, true);
  const destinationList = readDestinationList(r.take(destLength, 'destination_list', 'destination_list_length', lengthsAt + 2), nodeIdLength, false);
  const options = r.take(optionsLength, 'options', 'options_length', lengthsAt + 4).items(readForwardingOption);
  return {
    overlay,
    configurationSequence,
    version,
    ttl,
    fragment,
    length,
    transactionId,
    maxResponseLength,
    viaList,
    destinationList,
    options,
  };
}

/** Writes a ForwardingHeader, back-patching the three list lengths (RFC 6940 §6.3.2). */
export function writeForwardingHeader(w: Writer, h: ForwardingHeader, nodeIdLength: number = DEFAULT_NODE_ID_LENGTH): void {
  checkNodeIdLength(nodeIdLength, (d) => w.fail('', d));
  if (typeof h !== 'object' || h === null) w.fail('', 'not a ForwardingHeader');
  w.u32(RELO_TOKEN, 'relo_token');
  w.u32(h.overlay, 'overlay');
  w.u16(h.configurationSequence, 'configuration_sequence');
  w.u8(h.version, 'version');
  w.u8(h.ttl, 'ttl');
  w.u32(fragmentField(h.fragment, (d) => w.fail('fragment', d)), 'fragment');
  w.u32(h.length, 'length');
  w.u64(h.transactionId, 'transaction_id');
  w.u32(h.maxResponseLength, 'max_response_length');
  const viaAt = w.reserve(2, 'via_list_length');
  const destAt = w.reserve(2, 'destination_list_length');
  const optAt = w.reserve(2, 'options_length');
  let start = w.length;
  w.scoped('via_list', () => writeDestinationList(w, h.viaList, nodeIdLength, true));
  w.patchLength(viaAt, 2, w.length - start, 'via_list_length');
  start = w.length;
  w.scoped('destination_list', () => writeDestinationList(w, h.destinationList, nodeIdLength, false));
  w.patchLength(destAt, 2, w.length - start, 'destination_list_length');
  start = w.length;
  w.scoped('options', () => {
    if (!Array.isArray(h.options)) w.fail('', 'not a list');
    h.options.forEach((o, i) => w.scoped(`[${i}]`, () => writeForwardingOption(w, o)));
  });
  w.patchLength(optAt, 2, w.length - start, 'options_length');
}

/** Encodes a ForwardingHeader on its own. */
export function encodeForwardingHeader(h: ForwardingHeader, options: CodecOptions = {}): Uint8Array {
  const w = new Writer('ForwardingHeader', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  writeForwardingHeader(w, h, options.nodeIdLength);
  return w.finish();
}

/** Decodes exactly one ForwardingHeader filling `bytes`; throws {@link CodecError}. */
export function decodeForwardingHeader(bytes: Uint8Array, options: CodecOptions = {}): ForwardingHeader {
  const r = new Reader(bytes, 'ForwardingHeader', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  const h = readForwardingHeader(r, options.nodeIdLength);
  r.expectEnd();
  return h;
}

/** The uint32 fragment field of a {@link Fragment} (RFC 6940 §6.7). */
export function fragmentField(f: Fragment, fail: (detail: string) => never): number {
  if (typeof f !== 'object' || f === null || typeof f.last !== 'boolean') fail('not a Fragment');
  if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset > FRAGMENT_OFFSET_MASK) fail(`offset ${String(f.offset)} is not a uint24`);
  return (FRAGMENT_HIGH_BIT | (f.last ? FRAGMENT_LAST_BIT : 0) | f.offset) >>> 0;
}

/** Reads one ForwardingOption (RFC 6940 §6.3.2.3). */
export function readForwardingOption(r: Reader): ForwardingOption {
  const at = r.offset;
  const type = r.u8('type');
  if (type === 0) r.fail('type', 'invalidForwardingOptionType (0)', at);
  const flags = r.u8('flags');
  return { type, flags, value: r.opaque(2, 'length') };
}

/** Writes one ForwardingOption (RFC 6940 §6.3.2.3). */
export function writeForwardingOption(w: Writer, o: ForwardingOption): void {
  if (typeof o !== 'object' || o === null) w.fail('', 'not a ForwardingOption');
  if (o.type === 0) w.fail('type', 'invalidForwardingOptionType (0)');
  w.u8(o.type, 'type');
  w.u8(o.flags, 'flags');
  w.opaque(2, o.value, 'length');
}
