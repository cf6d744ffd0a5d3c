import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callId, cseqOf, DEFAULT_SIP_LIMITS, fromTag, parseMessage, serializeMessage, toTag, topVia } from '../../../../src/sip/message/index.js';
import type { ParseResult, SipLimits, SipMessage } from '../../../../src/sip/message/index.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

function invite(extra = '', body = 'v=0\r\n', opts: { cl?: boolean } = {}): string {
  const cl = opts.cl === false ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return (
    'INVITE sip:bob@biloxi.com SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n' +
    'Max-Forwards: 70\r\n' +
    'To: Bob <sip:bob@biloxi.com>\r\n' +
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
    'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
    'CSeq: 314159 INVITE\r\n' +
    'Contact: <sip:alice@pc33.atlanta.com>\r\n' +
    extra +
    'Content-Type: application/sdp\r\n' +
    cl +
    '\r\n' +
    body
  );
}

const RESPONSE =
  'SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n' +
  'To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
  'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n';

function ok(r: ParseResult): SipMessage {
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.message;
}

function rejected(r: ParseResult): { status: number; reason: string; answered: number | undefined } {
  assert.ok(!r.ok, 'expected a parse failure');
  return { status: r.error.status, reason: r.error.reason, answered: r.response?.status };
}

describe('parseMessage: requests and responses', () => {
  test('a typical INVITE, both modes', () => {
    for (const datagram of [true, false]) {
      const m = ok(parseMessage(enc(invite()), { datagram }));
      assert.equal(m.kind, 'request');
      if (m.kind !== 'request') return;
      assert.equal(m.method, 'INVITE');
      assert.equal(m.version, 'SIP/2.0');
      assert.deepEqual(m.uri, { scheme: 'sip', user: 'bob', password: undefined, host: 'biloxi.com', port: undefined, params: [], headers: undefined });
      assert.equal(topVia(m).host, 'pc33.atlanta.com');
      assert.equal(callId(m), 'a84b4c76e66710@pc33.atlanta.com');
      assert.deepEqual(cseqOf(m), { seq: 314159, method: 'INVITE' });
      assert.equal(fromTag(m), '1928301774');
      assert.equal(toTag(m), undefined);
      assert.deepEqual([...m.body], [...enc('v=0\r\n')]);
      assert.equal(Object.getPrototypeOf(m.body), Uint8Array.prototype, 'body is a plain Uint8Array copy');
    }
  });

  test('a response', () => {
    const m = ok(parseMessage(enc(RESPONSE), { datagram: false }));
    assert.equal(m.kind, 'response');
    if (m.kind === 'response') assert.deepEqual([m.status, m.reason], [180, 'Ringing']);
    assert.equal(toTag(m), 'a6c85cf');
  });

  test('the body is a copy: later changes to the input do not leak in', () => {
    const data = enc(invite());
    const m = ok(parseMessage(data, { datagram: true }));
    data.fill(0x41);
    assert.equal(Buffer.from(m.body).toString(), 'v=0\r\n');
  });

  test('a Uint8Array that is a view into a larger buffer', () => {
    const whole = enc('garbage' + invite() + 'more');
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 7, whole.length - 11);
    ok(parseMessage(view, { datagram: false }));
  });

  test('bare LF line ends are tolerated (RFC 3261 §7)', () => {
    const text = invite();
    const cut = text.indexOf('\r\n\r\n') + 4;
    const m = ok(parseMessage(enc(text.slice(0, cut).replace(/\r\n/g, '\n') + text.slice(cut)), { datagram: true }));
    assert.equal(m.body.length, 5);
    assert.equal(m.headers.get('cseq'), '314159 INVITE');
  });

  test('leading CRLFs before the start line are skipped (RFC 3261 §7.5)', () => {
    ok(parseMessage(enc('\r\n\r\n' + invite()), { datagram: false }));
  });

  test('compact forms and case-insensitive names; names kept as written', () => {
    const text = invite().replace('Via:', 'v:').replace('Call-ID:', 'i:').replace('Content-Length:', 'l:').replace('To:', 'tO :');
    const m = ok(parseMessage(enc(text), { datagram: false }));
    assert.equal(m.headers.get('via'), 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds');
    assert.equal(m.headers.get('Content-Length'), '5');
    assert.deepEqual([...m.headers].map((f) => f.name).slice(0, 4), ['v', 'Max-Forwards', 'tO', 'From']);
  });

  test('folded values keep their folding; surrounding whitespace trimmed', () => {
    const m = ok(parseMessage(enc(invite('Subject:   I know\r\n   you\t \r\nX-Empty:\r\nX-Tab:\tv\t\r\n')), { datagram: false }));
    assert.equal(m.headers.get('subject'), 'I know\r\n   you');
    assert.equal(m.headers.get('x-empty'), '');
    assert.equal(m.headers.get('x-tab'), 'v');
  });

  test('unknown headers are never validated', () => {
    ok(parseMessage(enc(invite('X-Junk: <<<"unterminated ;;;,,,\r\nDate: not a date\r\n')), { datagram: false }));
  });

  test('UTF-8 in header values and reason phrases', () => {
    const m = ok(parseMessage(enc(invite('Subject: café ☕\r\n').replace('From: Alice', 'From: "Alicé ☕"')), { datagram: false }));
    assert.equal(m.headers.get('subject'), 'café ☕');
  });

  test('Route and Record-Route lists, Allow/Supported/Require', () => {
    ok(parseMessage(enc(invite('Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\nRecord-Route: <sip:p3.example.com;lr>\r\nAllow: INVITE, ACK\r\nSupported:\r\nRequire: 100rel\r\nProxy-Require: foo\r\nExpires: 120\r\n')), { datagram: false }));
  });

  test('datagram: body is the rest when Content-Length is absent; trailing octets beyond it ignored', () => {
    const m = ok(parseMessage(enc(invite('', 'hello', { cl: false })), { datagram: true }));
    assert.equal(Buffer.from(m.body).toString(), 'hello');
    const t = ok(parseMessage(enc(invite('', 'v=0\r\n') + 'INVITE junk'), { datagram: true }));
    assert.equal(Buffer.from(t.body).toString(), 'v=0\r\n');
  });

  test('stream: Content-Length is mandatory', () => {
    assert.deepEqual(rejected(parseMessage(enc(invite('', 'x', { cl: false })), { datagram: false })), {
      status: 400,
      reason: 'Bad Request - Missing Content-Length header',
      answered: 400,
    });
  });

  test('Content-Length larger than the data → 400 in both modes', () => {
    const text = invite().replace('Content-Length: 5', 'Content-Length: 50');
    for (const datagram of [true, false]) {
      assert.deepEqual(rejected(parseMessage(enc(text), { datagram })), { status: 400, reason: 'Bad Request - Content-Length larger than message', answered: 400 });
    }
  });
});

describe('parseMessage: rejections and their answers', () => {
  const cases: Array<[string, string, string, number | undefined]> = [
    ['missing Via', invite().replace(/^Via:.*\r\n/m, ''), 'Bad Request - Missing Via header', undefined],
    ['missing To', invite().replace(/^To:.*\r\n/m, ''), 'Bad Request - Missing To header', 400],
    ['missing Call-ID', invite().replace(/^Call-ID:.*\r\n/m, ''), 'Bad Request - Missing Call-ID header', 400],
    ['missing CSeq', invite().replace(/^CSeq:.*\r\n/m, ''), 'Bad Request - Missing CSeq header', 400],
    ['two To', invite('To: <sip:x@y>\r\n'), 'Bad Request - Multiple To headers', 400],
    ['two Content-Type', invite('Content-Type: text/plain\r\n'), 'Bad Request - Multiple Content-Type headers', 400],
    ['Max-Forwards 256', invite().replace('Max-Forwards: 70', 'Max-Forwards: 256'), 'Bad Request - Malformed Max-Forwards header', 400],
    ['bad Call-ID', invite().replace('Call-ID: a84b', 'Call-ID: a 84b'), 'Bad Request - Malformed Call-ID header', 400],
    ['empty Call-ID', invite().replace('Call-ID: a84b4c76e66710@pc33.atlanta.com', 'Call-ID:'), 'Bad Request - Malformed Call-ID header', 400],
    ['bad Route', invite('Route: <sip:p1.example.com;lr\r\n'), 'Bad Request - Malformed Route header', 400],
    ['bad Require', invite('Require: a b\r\n'), 'Bad Request - Malformed Require header', 400],
    ['bad Expires', invite('Expires: Thu, 01 Dec 2040 16:00:00 GMT\r\n'), 'Bad Request - Malformed Expires header', 400],
    ['bad header line', invite('Foobar roobar\r\n'), 'Bad Request - Malformed header line', 400],
    ['header line starting with ":"', invite(': x\r\n'), 'Bad Request - Malformed header line', 400],
    ['bare CR in a header', invite('X-A: a\rb\r\n'), 'Bad Request - Bare CR in header section', 400],
    ['request line without version', invite().replace(' SIP/2.0\r\n', '\r\n'), 'Bad Request - Malformed Request-Line', 400],
    ['HTTP version', invite().replace(' SIP/2.0\r\n', ' HTTP/1.1\r\n'), 'Bad Request - Malformed Request-Line', 400],
    ['SIP/3.0', invite().replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'), 'Version Not Supported', 505],
    ['method not a token', invite().replace('INVITE sip', 'INV<ITE sip'), 'Bad Request - Malformed Request-Line', undefined],
    ['missing empty line', invite().slice(0, invite().indexOf('\r\n\r\n') + 2), 'Bad Request - Missing empty line after header section', 400],
    ['invalid UTF-8', invite('X-A: \xff\r\n'), 'Bad Request - Header section is not UTF-8', 400],
    ['folded line first', 'INVITE sip:a@b SIP/2.0\r\n continued\r\n\r\n', 'Bad Request - Malformed header line', undefined],
  ];
  for (const [name, text, reason, answered] of cases) {
    test(name, () => {
      const data = name === 'invalid UTF-8' ? Buffer.from(text, 'latin1') : enc(text);
      const r = rejected(parseMessage(data, { datagram: true }));
      assert.equal(r.reason, reason);
      assert.equal(r.answered, answered);
    });
  }

  test('empty input and whitespace only', () => {
    for (const s of ['', '\r\n\r\n', '\n']) assert.equal(rejected(parseMessage(enc(s), { datagram: true })).answered, undefined);
  });

  test('bad responses are never answered', () => {
    for (const text of [
      RESPONSE.replace('180', '4294967301'),
      RESPONSE.replace('180', '099'),
      RESPONSE.replace('180', '700'),
      RESPONSE.replace('180 Ringing', '180Ringing'),
      RESPONSE.replace('SIP/2.0 180', 'SIP/3.0 180'),
      RESPONSE.replace(/^CSeq:.*\r\n/m, ''),
      RESPONSE.replace('Ringing', 'Ring\x01ing'),
    ]) {
      const r = parseMessage(enc(text), { datagram: true });
      assert.ok(!r.ok);
      assert.equal(r.response, undefined, text.split('\r\n')[0]);
    }
  });

  test('an ACK is never answered', () => {
    const ack = invite().replace('INVITE sip', 'ACK sip').replace('314159 INVITE', '314159 ACK').replace(/^To:.*\r\n/m, '');
    const r = parseMessage(enc(ack), { datagram: true });
    assert.ok(!r.ok);
    assert.equal(r.response, undefined);
  });

  test('the answer: 400 copying Via, From, To (+tag), Call-ID, CSeq; the same for a retransmission', () => {
    const text = invite('Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\n').replace('Max-Forwards: 70', 'Max-Forwards: 300');
    const r = parseMessage(enc(text), { datagram: true });
    assert.ok(!r.ok && r.response);
    const res = r.response;
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Bad Request - Malformed Max-Forwards header');
    assert.deepEqual(res.headers.getAll('via'), ['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1']);
    assert.equal(fromTag(res), '1928301774');
    assert.match(toTag(res)!, /^[0-9a-f]{8}$/);
    assert.equal(callId(res), 'a84b4c76e66710@pc33.atlanta.com');
    assert.deepEqual(cseqOf(res), { seq: 314159, method: 'INVITE' });
    assert.equal(res.body.length, 0);
    const again = parseMessage(enc(text), { datagram: true });
    assert.ok(!again.ok && again.response);
    assert.equal(toTag(again.response), toTag(res));
    // and it serialises into something that parses
    const back = parseMessage(serializeMessage(res), { datagram: false });
    assert.ok(back.ok);
  });

  test('a 505 for another SIP version even when headers are broken too', () => {
    const text = invite('Foobar\r\n').replace(' SIP/2.0\r\n', ' SIP/7.0\r\n');
    assert.equal(rejected(parseMessage(enc(text), { datagram: true })).answered, 505);
  });
});

describe('parseMessage: limits (each checked before allocating, never a throw)', () => {
  const limits = (over: Partial<SipLimits>): SipLimits => ({ ...DEFAULT_SIP_LIMITS, ...over });

  test('exactly at each limit passes, one more fails', () => {
    const text = invite('', 'x'.repeat(1000));
    const head = text.indexOf('\r\n\r\n') + 4;
    const fields = text.slice(0, head).split('\r\n').length - 3;
    const longest = Math.max(...text.slice(0, head).split('\r\n').map((l) => l.length));
    const at: Array<[Partial<SipLimits>, Partial<SipLimits>]> = [
      [{ maxBodyBytes: 1000 }, { maxBodyBytes: 999 }],
      [{ maxMessageBytes: text.length }, { maxMessageBytes: text.length - 1 }],
      [{ maxHeaderBytes: head }, { maxHeaderBytes: head - 1 }],
      [{ maxHeaderCount: fields }, { maxHeaderCount: fields - 1 }],
      [{ maxLineLength: longest }, { maxLineLength: longest - 1 }],
    ];
    for (const [pass, fail] of at) {
      for (const datagram of [true, false]) {
        ok(parseMessage(enc(text), { datagram, limits: limits(pass) }));
        assert.equal(rejected(parseMessage(enc(text), { datagram, limits: limits(fail) })).status, 413, JSON.stringify(fail));
      }
    }
  });

  test('body over maxBodyBytes → 413', () => {
    const body = 'x'.repeat(1001);
    for (const datagram of [true, false]) {
      const r = rejected(parseMessage(enc(invite('', body)), { datagram, limits: limits({ maxBodyBytes: 1000 }) }));
      assert.deepEqual([r.status, r.answered], [413, 413]);
      assert.match(r.reason, /^Request Entity Too Large - Body/);
    }
    // absent Content-Length over UDP: the rest of the datagram is the body
    const r = rejected(parseMessage(enc(invite('', body, { cl: false })), { datagram: true, limits: limits({ maxBodyBytes: 1000 }) }));
    assert.equal(r.status, 413);
  });

  test('a huge Content-Length is refused without allocating', () => {
    const text = invite().replace('Content-Length: 5', 'Content-Length: 4294967295');
    const r = rejected(parseMessage(enc(text), { datagram: false }));
    assert.equal(r.status, 413);
  });

  test('message over maxMessageBytes → 413', () => {
    const text = invite('', 'x'.repeat(600));
    const r = rejected(parseMessage(enc(text), { datagram: true, limits: limits({ maxMessageBytes: 700 }) }));
    assert.deepEqual([r.status, r.answered], [413, 413]);
    assert.match(r.reason, /Message over 700 bytes/);
  });

  test('header section over maxHeaderBytes → 413 (answered from the fields read so far)', () => {
    const text = invite('X-Pad: ' + 'p'.repeat(2000) + '\r\n');
    const r = rejected(parseMessage(enc(text), { datagram: true, limits: limits({ maxHeaderBytes: 1024 }) }));
    assert.deepEqual([r.status, r.answered], [413, 413]);
    assert.match(r.reason, /Header section over 1024 bytes/);
    // a stream of megabytes without an empty line: bounded scan
    const big = Buffer.alloc(5_000_000, 0x61);
    const r2 = rejected(parseMessage(big, { datagram: false }));
    assert.equal(r2.status, 413);
  });

  test('too many header fields → 413', () => {
    const extra = Array.from({ length: 20 }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
    const r = rejected(parseMessage(enc(invite(extra)), { datagram: true, limits: limits({ maxHeaderCount: 20 }) }));
    assert.deepEqual([r.status, r.answered], [413, 413]);
    assert.match(r.reason, /More than 20 header fields/);
    ok(parseMessage(enc(invite(extra)), { datagram: true, limits: limits({ maxHeaderCount: 30 }) }));
  });

  test('a header line (folding included) over maxLineLength → 413', () => {
    const long = 'X-Long: ' + 'a'.repeat(300) + '\r\n ' + 'b'.repeat(300) + '\r\n';
    const r = rejected(parseMessage(enc(invite(long)), { datagram: true, limits: limits({ maxLineLength: 500 }) }));
    assert.deepEqual([r.status, r.answered], [413, 413]);
    assert.match(r.reason, /Header line over 500 bytes/);
    ok(parseMessage(enc(invite(long)), { datagram: true, limits: limits({ maxLineLength: 700 }) }));
  });

  test('line length is counted in UTF-8 bytes', () => {
    const line = 'Subject: ' + 'é'.repeat(200);
    assert.equal(rejected(parseMessage(enc(invite(line + '\r\n')), { datagram: true, limits: limits({ maxLineLength: 300 }) })).status, 413);
    ok(parseMessage(enc(invite(line + '\r\n')), { datagram: true, limits: limits({ maxLineLength: 409 }) }));
  });

  test('a start line over maxLineLength → 413', () => {
    const text = invite().replace('sip:bob@biloxi.com', 'sip:' + 'b'.repeat(600) + '@biloxi.com');
    const r = rejected(parseMessage(enc(text), { datagram: true, limits: limits({ maxLineLength: 500 }) }));
    assert.equal(r.status, 413);
  });
});
