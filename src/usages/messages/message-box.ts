/**
 * Messages for absent users (issue 16): the P2PSIP-MESSAGE Kind's values. A MESSAGE that could not
 * reach its recipient is kept in the overlay under the recipient's Resource Name (`user@domain`, the
 * same Resource-ID as its SIP-REGISTRATION), one dictionary entry per message, replicated like any
 * value, until a peer where the recipient registers delivers it and removes it.
 *
 * Key: the accepting peer's Node-ID, then the acceptance time (ms, uint64 BE) and a counter (uint32
 * BE): unique without coordination, its writer readable by the storing peer, and ordering messages
 * from one peer. Value: UTF-8 JSON, bounded and checked on every read.
 */
import { P2psipError } from '../../lib/errors.js';

/** p2psip's private-use Kind-ID (RFC 6940 §14.6 range 0xf0000000–0xfffffffe; registered-kinds.ts). */
export const MESSAGE_KIND_ID = 0xf0000104;

/**
 * Bytes of a message body kept for later (a larger MESSAGE to an absent user gets 413): RFC 3428 §8's
 * 1300 bytes. A value, its signature and certificate must fit one RELOAD message (the LAN overlay's
 * max-message-size is 5000 bytes), and one Fetch answers one message.
 */
export const MAX_KEPT_BODY_BYTES = 1300;
/** Live messages kept for one recipient (the next gets a clear 4xx until some are delivered). */
export const MAX_KEPT_PER_RECIPIENT = 20;
/** Default lifetime of a kept message, s (7 days). */
export const DEFAULT_KEPT_LIFETIME_S = 7 * 86_400;
/** Longest lifetime the storing peer accepts, s (30 days). */
export const MAX_KEPT_LIFETIME_S = 30 * 86_400;
/**
 * Lifetime of the tombstone of a delivered message, s: long enough for every replica to learn of the
 * removal, short enough that a busy box does not fill with them (see "Messages for absent users" in
 * docs/architecture.md for what a replica cut off longer than this can cause: a second delivery).
 */
export const KEPT_TOMBSTONE_S = 600;
/** Longest header field we keep (From, Date, Content-Type, the sender's AoR). */
export const MAX_KEPT_FIELD = 256;
/** Largest encoded value: the body in base64 and the header fields. */
export const MAX_KEPT_VALUE_BYTES = Math.ceil(MAX_KEPT_BODY_BYTES / 3) * 4 + 5 * MAX_KEPT_FIELD + 128;
/**
 * Dictionary keys per recipient at the storing peer, live messages and tombstones: a Stat of the
 * whole box (about 80 bytes a key) fits one RELOAD message.
 */
export const MESSAGE_KIND_MAX_COUNT = 40;

/** A message as kept. */
export interface KeptMessage {
  /** The From header as the sender's phone wrote it, tag removed. */
  from: string;
  /** The recipient's canonical AoR. */
  to: string;
  /** The sender's Date header, or the time it was accepted (RFC 1123). */
  date: string;
  /** Content-Type of the body ('' when none). */
  contentType: string;
  body: Uint8Array;
  /** When the accepting peer took it, wall-clock ms (the delivery order). */
  acceptedAt: number;
  /** The user whose password the sender's phone proved, when it did. */
  sender?: string;
}

export class MessageBoxError extends P2psipError {
  constructor(message: string) {
    super('MESSAGE_BOX_BAD_VALUE', message);
  }
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8', { fatal: true });

export function encodeKeptMessage(m: KeptMessage): Uint8Array {
  const json = { v: 1, from: m.from, to: m.to, date: m.date, ct: m.contentType, at: m.acceptedAt, body: Buffer.from(m.body).toString('base64'), ...(m.sender === undefined ? {} : { sender: m.sender }) };
  return utf8.encode(JSON.stringify(json));
}

function field(o: Record<string, unknown>, name: string, optional = false): string | undefined {
  const v = o[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new MessageBoxError(`field '${name}' is not text`);
  if (v.length > MAX_KEPT_FIELD) throw new MessageBoxError(`field '${name}' is longer than ${MAX_KEPT_FIELD}`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new MessageBoxError(`field '${name}' holds a control character`);
  return v;
}

/** Reads a kept message; throws MessageBoxError naming what is wrong. */
export function decodeKeptMessage(bytes: Uint8Array): KeptMessage {
  if (bytes.length > MAX_KEPT_VALUE_BYTES) throw new MessageBoxError(`value of ${bytes.length} bytes, at most ${MAX_KEPT_VALUE_BYTES}`);
  let o: unknown;
  try {
    o = JSON.parse(utf8Decode.decode(bytes));
  } catch {
    throw new MessageBoxError('value is not UTF-8 JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new MessageBoxError('value is not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.v !== 1) throw new MessageBoxError(`unknown version ${String(r.v)}`);
  const at = r.at;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw new MessageBoxError("field 'at' is not a time");
  const b64 = r.body;
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new MessageBoxError("field 'body' is not base64");
  const body = new Uint8Array(Buffer.from(b64, 'base64'));
  if (body.length > MAX_KEPT_BODY_BYTES) throw new MessageBoxError(`body of ${body.length} bytes, at most ${MAX_KEPT_BODY_BYTES}`);
  const sender = field(r, 'sender', true);
  return { from: field(r, 'from')!, to: field(r, 'to')!, date: field(r, 'date')!, contentType: field(r, 'ct')!, body, acceptedAt: at, ...(sender === undefined ? {} : { sender }) };
}

/** The dictionary key of a message: writer Node-ID ‖ acceptance ms (u64 BE) ‖ counter (u32 BE). */
export function keptMessageKey(writer: Uint8Array, acceptedAt: number, counter: number): Uint8Array {
  const key = new Uint8Array(writer.length + 12);
  key.set(writer, 0);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  view.setBigUint64(writer.length, BigInt(Math.max(0, Math.floor(acceptedAt))));
  view.setUint32(writer.length + 8, counter >>> 0);
  return key;
}

/** The writer Node-ID a key names, or undefined when the key has the wrong length. */
export function keyWriter(key: Uint8Array, nodeIdLength: number): Uint8Array | undefined {
  return key.length === nodeIdLength + 12 ? key.subarray(0, nodeIdLength) : undefined;
}

/** Acceptance time and counter of a key (for the delivery order). */
export function keyOrder(key: Uint8Array): { at: bigint; counter: number } {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { at: view.getBigUint64(key.length - 12), counter: view.getUint32(key.length - 4) };
}
