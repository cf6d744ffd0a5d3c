import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  callId,
  createResponse,
  cseqOf,
  fromTag,
  parseMessage,
  parseUri,
  reasonPhrase,
  serializeMessage,
  SipHeaders,
  SipParseError,
  topVia,
  toTag,
} from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/index.js';

function request(headers: Array<[string, string]>, body = new Uint8Array(0)): SipRequest {
  return { kind: 'request', method: 'INVITE', uri: parseUri('sip:bob@biloxi.com'), version: 'SIP/2.0', headers: new SipHeaders(headers), body };
}

const BASE: Array<[string, string]> = [
  ['Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2'],
  ['v', 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=192.0.2.1'],
  ['Max-Forwards', '70'],
  ['To', 'Bob <sip:bob@biloxi.com>'],
  ['From', 'Alice <sip:alice@atlanta.com>;tag=1928301774'],
  ['Call-ID', 'a84b4c76e66710@pc33.atlanta.com'],
  ['CSeq', '314159 INVITE'],
  ['Timestamp', '54'],
];

describe('serializeMessage', () => {
  test('start line, headers as stored, Content-Length replaced in place, body bytes', () => {
    const body = Uint8Array.from([0, 1, 2, 0x0d, 0xff]);
    const req = request([...BASE.slice(0, 3), ['l', '999'], ...BASE.slice(3), ['Content-Length', '7']], body);
    const out = serializeMessage(req);
    assert.ok(Buffer.isBuffer(out));
    const text = out.subarray(0, out.length - body.length).toString();
    assert.equal(
      text,
      'INVITE sip:bob@biloxi.com SIP/2.0\r\n' +
        'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2\r\n' +
        'v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=192.0.2.1\r\n' +
        'Max-Forwards: 70\r\nl: 5\r\nTo: Bob <sip:bob@biloxi.com>\r\n' +
        'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\nCall-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
        'CSeq: 314159 INVITE\r\nTimestamp: 54\r\n\r\n',
    );
    assert.deepEqual([...out.subarray(out.length - body.length)], [...body]);
  });

  test('Content-Length appended when absent; UTF-8 counted in bytes for the head', () => {
    const req = request([...BASE, ['Subject', 'café']], Buffer.from('é'));
    const out = serializeMessage(req);
    assert.ok(out.toString().includes('Content-Length: 2\r\n\r\né'));
    const back = parseMessage(out, { datagram: false });
    assert.ok(back.ok);
    if (back.ok) assert.equal(back.message.headers.get('subject'), 'café');
  });

  test('responses', () => {
    const res = createResponse(request(BASE), 486);
    assert.ok(serializeMessage(res).toString().startsWith('SIP/2.0 486 Busy Here\r\n'));
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  test('copies Via (all, in order), From, To, Call-ID, CSeq; adds the To tag; Content-Length', () => {
    const res = createResponse(request(BASE), 200, undefined, { toTag: 'abc' });
    assert.equal(res.kind, 'response');
    assert.deepEqual([res.status, res.reason, res.version], [200, 'OK', 'SIP/2.0']);
    assert.deepEqual(res.headers.getAll('via'), [BASE[0]![1], BASE[1]![1]]);
    assert.equal(fromTag(res), '1928301774');
    assert.equal(toTag(res), 'abc');
    assert.equal(res.headers.get('to'), 'Bob <sip:bob@biloxi.com>;tag=abc');
    assert.equal(callId(res), 'a84b4c76e66710@pc33.atlanta.com');
    assert.deepEqual(cseqOf(res), { seq: 314159, method: 'INVITE' });
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(res.headers.has('max-forwards'), false);
    assert.equal(res.headers.has('timestamp'), false);
    assert.equal(topVia(res).host, 'proxy.example.com');
  });

  test('keeps an existing To tag; no tag on 100; Timestamp copied into 100 (§8.2.6.1)', () => {
    const tagged = request(BASE.map(([n, v]) => (n === 'To' ? [n, `${v};tag=old`] : [n, v])));
    assert.equal(toTag(createResponse(tagged, 200, undefined, { toTag: 'new' })), 'old');
    const trying = createResponse(request(BASE), 100, undefined, { toTag: 'x' });
    assert.equal(toTag(trying), undefined);
    assert.equal(trying.headers.get('timestamp'), '54');
    assert.equal(trying.reason, 'Trying');
  });

  test('addr-spec To gets the tag as a header parameter', () => {
    const req = request(BASE.map(([n, v]) => (n === 'To' ? [n, 'sip:bob@biloxi.com'] : [n, v])));
    const res = createResponse(req, 180, 'Ringing', { toTag: 't1' });
    assert.equal(toTag(res), 't1');
  });

  test('extra headers, body and Content-Type; the result serialises and parses back', () => {
    const body = Buffer.from('v=0\r\n');
    const res = createResponse(request(BASE), 200, 'OK', { toTag: 'z', headers: [['Contact', '<sip:bob@192.0.2.4>']], body, contentType: 'application/sdp' });
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    assert.equal(res.headers.get('content-length'), '5');
    const back = parseMessage(serializeMessage(res), { datagram: false });
    assert.ok(back.ok);
    if (back.ok) assert.deepEqual(back.message, { ...res, body: new Uint8Array(body) });
  });

  test('reasonPhrase', () => {
    const expected: Record<number, string> = {
      100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 204: 'No Notification',
      302: 'Moved Temporarily', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
      407: 'Proxy Authentication Required', 408: 'Request Timeout', 413: 'Request Entity Too Large',
      415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme', 420: 'Bad Extension', 421: 'Extension Required',
      423: 'Interval Too Brief', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist',
      482: 'Loop Detected', 483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here',
      487: 'Request Terminated', 488: 'Not Acceptable Here', 489: 'Bad Event', 491: 'Request Pending',
      493: 'Undecipherable', 494: 'Security Agreement Required', 500: 'Server Internal Error', 501: 'Not Implemented',
      503: 'Service Unavailable', 504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
      580: 'Precondition Failure', 600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
    };
    for (const [code, phrase] of Object.entries(expected)) assert.equal(reasonPhrase(Number(code)), phrase);
    assert.equal(reasonPhrase(499), 'Client Error');
    assert.equal(reasonPhrase(199), 'Early Dialog Terminated');
    assert.equal(reasonPhrase(299), 'Success');
  });
});

describe('message fields', () => {
  test('throw SipParseError when missing or malformed', () => {
    const empty = request([]);
    for (const fn of [topVia, callId, cseqOf, fromTag, toTag]) assert.throws(() => fn(empty), SipParseError);
    const bad = request([
      ['Via', 'garbage'],
      ['CSeq', 'x'],
      ['From', '<sip:a@b'],
    ]);
    assert.throws(() => topVia(bad), SipParseError);
    assert.throws(() => cseqOf(bad), SipParseError);
    assert.throws(() => fromTag(bad), SipParseError);
  });

  test('topVia is the first via-parm of the first field', () => {
    const m = request([['Via', 'SIP/2.0/TCP a.example.com;branch=z9hG4bKa, SIP/2.0/UDP b.example.com'], ['Via', 'SIP/2.0/UDP c']]);
    assert.equal(topVia(m).host, 'a.example.com');
  });
});
