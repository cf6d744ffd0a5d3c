import { isDigit } from './chars.js';
import { HeaderScanner } from './header-scanner.js';
import { readNameAddr } from './name-addr.js';
import { copyNameAddr, ParseCache } from './parse-cache.js';
import { parseDeltaSeconds } from './scalar.js';
import { malformedHeader } from './sip-parse-error.js';
import type { NameAddr } from './sip-message.js';

/**
 * Contact = ( STAR / (contact-param *(COMMA contact-param)) ) (RFC 3261 §20.10), validating the
 * `expires` (delta-seconds) and `q` (qvalue) parameters.
 */
export function parseContact(value: string): '*' | NameAddr[] {
  return CONTACT_CACHE.get(value, scanContact);
}

const CONTACT_CACHE = new ParseCache<'*' | NameAddr[]>(2, (c) => (c === '*' ? c : c.map(copyNameAddr)));

function scanContact(value: string): '*' | NameAddr[] {
  const sc = new HeaderScanner(value, 'Contact');
  sc.skipLws();
  if (sc.peek() === 0x2a) {
    sc.pos++;
    sc.expectEnd();
    return '*';
  }
  const out: NameAddr[] = [];
  for (;;) {
    const na = readNameAddr(sc);
    for (const p of na.params) {
      const name = p.name.toLowerCase();
      if (name === 'expires') {
        if (p.value === undefined) throw sc.fail('expires without value');
        try {
          parseDeltaSeconds(p.value, 'Contact');
        } catch {
          throw malformedHeader('Contact', 'bad expires parameter');
        }
      } else if (name === 'q' && (p.value === undefined || !isQValue(p.value))) {
        throw malformedHeader('Contact', 'bad q parameter');
      }
    }
    out.push(na);
    sc.skipLws();
    if (sc.done) return out;
    if (sc.peek() !== 0x2c) throw sc.fail(`unexpected '${value[sc.pos]}'`);
    sc.pos++;
  }
}

/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
export function isQValue(v: string): boolean {
  const first = v.charCodeAt(0);
  if (first !== 0x30 && first !== 0x31) return false;
  if (v.length === 1) return true;
  if (v.charCodeAt(1) !== 0x2e || v.length > 5) return false;
  for (let i = 2; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (first === 0x31 ? c !== 0x30 : !isDigit(c)) return false;
  }
  return true;
}
