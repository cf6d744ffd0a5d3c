import { isUtf8 } from 'node:buffer';
import { TOKEN } from './chars.js';
import { SipHeaders } from './sip-headers.js';
import { SipParseError } from './sip-parse-error.js';
import type { SipLimits } from './sip-message.js';

/** The header section of one message, split into a start line and raw fields. */
export interface HeaderSection {
  /** undefined when none could be read (see `error`). */
  startLine: string | undefined;
  /** Fields as written, values trimmed with folding kept. */
  headers: SipHeaders;
  /** Offset of the body in the input; -1 when no empty line ends the header section. */
  bodyStart: number;
  /** First problem met (limits, framing, malformed line); fields read before it are kept. */
  error: SipParseError | undefined;
}

function tooLarge(what: string): SipParseError {
  return new SipParseError(413, `Request Entity Too Large - ${what}`);
}

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Locates the header section (RFC 3261 §7: start-line *message-header CRLF), bounded by
 * `limits.maxHeaderBytes`, and splits it into lines: CRLF or bare LF line ends (§7 robustness),
 * leading CRLFs skipped (§7.5), folded continuation lines joined into their field with the
 * folding kept as received. Never throws.
 */
export function readHeaderSection(buf: Buffer, limits: SipLimits): HeaderSection {
  const section: HeaderSection = { startLine: undefined, headers: new SipHeaders(), bodyStart: -1, error: undefined };
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const hardEnd = Math.min(buf.length, start + limits.maxHeaderBytes);
  let textEnd = -1;
  let nl = buf.indexOf(0x0a, start);
  while (nl >= 0 && nl < hardEnd) {
    const n1 = nl + 1;
    if (n1 < hardEnd && buf[n1] === 0x0a) {
      textEnd = n1;
      section.bodyStart = n1 + 1;
      break;
    }
    if (n1 + 1 < hardEnd && buf[n1] === 0x0d && buf[n1 + 1] === 0x0a) {
      textEnd = n1;
      section.bodyStart = n1 + 2;
      break;
    }
    nl = buf.indexOf(0x0a, n1);
  }
  if (textEnd < 0) {
    if (hardEnd < buf.length) {
      section.error = tooLarge(`Header section over ${limits.maxHeaderBytes} bytes`);
      const last = buf.lastIndexOf(0x0a, hardEnd - 1);
      textEnd = last >= start ? last + 1 : hardEnd;
    } else {
      section.error = new SipParseError(400, 'Bad Request - Missing empty line after header section');
      textEnd = buf.length;
    }
  }
  if (start >= buf.length) {
    section.error = new SipParseError(400, 'Bad Request - Empty message');
    return section;
  }
  const raw = buf.subarray(start, textEnd);
  if (!isUtf8(raw)) section.error ??= new SipParseError(400, 'Bad Request - Header section is not UTF-8');
  splitLines(raw.toString('utf8'), limits, section);
  return section;
}

function splitLines(text: string, limits: SipLimits, section: HeaderSection): void {
  const n = text.length;
  const headers = section.headers;
  let pos = 0;
  // the field being assembled: [fStart, fEnd) with its name ending at nameEnd, value from valueStart
  let fStart = -1;
  let nameEnd = 0;
  let valueStart = 0;
  let fEnd = 0;
  let nextCr = -1;
  let error: SipParseError | undefined;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    let le = eol;
    if (le > pos && text.charCodeAt(le - 1) === 0x0d) le--;
    if (nextCr < pos) {
      nextCr = text.indexOf('\r', pos);
      if (nextCr < 0) nextCr = n;
    }
    if (nextCr < le) {
      error = new SipParseError(400, 'Bad Request - Bare CR in header section');
      break;
    }
    if (section.startLine === undefined) {
      if (overLine(text, pos, le, limits.maxLineLength)) {
        error = tooLarge(`Start line over ${limits.maxLineLength} bytes`);
        break;
      }
      section.startLine = text.slice(pos, le);
    } else if (isWsp(text.charCodeAt(pos))) {
      // folded continuation (LWS): belongs to the field above
      if (fStart < 0) {
        error = new SipParseError(400, 'Bad Request - Malformed header line');
        break;
      }
      fEnd = le;
    } else {
      if (fStart >= 0) {
        error = emit(text, fStart, nameEnd, valueStart, fEnd, limits, headers);
        fStart = -1;
        if (error !== undefined) break;
      }
      // message-header = field-name *(SP / HTAB) ":" value
      let i = pos;
      let c = text.charCodeAt(i);
      while (i < le && c < 128 && TOKEN[c] === 1) c = text.charCodeAt(++i);
      let j = i;
      while (j < le && isWsp(text.charCodeAt(j))) j++;
      if (i === pos || j >= le || text.charCodeAt(j) !== 0x3a) {
        error = new SipParseError(400, 'Bad Request - Malformed header line');
        break;
      }
      fStart = pos;
      nameEnd = i;
      valueStart = j + 1;
      fEnd = le;
    }
    pos = eol + 1;
  }
  if (error === undefined && fStart >= 0) error = emit(text, fStart, nameEnd, valueStart, fEnd, limits, headers);
  if (error !== undefined) section.error ??= error;
}

/** Appends one complete field (value trimmed, folding kept); a limit exceeded is returned. */
function emit(text: string, fStart: number, nameEnd: number, valueStart: number, fEnd: number, limits: SipLimits, headers: SipHeaders): SipParseError | undefined {
  if (overLine(text, fStart, fEnd, limits.maxLineLength)) return tooLarge(`Header line over ${limits.maxLineLength} bytes`);
  if (headers.size >= limits.maxHeaderCount) return tooLarge(`More than ${limits.maxHeaderCount} header fields`);
  let vs = valueStart;
  let ve = fEnd;
  while (vs < ve && isLwsAt(text, vs)) vs++;
  while (ve > vs && isLwsAt(text, ve - 1)) ve--;
  headers.append(text.slice(fStart, nameEnd), text.slice(vs, ve));
  return undefined;
}

/** Whether text[start, end) is longer than `max` UTF-8 bytes (counted only when it may be). */
function overLine(text: string, start: number, end: number, max: number): boolean {
  const units = end - start;
  if (units > max) return true;
  return units * 3 > max && Buffer.byteLength(text.slice(start, end), 'utf8') > max;
}

function isLwsAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}
