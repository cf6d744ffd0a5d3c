import type { Clock, TimerHandle } from '../../lib/clock.js';
import { P2psipError } from '../../lib/errors.js';
import type { CodecOptions } from './codec-options.js';
import type { Destination } from './destination.js';
import { UNFRAGMENTED } from './forwarding-header.js';
import type { ForwardingHeader } from './forwarding-header.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from './reader.js';
import { encodeReloadPdu } from './reload-message.js';
import type { ReloadPdu } from './reload-message.js';

/** RFC 6940 §6.7: incomplete fragments SHOULD time out after the maximum request lifetime, 15 s. */
export const DEFAULT_REASSEMBLY_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_REASSEMBLY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_INCOMPLETE_MESSAGES = 256;
/** Bytes charged per held piece besides its payload, so the byte limit also bounds the piece count. */
export const REASSEMBLY_PIECE_OVERHEAD = 64;

export interface ReassemblerOptions extends CodecOptions {
  /** Largest reassembled message, header included (RFC 6940 §11.1 max-message-size; default 5000). */
  maxMessageSize?: number;
  /**
   * Bytes held for all incomplete messages together (default 1 MiB): payload, headers, and
   * {@link REASSEMBLY_PIECE_OVERHEAD} per distinct piece (so tiny fragments cannot pile up objects).
   */
  maxBufferedBytes?: number;
  /** Incomplete messages held at once; the oldest is dropped to make room (default 256). */
  maxIncompleteMessages?: number;
  /** Milliseconds after its first fragment an incomplete message is dropped (default 15000, §6.7). */
  timeoutMs?: number;
}

/** Why a message being reassembled was dropped. */
export type ReassemblyErrorReason = 'conflict' | 'too-large' | 'buffer-full' | 'encode' | 'bad-option';

/** A fragment that cannot be part of its message; the whole incomplete message is dropped. */
export class ReassemblyError extends P2psipError {
  readonly reason: ReassemblyErrorReason;
  constructor(reason: ReassemblyErrorReason, detail: string, options?: { cause?: unknown }) {
    super('RELOAD_REASSEMBLY', `reassembly ${reason}: ${detail}`, options);
    this.name = 'ReassemblyError';
    this.reason = reason;
  }
}

export type ReassemblyResult =
  | { readonly kind: 'complete'; readonly message: Uint8Array }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'dropped'; readonly error: ReassemblyError };

export interface ReassemblerStats {
  /** Messages being reassembled now and the bytes they hold. */
  incomplete: number;
  bufferedBytes: number;
  completed: number;
  /** Dropped: timed out, evicted for the message or byte limit, or refused (conflict, too large). */
  timedOut: number;
  evicted: number;
  errors: number;
}

interface Piece {
  start: number;
  bytes: Uint8Array;
}

interface Pending {
  key: string;
  /** Header of the offset-0 fragment, once seen. */
  header: ForwardingHeader | undefined;
  headerLength: number;
  /** Payload length, once the last fragment is seen. */
  total: number | undefined;
  /** Sorted, non-overlapping. */
  pieces: Piece[];
  covered: number;
  held: number;
  timer: TimerHandle;
}

const INCOMPLETE: ReassemblyResult = Object.freeze({ kind: 'incomplete' });

/**
 * Holds RELOAD fragments until their message is whole (RFC 6940 §6.7). Sans-I/O: time comes from
 * the injected {@link Clock}. Fragments are keyed by transaction ID and sender (the caller's peer id,
 * else the first Via List entry). Overlapping and duplicate fragments are accepted when their bytes
 * agree; a fragment that disagrees, or reaches past max-message-size, drops its whole message.
 * Never throws on network input; every limit is explicit (see {@link ReassemblerOptions}).
 */
export class Reassembler {
  private readonly clock: Clock;
  private readonly maxMessageSize: number;
  private readonly maxBufferedBytes: number;
  private readonly maxIncomplete: number;
  private readonly timeoutMs: number;
  private readonly codecOptions: CodecOptions;
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;
  private readonly counts = { completed: 0, timedOut: 0, evicted: 0, errors: 0 };

  constructor(clock: Clock, options: ReassemblerOptions = {}) {
    this.clock = clock;
    this.maxMessageSize = positive(options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, 'maxMessageSize');
    this.maxBufferedBytes = positive(options.maxBufferedBytes ?? DEFAULT_MAX_REASSEMBLY_BYTES, 'maxBufferedBytes');
    this.maxIncomplete = positive(options.maxIncompleteMessages ?? DEFAULT_MAX_INCOMPLETE_MESSAGES, 'maxIncompleteMessages');
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS, 'timeoutMs');
    this.codecOptions = { maxMessageSize: this.maxMessageSize, ...(options.nodeIdLength === undefined ? {} : { nodeIdLength: options.nodeIdLength }) };
  }

  /** Adds one received PDU (a decodeReloadPdu result); returns the whole message once complete. */
  accept(pdu: ReloadPdu, peerId?: string): ReassemblyResult {
    const { header, headerLength, payload } = pdu;
    const { offset, last } = header.fragment;
    const end = offset + payload.length;
    const key = `${header.transactionId.toString(16)}|${peerId === undefined ? senderKey(header.viaList[0]) : `p:${peerId}`}`;
    let entry = this.pending.get(key);
    if (headerLength + end > this.maxMessageSize) {
      if (entry !== undefined) this.remove(entry);
      return this.refuse('too-large', `fragment ends at ${headerLength + end} bytes, past max-message-size ${this.maxMessageSize}`);
    }
    if (entry === undefined && last && offset === 0) {
      // RFC 6940 §6.7: an unfragmented message is its only fragment
      return this.finish(header, payload);
    }
    if (entry === undefined) {
      while (this.pending.size >= this.maxIncomplete) this.evictOldest();
      const created: Pending = {
        key,
        header: undefined,
        headerLength,
        total: undefined,
        pieces: [],
        covered: 0,
        held: 0,
        timer: this.clock.setTimer(this.timeoutMs, () => {
          if (this.pending.get(key) !== created) return;
          this.remove(created, false);
          this.counts.timedOut++;
        }),
      };
      entry = created;
      this.pending.set(key, entry);
    }
    const conflict = this.checkBounds(entry, end, last);
    if (conflict !== undefined) {
      this.remove(entry);
      return this.refuse('conflict', conflict);
    }
    const fresh = uncovered(entry.pieces, offset, payload);
    if (fresh === undefined) {
      this.remove(entry);
      return this.refuse('conflict', `bytes at offset ${offset}..${end} differ from an earlier fragment`);
    }
    const headerCost = offset === 0 && entry.header === undefined ? headerLength : 0;
    const cost = fresh.reduce((n, p) => n + p.bytes.length + REASSEMBLY_PIECE_OVERHEAD, 0) + headerCost;
    if (entry.held + cost > this.maxBufferedBytes) {
      // RFC 6940 §6.7: out of buffer space to reassemble a message, it MUST be dropped
      this.remove(entry);
      this.counts.evicted++;
      return { kind: 'dropped', error: new ReassemblyError('buffer-full', `the message needs more than ${this.maxBufferedBytes} buffered bytes`) };
    }
    while (this.buffered + cost > this.maxBufferedBytes) this.evictOldest(entry);
    if (last) entry.total = end;
    if (headerCost > 0) {
      entry.header = header;
      entry.headerLength = headerLength;
    }
    for (const p of fresh) {
      const copy: Piece = { start: p.start, bytes: p.bytes.slice() };
      insertSorted(entry.pieces, copy);
      entry.covered += copy.bytes.length;
    }
    entry.held += cost;
    this.buffered += cost;
    if (entry.header !== undefined && entry.total !== undefined && entry.covered === entry.total) {
      if (entry.headerLength + entry.total > this.maxMessageSize) {
        this.remove(entry);
        return this.refuse('too-large', `message of ${entry.headerLength + entry.total} bytes is past max-message-size ${this.maxMessageSize}`);
      }
      const whole = new Uint8Array(entry.total);
      for (const p of entry.pieces) whole.set(p.bytes, p.start);
      const done = entry.header;
      this.remove(entry);
      return this.finish(done, whole);
    }
    return INCOMPLETE;
  }

  stats(): ReassemblerStats {
    return { incomplete: this.pending.size, bufferedBytes: this.buffered, ...this.counts };
  }

  /** Drops every incomplete message and cancels their timers (not counted as evictions). */
  clear(): void {
    for (const entry of [...this.pending.values()]) this.remove(entry);
  }

  private checkBounds(entry: Pending, end: number, last: boolean): string | undefined {
    if (entry.total !== undefined && end > entry.total) return `fragment ends at ${end}, after the last fragment's end ${entry.total}`;
    if (last) {
      if (entry.total !== undefined && entry.total !== end) return `two last fragments end at ${entry.total} and ${end}`;
      const lastPiece = entry.pieces[entry.pieces.length - 1];
      if (lastPiece !== undefined && lastPiece.start + lastPiece.bytes.length > end) return `last fragment ends at ${end}, before bytes already received`;
    }
    return undefined;
  }

  private finish(header: ForwardingHeader, payload: Uint8Array): ReassemblyResult {
    try {
      const message = encodeReloadPdu({ ...header, fragment: { ...UNFRAGMENTED } }, payload, this.codecOptions);
      this.counts.completed++;
      return { kind: 'complete', message };
    } catch (e) {
      return this.refuse('encode', e instanceof Error ? e.message : String(e), e);
    }
  }

  private refuse(reason: ReassemblyErrorReason, detail: string, cause?: unknown): ReassemblyResult {
    this.counts.errors++;
    return { kind: 'dropped', error: new ReassemblyError(reason, detail, cause === undefined ? undefined : { cause }) };
  }

  private evictOldest(keep?: Pending): void {
    for (const entry of this.pending.values()) {
      if (entry === keep) continue;
      this.remove(entry);
      this.counts.evicted++;
      return;
    }
  }

  private remove(entry: Pending, cancelTimer = true): void {
    // a fired timer is not cancelled (a Clock may count that as a cancel of a pending one)
    if (cancelTimer) entry.timer.cancel();
    this.pending.delete(entry.key);
    this.buffered -= entry.held;
  }
}

/** The parts of [offset, offset + payload.length) no piece covers, or undefined when an overlap disagrees. */
function uncovered(pieces: readonly Piece[], offset: number, payload: Uint8Array): Piece[] | undefined {
  const out: Piece[] = [];
  const end = offset + payload.length;
  let at = offset;
  for (const p of pieces) {
    const pEnd = p.start + p.bytes.length;
    if (pEnd <= at) continue;
    if (p.start >= end) break;
    if (p.start > at) out.push({ start: at, bytes: payload.subarray(at - offset, p.start - offset) });
    const from = Math.max(at, p.start);
    const to = Math.min(end, pEnd);
    for (let i = from; i < to; i++) if (payload[i - offset] !== p.bytes[i - p.start]) return undefined;
    at = to;
  }
  if (at < end) out.push({ start: at, bytes: payload.subarray(at - offset) });
  return out;
}

function insertSorted(pieces: Piece[], piece: Piece): void {
  let i = pieces.length;
  while (i > 0 && (pieces[i - 1] as Piece).start > piece.start) i--;
  pieces.splice(i, 0, piece);
}

function senderKey(d: Destination | undefined): string {
  if (d === undefined) return '-';
  switch (d.type) {
    case 'node':
      return `n:${hex(d.nodeId)}`;
    case 'resource':
      return `r:${hex(d.resourceId)}`;
    case 'opaque':
      return `o:${hex(d.opaqueId)}`;
    case 'compressed':
      return `c:${d.id}`;
    case 'unknown':
      return `u${d.code}:${hex(d.data)}`;
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new ReassemblyError('bad-option', `${name} ${String(n)} is not a positive integer`);
  return n;
}
