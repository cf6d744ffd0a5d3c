/**
 * Content-Length framing of a SIP byte stream (RFC 3261 §18.3) with RFC 5626 §4.4.1 CRLF
 * keep-alives. Chunks go in through `push`; complete messages, pings and framing errors come out.
 *
 * Cost is linear in the bytes received: the search for the end of the header section resumes
 * where the previous chunk left off, and a body is only waited for, never rescanned.
 * Between pushes at most `max(maxHeaderBytes + 3, maxMessageBytes)` bytes are retained.
 */
import { DEFAULT_SIP_LIMITS, type SipLimits } from '../message/sip-message.js';

export type FramingErrorReason =
  | 'header-too-large'
  | 'body-too-large'
  | 'message-too-large'
  | 'missing-content-length'
  | 'bad-content-length';

export type FramerEvent =
  /** One whole message: header section and exactly Content-Length body bytes (a copy). */
  | { kind: 'message'; data: Uint8Array }
  /** A CRLFCRLF keep-alive ping between messages (RFC 5626 §4.4.1): answer with one CRLF. */
  | { kind: 'ping' }
  /**
   * The stream cannot be framed any further: the connection must be closed. `header` is the
   * complete header section when it was read (so a 400 can be built from its Via), else undefined.
   */
  | { kind: 'error'; reason: FramingErrorReason; detail: string; header: Uint8Array | undefined };

const CR = 0x0d;
const LF = 0x0a;
/** Content-Length digits accepted (10 digits already exceed every sane limit). */
const MAX_LENGTH_DIGITS = 10;

type Phase = 'boundary' | 'header' | 'body';

/**
 * Where the stream stands, for the deadlines of a message in progress (transport-layer-options.ts):
 * `idle` between messages (CRLF keep-alives included), `start-line` from a message's first byte to
 * the end of its first line, `headers` to the end of its header section, `body` until its
 * Content-Length bytes are in.
 */
export type FramerStage = 'idle' | 'start-line' | 'headers' | 'body';

export class StreamFramer {
  private readonly limits: SipLimits;
  private buf: Uint8Array = new Uint8Array(0);
  /** True when `buf` is ours (writable); false while it is the caller's chunk. */
  private owned = false;
  private start = 0;
  private end = 0;
  private phase: Phase = 'boundary';
  /** Consecutive CRLFs seen at the current message boundary. */
  private crlfs = 0;
  /** Absolute index in `buf` where the header-end search resumes. */
  private scan = 0;
  /** Total length (header + body) of the message being completed, in phase 'body'. */
  private total = 0;
  /** Length of the header section of that message, in phase 'body'. */
  private headerLen = 0;
  /** True once the current message's first line ended (phase 'header'). */
  private lineDone = false;
  private dead = false;

  constructor(limits: SipLimits = DEFAULT_SIP_LIMITS) {
    this.limits = limits;
  }

  /** Bytes held back waiting for more input. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** The part of a message being received; 'idle' after a framing error too. */
  get stage(): FramerStage {
    if (this.dead || this.phase === 'boundary') return 'idle';
    if (this.phase === 'body') return 'body';
    return this.lineDone ? 'headers' : 'start-line';
  }

  /**
   * The header section of the message whose body is awaited (a copy), else undefined: lets a
   * message whose body never completes be answered from its Via.
   */
  pendingHeader(): Uint8Array | undefined {
    if (this.dead || this.phase !== 'body') return undefined;
    return this.buf.slice(this.start, this.start + this.headerLen);
  }

  /** True after a framing error: the framer ignores further input. */
  get failed(): boolean {
    return this.dead;
  }

  /** Feeds a chunk; returns what became complete, in stream order. */
  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    if (this.dead || chunk.length === 0) return out;
    this.append(chunk);
    for (;;) {
      let progressed: boolean;
      if (this.phase === 'boundary') progressed = this.skipBoundary(out);
      else if (this.phase === 'header') progressed = this.readHeader(out);
      else progressed = this.readBody(out);
      if (this.dead || !progressed) break;
    }
    if (this.start === this.end && !this.dead) {
      // Drop references to consumed input (and to the caller's chunk).
      this.buf = new Uint8Array(0);
      this.owned = false;
      this.start = this.end = this.scan = 0;
    } else if (!this.owned && !this.dead) {
      // Keep only the unconsumed tail of the caller's chunk, in a buffer of our own.
      const next = new Uint8Array(Math.max(1024, this.end - this.start));
      next.set(this.buf.subarray(this.start, this.end), 0);
      this.rebase(next);
    }
    return out;
  }

  private append(chunk: Uint8Array): void {
    const live = this.end - this.start;
    if (live === 0) {
      // Nothing retained: read the caller's chunk in place, copy only what is left over.
      this.buf = chunk;
      this.owned = false;
      this.scan -= this.start;
      this.start = 0;
      this.end = chunk.length;
      if (this.scan < 0) this.scan = 0;
      return;
    }
    const need = live + chunk.length;
    if (!this.owned || need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.owned ? this.buf.length * 2 : need, 1024));
      next.set(this.buf.subarray(this.start, this.end), 0);
      this.rebase(next);
    } else if (this.end + chunk.length > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.rebase(this.buf);
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private rebase(next: Uint8Array): void {
    const shift = this.start;
    this.end -= shift;
    this.scan = Math.max(0, this.scan - shift);
    this.start = 0;
    this.buf = next;
    this.owned = true;
  }

  /** RFC 3261 §7.5 / RFC 5626 §4.4.1: CRLFs between messages are skipped; two in a row are a ping. */
  private skipBoundary(out: FramerEvent[]): boolean {
    const b = this.buf;
    while (this.start < this.end) {
      const c = b[this.start];
      if (c === LF) {
        this.start += 1;
      } else if (c === CR) {
        if (this.start + 1 >= this.end) return false; // wait for the LF
        if (b[this.start + 1] !== LF) break; // a stray CR starts a (malformed) message
        this.start += 2;
      } else {
        break;
      }
      this.crlfs += 1;
      if (this.crlfs === 2) {
        this.crlfs = 0;
        out.push({ kind: 'ping' });
      }
    }
    if (this.start >= this.end) return false;
    this.crlfs = 0;
    this.phase = 'header';
    this.lineDone = false;
    this.scan = this.start;
    return true;
  }

  private readHeader(out: FramerEvent[]): boolean {
    const b = this.buf.subarray(0, this.end); // never search stale bytes past `end`
    const maxHeader = this.limits.maxHeaderBytes;
    let headerEnd = -1;
    let i = this.scan;
    for (;;) {
      const lf = b.indexOf(LF, i);
      if (lf < 0 || lf >= this.end) {
        i = this.end;
        break;
      }
      this.lineDone = true;
      // A blank line: LF LF, or LF CR LF (CRLF CRLF / tolerated bare LFs).
      if (lf + 1 >= this.end) {
        i = lf;
        break;
      }
      const n1 = b[lf + 1];
      if (n1 === LF) {
        headerEnd = lf + 2;
        break;
      }
      if (n1 === CR) {
        if (lf + 2 >= this.end) {
          i = lf;
          break;
        }
        if (b[lf + 2] === LF) {
          headerEnd = lf + 3;
          break;
        }
      }
      i = lf + 1;
    }
    if (headerEnd < 0) {
      this.scan = i;
      if (this.end - this.start > maxHeader) {
        this.fail(out, 'header-too-large', `header section exceeds ${maxHeader} bytes`, undefined);
      }
      return false;
    }
    const headerLen = headerEnd - this.start;
    const header = b.slice(this.start, headerEnd);
    if (headerLen > maxHeader) {
      this.fail(out, 'header-too-large', `header section of ${headerLen} bytes exceeds ${maxHeader}`, header);
      return false;
    }
    const cl = findContentLength(header);
    if (cl.kind === 'missing') {
      this.fail(out, 'missing-content-length', 'Content-Length is required on stream transports (RFC 3261 §18.3)', header);
      return false;
    }
    if (cl.kind === 'bad') {
      this.fail(out, 'bad-content-length', cl.detail, header);
      return false;
    }
    if (cl.value > this.limits.maxBodyBytes) {
      this.fail(out, 'body-too-large', `Content-Length ${cl.value} exceeds ${this.limits.maxBodyBytes}`, header);
      return false;
    }
    if (headerLen + cl.value > this.limits.maxMessageBytes) {
      this.fail(out, 'message-too-large', `message of ${headerLen + cl.value} bytes exceeds ${this.limits.maxMessageBytes}`, header);
      return false;
    }
    this.total = headerLen + cl.value;
    this.headerLen = headerLen;
    this.phase = 'body';
    return true;
  }

  private readBody(out: FramerEvent[]): boolean {
    if (this.end - this.start < this.total) return false;
    out.push({ kind: 'message', data: this.buf.slice(this.start, this.start + this.total) });
    this.start += this.total;
    this.total = 0;
    this.phase = 'boundary';
    return true;
  }

  private fail(out: FramerEvent[], reason: FramingErrorReason, detail: string, header: Uint8Array | undefined): void {
    out.push({ kind: 'error', reason, detail, header });
    this.dead = true;
    this.buf = new Uint8Array(0);
    this.owned = false;
    this.start = this.end = this.scan = 0;
  }
}

type ContentLength = { kind: 'ok'; value: number } | { kind: 'missing' } | { kind: 'bad'; detail: string };

/**
 * Finds Content-Length (or compact `l`, RFC 3261 §7.3.3) in a header section; folded values
 * (continuation lines, §7.3.1) are joined. Several fields must agree.
 */
export function findContentLength(header: Uint8Array): ContentLength {
  const text = latin1(header);
  const lines = text.split(/\r?\n/);
  let found: number | undefined;
  // Line 0 is the start line.
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== 'content-length' && name !== 'l') continue;
    let value = line.slice(colon + 1);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) value += ' ' + lines[++i]!;
    value = value.trim();
    if (!/^[0-9]+$/.test(value) || value.replace(/^0+(?=.)/, '').length > MAX_LENGTH_DIGITS) {
      return { kind: 'bad', detail: `malformed Content-Length '${value.slice(0, 32)}'` };
    }
    const n = Number(value);
    if (found !== undefined && found !== n) return { kind: 'bad', detail: 'conflicting Content-Length fields' };
    found = n;
  }
  return found === undefined ? { kind: 'missing' } : { kind: 'ok', value: found };
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  const STEP = 8192;
  for (let i = 0; i < bytes.length; i += STEP) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + STEP)));
  }
  return s;
}
