import { isHex } from './chars.js';

function hexVal(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes `%HH` escapes (RFC 3261 §19.1.2, §25.1 `escaped`). Escaped octets that form UTF-8 are
 * decoded as UTF-8, otherwise each octet becomes one latin1 character; a `%` not followed by two
 * hex digits is kept as is.
 */
export function unescape(text: string): string {
  let i = text.indexOf('%');
  if (i < 0) return text;
  let out = text.slice(0, i);
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const bytes: number[] = [];
      while (i + 2 < text.length && text.charCodeAt(i) === 0x25 && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
        bytes.push(hexVal(text.charCodeAt(i + 1)) * 16 + hexVal(text.charCodeAt(i + 2)));
        i += 3;
      }
      out += decodeOctets(bytes);
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

function decodeOctets(bytes: number[]): string {
  let ascii = true;
  for (const b of bytes) if (b >= 0x80) ascii = false;
  if (!ascii) {
    try {
      return utf8.decode(Uint8Array.from(bytes));
    } catch {
      // not UTF-8: one latin1 character per octet
    }
  }
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** RFC 2396 `reserved`: these stay escaped when escapes are normalised for comparison. */
const RESERVED = ';/?:@&=+$,';

/**
 * Normalises escapes for comparison (RFC 3261 §19.1.4: characters other than reserved ones are
 * equivalent to their escaped form): unreserved escapes are decoded, reserved ones kept with
 * uppercase hex.
 */
export function normalizeEscapes(text: string): string {
  if (text.indexOf('%') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const v = hexVal(text.charCodeAt(i + 1)) * 16 + hexVal(text.charCodeAt(i + 2));
      const ch = String.fromCharCode(v);
      out += v < 0x80 && v > 0x20 && !RESERVED.includes(ch) && ch !== '%' ? ch : '%' + text.slice(i + 1, i + 3).toUpperCase();
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}
