/**
 * Every message of RFC 4475 Appendix A and RFC 5118 Appendix A (test/fixtures/torture/index.tsv)
 * through parseMessage. "valid" → ok; "invalid: reject" → !ok with a ready error response of the
 * given status; "drop the response" → !ok, no response. Semantic cases (RFC 4475 §3.3) parse
 * unless the rule broken is one of the parser's (mandatory/single-valued fields, framing); each
 * such decision carries a `why` paraphrasing the RFC 4475 section it follows.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { callId, cseqOf, fromTag, isSipUri, paramValue, parseContact, parseMessage, parseNameAddr, parseVia, toTag, topVia, unescape, uriEquals } from '../../../../src/sip/message/index.js';
import type { ParseResult, SipMessage, SipRequest, SipUri } from '../../../../src/sip/message/index.js';

const DIR = fileURLToPath(new URL('../../../fixtures/torture/', import.meta.url));
const load = (file: string): Buffer => readFileSync(DIR + file);

/** ok: parses; a number: rejected with a response of that status; 'drop': rejected, no response. */
type Expect = 'ok' | number | 'drop';

interface Case {
  expect: Expect;
  /** Extra checks on the parsed message. */
  check?: (m: SipMessage) => void;
  /** Why, for the non-obvious verdicts (RFC 4475 section text, paraphrased). */
  why?: string;
}

const req = (m: SipMessage): SipRequest => {
  assert.equal(m.kind, 'request');
  return m as SipRequest;
};

const CASES: Record<string, Case> = {
  // RFC 4475 §3.1.1 valid messages
  'rfc4475/wsinv.sip': {
    expect: 'ok',
    check: (m) => {
      const r = req(m);
      assert.equal(r.method, 'INVITE');
      assert.equal(m.headers.get('max-forwards'), '0068');
      assert.deepEqual(cseqOf(m), { seq: 9, method: 'INVITE' });
      assert.equal(toTag(m), '1918181833n');
      assert.equal(fromTag(m), '98asjd8');
      const from = parseNameAddr(m.headers.get('from')!);
      assert.equal(from.displayName, 'J Rosenberg \\"');
      const vias = m.headers.getAll('via').flatMap((v) => parseVia(v));
      assert.equal(vias.length, 3);
      assert.deepEqual(vias.map((v) => [v.protocol, v.transport, v.host]), [
        ['SIP/2.0', 'UDP', '192.0.2.2'],
        ['SIP/2.0', 'TCP', 'spindle.example.com'],
        ['SIP/2.0', 'UDP', '192.168.255.111'],
      ]);
      assert.equal(paramValue(vias[2]!.params, 'branch'), 'z9hG4bK30239');
      // unknown header kept verbatim, folding included
      assert.equal(m.headers.get('NewFangledHeader'), 'newfangled value\r\n continued newfangled value');
      assert.equal(m.headers.get('subject'), '');
      const contact = parseContact(m.headers.get('contact')!);
      assert.ok(contact !== '*');
      assert.equal(contact[0]!.displayName, 'Quoted string ""');
      assert.equal(paramValue(contact[0]!.params, 'q'), '0.33');
      assert.equal(paramValue(contact[0]!.params, 'secondparam'), '');
      assert.equal(m.body.length, 150);
    },
  },
  'rfc4475/intmeth.sip': {
    expect: 'ok',
    check: (m) => {
      const r = req(m);
      assert.equal(r.method, "!interesting-Method0123456789_*+`.%indeed'~");
      const uri = r.uri as SipUri;
      assert.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      assert.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
      assert.equal(uri.host, 'example.com');
      assert.equal(parseNameAddr(m.headers.get('to')!).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
      assert.equal(fromTag(m), "_token~1'+`*%!-.");
      assert.equal(parseNameAddr(m.headers.get('from')!).displayName, "token1~` token2'+_ token3*%!.-");
      assert.equal(callId(m), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      assert.equal(m.headers.get("extensionHeader-!.%*+_`'~"), '\uFEFF大停電');
    },
  },
  'rfc4475/esc01.sip': {
    expect: 'ok',
    check: (m) => {
      const uri = req(m).uri as SipUri;
      assert.equal(unescape(uri.user!), 'sips:user@example.com');
      const to = parseNameAddr(m.headers.get('to')!).uri as SipUri;
      assert.equal(unescape(to.user!), 'user');
      assert.ok(uriEquals(to, parseNameAddr('<sip:user@example.com>').uri));
    },
  },
  'rfc4475/escnull.sip': {
    expect: 'ok',
    check: (m) => assert.equal(unescape((parseNameAddr(m.headers.get('to')!).uri as SipUri).user!), 'null-\x00-null'),
  },
  'rfc4475/esc02.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(req(m).method, 'RE%47IST%45R');
      assert.equal(m.headers.count('contact'), 2, "'C%6Fntact' is another header, not Contact");
      assert.equal(m.headers.get('C%6Fntact'), '<sip:alias2@host2.example.com>');
    },
  },
  'rfc4475/lwsdisp.sip': { expect: 'ok', check: (m) => assert.equal(parseNameAddr(m.headers.get('from')!).displayName, 'caller') },
  'rfc4475/longreq.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(m.headers.count('via'), 34);
      assert.equal(topVia(m).host, 'sip33.example.com');
    },
  },
  'rfc4475/dblreq.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(req(m).method, 'REGISTER');
      assert.equal(m.body.length, 0);
    },
  },
  'rfc4475/semiuri.sip': {
    expect: 'ok',
    check: (m) => {
      const uri = req(m).uri as SipUri;
      assert.equal(uri.user, 'user;par=u%40example.net');
      assert.equal(uri.host, 'example.com');
      assert.deepEqual(uri.params, []);
    },
  },
  'rfc4475/transports.sip': {
    expect: 'ok',
    check: (m) => assert.deepEqual(m.headers.getAll('via').map((v) => parseVia(v)[0]!.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']),
  },
  'rfc4475/mpart01.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(m.body.length, Number(m.headers.get('content-length')));
      assert.ok(m.body.includes(0), 'binary body with NULs kept');
    },
  },
  'rfc4475/unreason.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(m.kind, 'response');
      if (m.kind === 'response') {
        assert.equal(m.status, 200);
        assert.ok(m.reason.startsWith('= 2**3 * 5**2 но сто девяносто девять'));
      }
    },
  },
  'rfc4475/noreason.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(m.kind, 'response');
      if (m.kind === 'response') assert.deepEqual([m.status, m.reason], [100, '']);
    },
  },
  // RFC 4475 §3.1.2 invalid messages
  'rfc4475/badinv01.sip': { expect: 400 },
  'rfc4475/clerr.sip': { expect: 400 },
  'rfc4475/ncl.sip': { expect: 400 },
  'rfc4475/scalar02.sip': { expect: 400 },
  'rfc4475/scalarlg.sip': { expect: 'drop' },
  'rfc4475/quotbal.sip': { expect: 400 },
  'rfc4475/ltgtruri.sip': { expect: 400 },
  'rfc4475/lwsruri.sip': { expect: 400 },
  'rfc4475/lwsstart.sip': { expect: 400 },
  'rfc4475/trws.sip': { expect: 400 },
  'rfc4475/escruri.sip': { expect: 400 },
  'rfc4475/baddate.sip': {
    expect: 'ok',
    why: 'RFC 4475 §3.1.2.12: a non-GMT Date may be rejected, or the element may treat the Date header as absent; Date plays no part in routing, so the parser keeps it unvalidated and the message parses.',
    check: (m) => assert.equal(m.headers.get('date'), 'Fri, 01 Jan 2010 16:00:00 EST'),
  },
  'rfc4475/regbadct.sip': { expect: 400, why: "RFC 3261 §20: a URI with ',', '?' or ';' must be in <>; the Contact addr-spec carries '?'" },
  'rfc4475/badaspec.sip': { expect: 400, why: 'RFC 4475 §3.1.2.14: LWS inside <> — leniency is allowed, this parser rejects' },
  'rfc4475/baddn.sip': { expect: 400, why: 'the archive copy lacks the empty line (400 for that); with it, the display name is rejected (below)' },
  'rfc4475/badvers.sip': { expect: 505 },
  'rfc4475/mismatch01.sip': { expect: 400 },
  'rfc4475/mismatch02.sip': { expect: 400 },
  'rfc4475/bigcode.sip': { expect: 'drop' },
  // RFC 4475 §3.2, §3.3: transaction/application semantics
  'rfc4475/badbranch.sip': {
    expect: 'ok',
    why: 'RFC 4475 §3.2.1: branch is only the cookie; the transaction layer decides (RFC 2543 matching or 400), the parser must not',
    check: (m) => assert.equal(paramValue(topVia(m).params, 'branch'), 'z9hG4bK'),
  },
  'rfc4475/insuf.sip': { expect: 400, why: 'RFC 4475 §3.3.1: From, To, Call-ID (and Max-Forwards) missing — mandatory fields are a parser rule' },
  'rfc4475/unkscm.sip': {
    expect: 'ok',
    why: 'RFC 4475 §3.3.2: the core answers 416',
    check: (m) => assert.deepEqual(req(m).uri, { scheme: 'nobodyknowsthisscheme', raw: 'nobodyKnowsThisScheme:totallyopaquecontent' }),
  },
  'rfc4475/novelsc.sip': { expect: 'ok', why: 'RFC 4475 §3.3.3: the core answers 416', check: (m) => assert.equal(req(m).uri.scheme, 'soap.beep') },
  'rfc4475/unksm2.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(parseNameAddr(m.headers.get('to')!).uri.scheme, 'isbn');
      assert.equal(parseNameAddr(m.headers.get('from')!).uri.scheme, 'http');
    },
  },
  'rfc4475/bext01.sip': { expect: 'ok', why: 'RFC 4475 §3.3.5: the core answers 420 with Unsupported' },
  'rfc4475/invut.sip': { expect: 'ok', why: 'RFC 4475 §3.3.6: the UAS answers 415' },
  'rfc4475/regaut01.sip': { expect: 'ok', why: 'RFC 4475 §3.3.7: the registrar challenges (401)' },
  'rfc4475/multi01.sip': { expect: 400, why: 'RFC 4475 §3.3.8: several values in single-value fields (CSeq, Call-ID, To, From) — a parser rule' },
  'rfc4475/mcl01.sip': { expect: 400, why: 'RFC 4475 §3.3.9: two Content-Length values, framing is ambiguous' },
  'rfc4475/bcast.sip': { expect: 'ok', why: 'RFC 4475 §3.3.10: the core never relays toward 255.255.255.255' },
  'rfc4475/zeromf.sip': { expect: 'ok', why: 'RFC 4475 §3.3.11: a proxy answers 483' },
  'rfc4475/cparam01.sip': {
    expect: 'ok',
    check: (m) => {
      const c = parseContact(m.headers.get('contact')!);
      assert.ok(c !== '*');
      assert.deepEqual((c[0]!.uri as SipUri).params, []);
      assert.deepEqual(c[0]!.params, [{ name: 'unknownparam', value: undefined }]);
    },
  },
  'rfc4475/cparam02.sip': {
    expect: 'ok',
    check: (m) => {
      const c = parseContact(m.headers.get('contact')!);
      assert.ok(c !== '*');
      assert.deepEqual((c[0]!.uri as SipUri).params, [{ name: 'unknownparam', value: undefined }]);
      assert.deepEqual(c[0]!.params, []);
    },
  },
  'rfc4475/regescrt.sip': {
    expect: 'ok',
    check: (m) => {
      const c = parseContact(m.headers.get('contact')!);
      assert.ok(c !== '*');
      assert.equal((c[0]!.uri as SipUri).headers, 'Route=%3Csip:sip.example.com%3E');
    },
  },
  'rfc4475/sdp01.sip': { expect: 'ok', why: 'RFC 4475 §3.3.15: the UAS answers 406' },
  'rfc4475/inv2543.sip': {
    expect: 'ok',
    check: (m) => {
      assert.equal(topVia(m).params.length, 0);
      assert.ok(m.body.length > 0, 'no Content-Length over UDP: the body is the rest of the datagram');
    },
  },
  'rfc4475/test.sip': { expect: 'drop', why: 'unreferenced archive file: no SIP version in the request line and no Via to answer' },
  // RFC 5118
  'rfc5118/ipv6-good.sip': { expect: 'ok', check: (m) => assert.equal((req(m).uri as SipUri).host, '[2001:db8::10]') },
  'rfc5118/ipv6-bad.sip': { expect: 400 },
  'rfc5118/port-ambiguous.sip': {
    expect: 'ok',
    check: (m) => {
      const u = req(m).uri as SipUri;
      assert.deepEqual([u.host, u.port], ['[2001:db8::10:5070]', undefined]);
    },
  },
  'rfc5118/port-unambiguous.sip': {
    expect: 'ok',
    check: (m) => {
      const u = req(m).uri as SipUri;
      assert.deepEqual([u.host, u.port], ['[2001:db8::10]', 5070]);
    },
  },
  'rfc5118/via-received-param-with-delim.sip': { expect: 'ok', check: (m) => assert.equal(paramValue(topVia(m).params, 'received'), '[2001:db8::9:255]') },
  'rfc5118/via-received-param-no-delim.sip': { expect: 'ok', check: (m) => assert.equal(paramValue(topVia(m).params, 'received'), '2001:db8::9:255') },
  'rfc5118/ipv6-in-sdp.sip': { expect: 'ok' },
  'rfc5118/mult-ip-in-header.sip': { expect: 'ok', check: (m) => assert.equal(topVia(m).port, 6050) },
  'rfc5118/mult-ip-in-sdp.sip': { expect: 'ok' },
  'rfc5118/ipv4-mapped-ipv6.sip': { expect: 'ok', check: (m) => assert.equal(topVia(m).host, '[::ffff:192.0.2.10]') },
  'rfc5118/ipv6-bug-abnf-3-colons.sip': { expect: 'ok', check: (m) => assert.equal((req(m).uri as SipUri).host, '[2001:db8:::192.0.2.1]') },
  'rfc5118/ipv6-correct-abnf-2-colons.sip': { expect: 'ok' },
};

function verdict(r: ParseResult): Expect {
  if (r.ok) return 'ok';
  return r.response === undefined ? 'drop' : r.response.status;
}

const index = readFileSync(DIR + 'index.tsv', 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'));

describe('torture messages (RFC 4475, RFC 5118) over UDP', () => {
  test('every file of index.tsv has a case here', () => {
    assert.deepEqual(index.map((row) => row[0]).sort(), Object.keys(CASES).sort());
  });
  for (const [file, c] of Object.entries(CASES)) {
    const row = index.find((r) => r[0] === file);
    test(`${file}: ${row?.[5] ?? ''}`, () => {
      const r = parseMessage(load(file), { datagram: true });
      assert.equal(verdict(r), c.expect, r.ok ? 'parsed' : r.error.message);
      if (r.ok) c.check?.(r.message);
      if (!r.ok && r.response !== undefined) {
        // the ready answer is itself a well-formed response carrying the request's Via
        assert.ok(r.response.headers.has('via'));
        assert.ok(topVia(r.response).host.length > 0);
        assert.ok(r.response.reason.length > 0);
      }
    });
  }
});

describe('torture details', () => {
  test('baddn with its empty line restored: rejected for the display name', () => {
    const r = parseMessage(Buffer.concat([load('rfc4475/baddn.sip'), Buffer.from('\r\n')]), { datagram: true });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.response?.status, 400);
      assert.match(r.error.reason, /Malformed (From|To) header/);
    }
  });

  test('reasons name the problem', () => {
    const reason = (f: string): string => {
      const r = parseMessage(load(f), { datagram: true });
      assert.equal(r.ok, false);
      return r.ok ? '' : r.error.reason;
    };
    assert.equal(reason('rfc4475/badinv01.sip'), 'Bad Request - Malformed Via header');
    assert.equal(reason('rfc4475/clerr.sip'), 'Bad Request - Content-Length larger than message');
    assert.equal(reason('rfc4475/ncl.sip'), 'Bad Request - Malformed Content-Length header');
    assert.equal(reason('rfc4475/scalar02.sip'), 'Bad Request - Malformed CSeq header');
    assert.equal(reason('rfc4475/quotbal.sip'), 'Bad Request - Malformed To header');
    assert.equal(reason('rfc4475/escruri.sip'), 'Bad Request - Headers in Request-URI');
    assert.equal(reason('rfc4475/regbadct.sip'), 'Bad Request - Malformed Contact header');
    assert.equal(reason('rfc4475/badvers.sip'), 'Version Not Supported');
    assert.equal(reason('rfc4475/insuf.sip'), 'Bad Request - Missing From header');
    assert.equal(reason('rfc4475/mcl01.sip'), 'Bad Request - Multiple Content-Length headers');
    assert.equal(reason('rfc4475/mismatch01.sip'), 'Bad Request - CSeq method does not match the request method');
  });

  test('badinv01: the 400 goes back to the readable sent-by of the malformed Via', () => {
    const r = parseMessage(load('rfc4475/badinv01.sip'), { datagram: true });
    assert.ok(!r.ok && r.response);
    assert.equal(r.response.headers.get('via'), 'SIP/2.0/UDP 192.0.2.15');
    assert.equal(r.response.headers.get('call-id'), 'badinv01.0ha0isndaksdjasdf3234nas');
    assert.equal(r.response.headers.get('cseq'), '8 INVITE');
    assert.match(toTag(r.response) ?? '', /^[0-9a-f]{8}$/);
  });

  test('insuf: the 400 carries what could be read (Via, CSeq)', () => {
    const r = parseMessage(load('rfc4475/insuf.sip'), { datagram: true });
    assert.ok(!r.ok && r.response);
    assert.equal(r.response.headers.get('cseq'), '193942 INVITE');
    assert.equal(r.response.headers.has('from'), false);
  });

  test('stream framing: the RFC 2543 INVITE without Content-Length is refused over TCP', () => {
    const r = parseMessage(load('rfc4475/inv2543.sip'), { datagram: false });
    assert.ok(!r.ok);
    assert.equal(r.error.reason, 'Bad Request - Missing Content-Length header');
    assert.equal(r.response?.status, 400);
  });

  test('stream framing: valid messages with Content-Length parse in both modes', () => {
    for (const [file, c] of Object.entries(CASES)) {
      if (c.expect !== 'ok' || file.endsWith('inv2543.sip')) continue;
      const r = parseMessage(load(file), { datagram: false });
      assert.equal(r.ok, true, `${file}: ${r.ok ? '' : r.error.message}`);
    }
  });

  test('esc01: the escaped Request-URI equals its unescaped form', () => {
    const r = parseMessage(load('rfc4475/esc01.sip'), { datagram: true });
    assert.ok(r.ok && r.message.kind === 'request');
    assert.ok(isSipUri(r.message.uri));
  });
});
