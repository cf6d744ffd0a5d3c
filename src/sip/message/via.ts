import { HOSTNAME, isDigit, isIn, isToken } from './chars.js';
import { HeaderScanner } from './header-scanner.js';
import { formatParams } from './params.js';
import { copyVias, ParseCache } from './parse-cache.js';
import { randomToken } from '../../lib/random.js';
import type { Random } from '../../lib/random.js';
import { portNumber, scanIpv6 } from './uri.js';
import type { Param, Via } from './sip-message.js';

/** RFC 3261 §8.1.1.7: branch IDs of RFC 3261 elements start with this magic cookie. */
export const BRANCH_COOKIE = 'z9hG4bK';

/** A fresh branch: the magic cookie plus 16 random token characters (≈ 82 bits). */
export function generateBranch(random: Random): string {
  return BRANCH_COOKIE + randomToken(random, 16);
}

/**
 * Parses one Via header field value into its via-parms (RFC 3261 §20.42, §25.1):
 * `sent-protocol LWS sent-by *( SEMI via-params )`, comma-separated. Validates branch (token),
 * received (IPv4 or IPv6, brackets tolerated: RFC 5118 §4.5), rport (RFC 3581), ttl, maddr.
 */
export function parseVia(value: string): Via[] {
  return VIA_CACHE.get(value, scanVias);
}

const VIA_CACHE = new ParseCache<Via[]>(4, copyVias);

function scanVias(value: string): Via[] {
  const sc = new HeaderScanner(value, 'Via');
  const out: Via[] = [];
  sc.skipLws();
  for (;;) {
    out.push(readViaParm(sc));
    sc.skipLws();
    if (sc.done) return out;
    if (sc.peek() !== 0x2c) throw sc.fail(`unexpected '${value[sc.pos]}'`);
    sc.pos++;
    sc.skipLws();
  }
}

/**
 * Best-effort reading of the first via-parm of a malformed Via value, for answering a bad
 * request (RFC 3261 §18.2.2 needs sent-by): parameters are kept up to the first broken one.
 */
export function parseTopViaLenient(value: string): Via | undefined {
  const sc = new HeaderScanner(value, 'Via');
  try {
    sc.skipLws();
    const via = readSentBy(sc);
    try {
      sc.readParams(via.params);
    } catch {
      // keep the parameters read so far
    }
    via.params = via.params.filter((p) => validParam(p));
    return via;
  } catch {
    return undefined;
  }
}

function readSentBy(sc: HeaderScanner): Via {
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  const name = sc.readToken('protocol name expected');
  sc.expect(0x2f, "'/' expected");
  const version = sc.readToken('protocol version expected');
  sc.expect(0x2f, "'/' expected");
  const transport = sc.readToken('transport expected').toUpperCase();
  if (!sc.skipLws()) throw sc.fail('LWS expected before sent-by');
  // sent-by = host [ COLON port ]
  const text = sc.text;
  const hs = sc.pos;
  if (sc.peek() === 0x5b) {
    const close = scanIpv6(text, hs);
    if (close < 0 || close >= sc.end) throw sc.fail('bad IPv6 reference');
    sc.pos = close + 1;
  } else {
    while (sc.pos < sc.end && isIn(HOSTNAME, text.charCodeAt(sc.pos))) sc.pos++;
    if (sc.pos === hs) throw sc.fail('host expected');
  }
  const host = text.slice(hs, sc.pos);
  let port: number | undefined;
  if (sc.eat(0x3a)) {
    const ps = sc.pos;
    while (sc.pos < sc.end && isDigit(text.charCodeAt(sc.pos))) sc.pos++;
    const v = portNumber(text, ps, sc.pos);
    if (v < 0) throw sc.fail('bad port');
    port = v;
  }
  return { protocol: `${name}/${version}`, transport, host, port, params: [] };
}

function readViaParm(sc: HeaderScanner): Via {
  const via = readSentBy(sc);
  sc.readParams(via.params);
  for (const p of via.params) if (!validParam(p)) throw sc.fail(`bad ${p.name} parameter`);
  return via;
}

/** via-params checks (RFC 3261 §20.42, RFC 3581 §3, RFC 5118 §4.5). */
function validParam(p: Param): boolean {
  const v = p.value;
  switch (p.name.toLowerCase()) {
    case 'branch':
      return v !== undefined && isToken(v);
    case 'received':
      return v !== undefined && isIpAddress(v);
    case 'rport':
      return v === undefined || portNumber(v, 0, v.length) >= 0;
    case 'ttl':
      return v !== undefined && v.length <= 3 && portNumber(v, 0, v.length) >= 0 && Number(v) <= 255;
    case 'maddr':
      return v !== undefined && v.charCodeAt(0) !== 0x22;
    default:
      return true;
  }
}

/** IPv4address / IPv6address, the latter with or without brackets (RFC 5118 §4.5). */
function isIpAddress(v: string): boolean {
  if (v.charCodeAt(0) === 0x5b) return scanIpv6(v, 0) === v.length - 1;
  if (v.includes(':')) return scanIpv6(`[${v}]`, 0) === v.length + 1;
  let parts = 0;
  let digits = 0;
  let octet = 0;
  for (let i = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || octet > 255) return false;
      parts++;
      digits = 0;
      octet = 0;
    } else if (isDigit(c) && digits < 3) {
      octet = octet * 10 + (c - 0x30);
      digits++;
    } else return false;
  }
  return parts === 4;
}

/** `SIP/2.0/UDP host:port;params` */
export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${via.host}${port}${formatParams(via.params)}`;
}
