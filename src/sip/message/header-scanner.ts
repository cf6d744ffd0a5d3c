import { GENVALUE, TOKEN, isLws } from './chars.js';
import { malformedHeader } from './sip-parse-error.js';
import type { SipParseError } from './sip-parse-error.js';
import type { Param } from './sip-message.js';

/**
 * A cursor over one header field value (RFC 3261 §25.1 basic rules). LWS includes the CR/LF of
 * folding kept in stored values. Failures throw a 400 naming the header (`what`).
 */
export class HeaderScanner {
  pos: number;
  readonly end: number;

  constructor(
    readonly text: string,
    readonly what: string,
    start = 0,
    end = text.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Char code at the cursor, -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  fail(detail?: string): SipParseError {
    return malformedHeader(this.what, detail);
  }

  /** Skips LWS; returns true when something was skipped. */
  skipLws(): boolean {
    const start = this.pos;
    while (this.pos < this.end && isLws(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  /** Consumes `c` (after optional LWS, and LWS after it: SWS c SWS); false when not there. */
  eat(c: number): boolean {
    const save = this.pos;
    this.skipLws();
    if (this.peek() !== c) {
      this.pos = save;
      return false;
    }
    this.pos++;
    this.skipLws();
    return true;
  }

  expect(c: number, detail: string): void {
    if (!this.eat(c)) throw this.fail(detail);
  }

  /** Reads 1*chars of `set` (ASCII table); throws when empty. */
  readSet(set: Uint8Array, detail: string): string {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c >= 128 || set[c] !== 1) break;
      this.pos++;
    }
    if (this.pos === start) throw this.fail(detail);
    return this.text.slice(start, this.pos);
  }

  readToken(detail = 'token expected'): string {
    return this.readSet(TOKEN, detail);
  }

  /**
   * quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE; returns the raw text including quotes.
   * The cursor must be on the opening quote.
   */
  readQuotedRaw(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return this.text.slice(start, this.pos);
      }
      if (c === 0x5c) {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
        const n = this.pos + 1 < this.end ? this.text.charCodeAt(this.pos + 1) : -1;
        if (n < 0 || n === 0x0a || n === 0x0d || n > 0x7f) throw this.fail('bad quoted-pair');
        this.pos += 2;
        continue;
      }
      // qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII: no other controls
      if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) throw this.fail('control character in quoted string');
      this.pos++;
    }
    throw this.fail('unterminated quoted string');
  }

  /**
   * generic-param list: *( SEMI name [ EQUAL gen-value ] ), stopping before `,` or the end.
   * Values are kept as written (quoted strings with their quotes).
   */
  readParams(out: Param[]): void {
    for (;;) {
      const save = this.pos;
      this.skipLws();
      if (this.peek() !== 0x3b) {
        this.pos = save;
        return;
      }
      this.pos++;
      this.skipLws();
      const name = this.readToken('parameter name expected');
      let value: string | undefined;
      if (this.eat(0x3d)) {
        value = this.peek() === 0x22 ? this.readQuotedRaw() : this.readSet(GENVALUE, `value of ${name} expected`);
      }
      out.push({ name, value });
    }
  }

  /** Throws unless only LWS is left. */
  expectEnd(): void {
    this.skipLws();
    if (this.pos < this.end) throw this.fail(`unexpected '${this.text[this.pos]}'`);
  }
}

/** Unescapes a quoted-string's raw text (with quotes): quoted-pairs become their character. */
export function unquote(raw: string): string {
  const inner = raw.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let s = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === '\\' && i + 1 < inner.length) s += inner[++i];
    else s += ch;
  }
  return s;
}

/** Quotes `s` as a quoted-string, escaping '"', '\' and control characters (CR/LF become SP). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) out += ' ';
    else if (c === 0x22 || c === 0x5c || c < 0x20 || c === 0x7f) {
      out += '\\' + s[i];
    } else out += s[i];
  }
  return out + '"';
}
