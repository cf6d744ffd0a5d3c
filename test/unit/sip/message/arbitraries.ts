/** fast-check generators of SIP values and whole messages (for property tests and the fuzzer). */
import fc from 'fast-check';
import { formatNameAddr, formatVia, SipHeaders } from '../../../../src/sip/message/index.js';
import type { NameAddr, Param, SipMessage, SipRequest, SipResponse, SipUri, TelUri, OtherUri, Uri, Via } from '../../../../src/sip/message/index.js';

/** Plain-prototype records (fast-check 4 defaults to null-prototype objects, which deepStrictEqual tells apart). */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true });

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const chars = (set: string, min = 1, max = 12): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...set), minLength: min, maxLength: max });
const escaped = fc.tuple(fc.constantFrom(...'0123456789abcdefABCDEF'), fc.constantFrom(...'0123456789ABCDEF')).map(([a, b]) => `%${a}${b}`);
const withEscapes = (set: string, min = 1, max = 8): fc.Arbitrary<string> =>
  fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...set) }, { weight: 1, arbitrary: escaped }), { minLength: min, maxLength: max }).map((a) => a.join(''));

export const token = chars(ALNUM + "-.!%*_+`'~");
const paramchar = ALNUM + "-_.!~*'()[]/:&+$";
const userChars = ALNUM + "-_.!~*'()&=+$,;?/";
const passwordChars = ALNUM + "-_.!~*'()&=+$,";
const hnv = ALNUM + "-_.!~*'()[]/?:+$";

const label = fc.tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), chars(ALNUM + '-', 0, 8)).map(([a, b]) => a + b.replace(/-+$/, ''));
export const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
export const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
export const ipv6 = fc.array(fc.nat(0xffff).map((n) => n.toString(16)), { minLength: 1, maxLength: 6 }).map((a) => `[2001:db8::${a.join(':')}]`);
export const host = fc.oneof(hostname, ipv4, ipv6);
const port = fc.option(fc.nat(65535), { nil: undefined });

const uriParam: fc.Arbitrary<Param> = rec({ name: withEscapes(paramchar), value: fc.option(withEscapes(paramchar), { nil: undefined }) });
const uriHeaders = fc
  .array(fc.tuple(withEscapes(hnv), withEscapes(hnv, 0)), { minLength: 1, maxLength: 3 })
  .map((hs) => hs.map(([n, v]) => `${n}=${v}`).join('&'));

export const sipUri = (allowHeaders = true): fc.Arbitrary<SipUri> =>
  rec({
    scheme: fc.constantFrom('sip' as const, 'sips' as const),
    user: fc.option(withEscapes(userChars), { nil: undefined }),
    password: fc.constant(undefined) as fc.Arbitrary<string | undefined>,
    host,
    port,
    params: fc.array(uriParam, { maxLength: 4 }),
    headers: allowHeaders ? fc.option(uriHeaders, { nil: undefined }) : fc.constant(undefined),
  }).chain((u) =>
    u.user === undefined ? fc.constant(u) : fc.option(withEscapes(passwordChars, 0), { nil: undefined }).map((password) => ({ ...u, password })),
  );

export const telUri: fc.Arbitrary<TelUri> = rec({
  scheme: fc.constant('tel' as const),
  number: fc.oneof(chars('0123456789', 1, 12).map((d) => '+' + d), chars('0123456789abcdef*#-.()', 1, 10).filter((s) => /[0-9a-f*#]/.test(s))),
  params: fc.array(rec({ name: chars(ALNUM + '-'), value: fc.option(withEscapes(paramchar), { nil: undefined }) }), { maxLength: 3 }),
});

export const otherUri: fc.Arbitrary<OtherUri> = fc
  .tuple(fc.constantFrom('urn', 'http', 'isbn', 'mailto', 'x-y.z+1'), withEscapes(ALNUM + ";/?:@&=+$,-_.!~*'()"))
  .filter(([, rest]) => !rest.startsWith('@') || true)
  .map(([scheme, rest]) => ({ scheme, raw: `${scheme}:${rest}` }));

export const anyUri = (allowHeaders = true): fc.Arbitrary<Uri> => fc.oneof({ weight: 4, arbitrary: sipUri(allowHeaders) }, telUri, otherUri);

const genValue = fc.oneof(token, ipv4, ipv6, fc.string({ maxLength: 8 }).filter((s) => !/[\r\n"\\\x00-\x1f\x7f]/.test(s)).map((s) => `"${s}"`));
const headerParam: fc.Arbitrary<Param> = rec({ name: token, value: fc.option(genValue, { nil: undefined }) });

export const via: fc.Arbitrary<Via> = rec({
  protocol: fc.constant('SIP/2.0'),
  transport: fc.constantFrom('UDP', 'TCP', 'TLS', 'WS', 'WSS', 'SCTP', 'X-NEW'),
  host,
  port,
  params: fc
    .tuple(
      token.map((t) => ({ name: 'branch', value: 'z9hG4bK' + t })),
      fc.option(fc.constant({ name: 'rport', value: undefined }), { nil: undefined }),
      fc.option(ipv4.map((a) => ({ name: 'received', value: a })), { nil: undefined }),
      fc.array(headerParam.filter((p) => !['branch', 'rport', 'received', 'ttl', 'maddr'].includes(p.name.toLowerCase())), { maxLength: 2 }),
    )
    .map(([b, r, rc, rest]) => [b, ...(r ? [r] : []), ...(rc ? [rc] : []), ...rest] as Param[]),
});

const displayName = fc.option(
  fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !/[\r\n]/.test(s)),
  { nil: undefined },
);

export const nameAddr = (tag: boolean): fc.Arbitrary<NameAddr> =>
  rec({
    displayName,
    uri: anyUri(true),
    params: fc.tuple(tag ? token.map((t) => [{ name: 'tag', value: t }]) : fc.constant([]), fc.array(headerParam.filter((p) => p.name.toLowerCase() !== 'tag' && p.name.toLowerCase() !== 'expires' && p.name.toLowerCase() !== 'q'), { maxLength: 2 })).map(([a, b]) => [...a, ...b] as Param[]),
  });

const callIdArb = fc.tuple(chars(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}", 1, 20), fc.option(chars(ALNUM + '.-', 1, 12), { nil: undefined })).map(([a, b]) => (b === undefined ? a : `${a}@${b}`));

/** A header value of an extension header: printable UTF-8, sometimes folded, trimmed. */
const extValue = fc
  .array(fc.string({ unit: 'grapheme', maxLength: 10 }).filter((s) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(s)), { maxLength: 3 })
  .map((parts) => parts.join('\r\n ').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''));
const extHeader = fc.tuple(token.map((t) => `X-${t}`), extValue);

function headersOf(vias: Via[], from: NameAddr, to: NameAddr, cid: string, seq: number, method: string, extra: Array<[string, string]>, body: Uint8Array): SipHeaders {
  const h = new SipHeaders();
  for (const v of vias) h.append('Via', formatVia(v));
  h.append('Max-Forwards', '70');
  h.append('From', formatNameAddr(from));
  h.append('To', formatNameAddr(to));
  h.append('Call-ID', cid);
  h.append('CSeq', `${seq} ${method}`);
  for (const [n, v] of extra) h.append(n, v);
  h.append('Content-Length', String(body.length));
  return h;
}

const common = rec({
  vias: fc.array(via, { minLength: 1, maxLength: 3 }),
  from: nameAddr(true),
  to: nameAddr(false),
  cid: callIdArb,
  seq: fc.nat(2 ** 31 - 1),
  extra: fc.array(extHeader, { maxLength: 4 }),
  body: fc.uint8Array({ maxLength: 300 }),
});

export const request: fc.Arbitrary<SipRequest> = rec({ c: common, method: token, uri: fc.oneof({ weight: 4, arbitrary: sipUri(false) }, telUri, otherUri) }).map(({ c, method, uri }) => ({
  kind: 'request',
  method,
  uri,
  version: 'SIP/2.0',
  headers: headersOf(c.vias, c.from, c.to, c.cid, c.seq, method, c.extra, c.body),
  body: c.body,
}));

const reason = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(s));

export const response: fc.Arbitrary<SipResponse> = rec({ c: common, method: token, status: fc.integer({ min: 100, max: 699 }), reason }).map(({ c, method, status, reason }) => ({
  kind: 'response',
  status,
  reason,
  version: 'SIP/2.0',
  headers: headersOf(c.vias, c.from, c.to, c.cid, c.seq, method, c.extra, c.body),
  body: c.body,
}));

export const message: fc.Arbitrary<SipMessage> = fc.oneof(request, response);
