import { isIn, isToken, TOKEN } from './chars.js';
import { HeaderScanner, quote, unquote } from './header-scanner.js';
import { formatParams } from './params.js';
import { copyNameAddr, ParseCache } from './parse-cache.js';
import { malformedHeader, SipParseError } from './sip-parse-error.js';
import { formatUri, parseUri } from './uri.js';
import type { NameAddr, Uri } from './sip-message.js';

/**
 * Parses `name-addr / addr-spec` followed by header parameters (From, To, Contact, Route,
 * Record-Route, Reply-To…). In addr-spec form the URI ends at the first ';' (RFC 3261 §20.10:
 * the parameters belong to the header) and may not contain '?' or ',' (RFC 3261 §20).
 */
export function parseNameAddr(value: string, header = 'name-addr'): NameAddr {
  return NAME_ADDR_CACHE.get(value, () => {
    const sc = new HeaderScanner(value, header);
    const na = readNameAddr(sc);
    sc.expectEnd();
    return na;
  });
}

/** From and To of the message in hand, and of its response. */
const NAME_ADDR_CACHE = new ParseCache<NameAddr>(6, copyNameAddr);

/** A comma-separated list of name-addr / addr-spec (commas inside quotes or <> do not separate). */
export function parseNameAddrList(value: string, header = 'name-addr'): NameAddr[] {
  const sc = new HeaderScanner(value, header);
  const out: NameAddr[] = [];
  for (;;) {
    out.push(readNameAddr(sc));
    sc.skipLws();
    if (sc.done) return out;
    if (sc.peek() !== 0x2c) throw sc.fail(`unexpected '${value[sc.pos]}'`);
    sc.pos++;
  }
}

/** Always the `<>` form: `"Display Name" <uri>;params`. */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName === undefined ? '' : `${quote(na.displayName)} `;
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

export function readNameAddr(sc: HeaderScanner): NameAddr {
  sc.skipLws();
  const text = sc.text;
  let displayName: string | undefined;
  let uri: Uri;
  let angle = false;
  if (sc.peek() === 0x22) {
    displayName = unquote(sc.readQuotedRaw());
    sc.skipLws();
    if (sc.peek() !== 0x3c) throw sc.fail("'<' expected after display name");
    angle = true;
  } else if (sc.peek() === 0x3c) {
    angle = true;
  } else {
    // display-name = *(token LWS): tokens up to '<', else this is an addr-spec
    const save = sc.pos;
    let words = '';
    while (isIn(TOKEN, sc.peek())) {
      const w = sc.readToken();
      words = words === '' ? w : `${words} ${w}`;
      sc.skipLws();
    }
    if (sc.peek() === 0x3c && words !== '') {
      displayName = words;
      angle = true;
    } else {
      sc.pos = save;
    }
  }
  if (angle) {
    // LAQUOT addr-spec RAQUOT: no LWS inside the brackets (RFC 4475 §3.1.2.14 badaspec)
    const start = sc.pos + 1;
    const gt = text.indexOf('>', start);
    if (gt < 0 || gt >= sc.end) throw sc.fail("'>' expected");
    uri = uriIn(text.slice(start, gt), sc.what);
    sc.pos = gt + 1;
  } else {
    const start = sc.pos;
    let i = start;
    while (i < sc.end) {
      const c = text.charCodeAt(i);
      if (c === 0x3b || c === 0x2c || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
      if (c === 0x3f) throw malformedHeader(sc.what, "addr-spec with '?' must be enclosed in <>");
      i++;
    }
    if (i === start) throw sc.fail('URI expected');
    uri = uriIn(text.slice(start, i), sc.what);
    sc.pos = i;
  }
  const params: NameAddr['params'] = [];
  sc.readParams(params);
  for (const p of params) {
    if (p.name.length === 3 && p.name.toLowerCase() === 'tag' && (p.value === undefined || !isToken(p.value))) {
      throw sc.fail('bad tag');
    }
  }
  return { displayName, uri, params };
}

function uriIn(text: string, header: string): Uri {
  try {
    return parseUri(text);
  } catch (e) {
    if (e instanceof SipParseError) throw malformedHeader(header, e.message.slice(e.reason.length + 2));
    throw e;
  }
}
