import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cseqOf, headerOf, okResponse, parseSip, pidfBody, publishRequest, readSeq, seqNote, subscribeRequest, tagOf } from '../../../bench/presence/presence-sip.js';

const LOCAL = { host: '127.0.0.1', port: 40000 };

describe('presence benchmark SIP texts', () => {
  test('the sequence number of a note is read back, the highest when several publications are composed', () => {
    assert.equal(readSeq(pidfBody('sip:pres1@p2psip.local', 17)), 17);
    assert.equal(readSeq(`<note>${seqNote(3)}</note><note>${seqNote(12)}</note><note>${seqNote(5)}</note>`), 12);
    assert.equal(readSeq('<presence><tuple id="reg"><status><basic>closed</basic></status></tuple></presence>'), undefined);
    assert.equal(readSeq(''), undefined);
    // a digit run that is not a marker does not count
    assert.equal(readSeq('bseq12 bseqx bseq7x'), 7);
  });

  test('a SUBSCRIBE names the watcher, the presentity and the socket it leaves from', () => {
    const text = subscribeRequest({ watcher: 'watcher7', presentity: 'pres7', domain: 'p2psip.local', local: LOCAL, callId: 'w7.ab', fromTag: 'w7ab', branch: 'z9hG4bKab1', cseq: 1, expires: 1800 });
    const m = parseSip(text);
    assert.ok(m !== undefined);
    assert.equal(m.method, 'SUBSCRIBE');
    assert.ok(text.startsWith('SUBSCRIBE sip:pres7@p2psip.local SIP/2.0\r\n'));
    assert.equal(headerOf(m, 'from'), '<sip:watcher7@p2psip.local>;tag=w7ab');
    assert.equal(headerOf(m, 'contact'), '<sip:watcher7@127.0.0.1:40000>');
    assert.equal(headerOf(m, 'via'), 'SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKab1;rport');
    assert.equal(headerOf(m, 'event'), 'presence');
    assert.equal(headerOf(m, 'expires'), '1800');
    assert.equal(headerOf(m, 'content-length'), '0');
    assert.deepEqual(cseqOf(m), { seq: 1, method: 'SUBSCRIBE' });
  });

  test('a PUBLISH modifies with SIP-If-Match when it has an entity-tag; its body carries the number and its length is right', () => {
    const base = { presentity: 'pres2', domain: 'p2psip.local', local: LOCAL, callId: 'p2.ab', fromTag: 'p2ab', branch: 'z9hG4bKab2', cseq: 4, expires: 600, seq: 41 };
    const initial = parseSip(publishRequest({ ...base, etag: undefined }));
    const modify = parseSip(publishRequest({ ...base, etag: 'etag-9' }));
    assert.ok(initial !== undefined && modify !== undefined);
    assert.equal(headerOf(initial, 'sip-if-match'), undefined);
    assert.equal(headerOf(modify, 'sip-if-match'), 'etag-9');
    assert.equal(headerOf(modify, 'content-type'), 'application/pidf+xml');
    assert.equal(Number(headerOf(modify, 'content-length')), Buffer.byteLength(modify.body));
    assert.equal(readSeq(modify.body), 41);
    assert.match(modify.body, /entity="sip:pres2@p2psip\.local"/);
  });

  test('compact header forms are expanded and the body is cut at Content-Length', () => {
    const text = 'NOTIFY sip:watcher1@127.0.0.1:40000 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK0\r\n' +
      'f: <sip:pres1@p2psip.local>;tag=srv\r\nt: <sip:watcher1@p2psip.local>;tag=w1\r\ni: w1.ab\r\nCSeq: 3 NOTIFY\r\no: presence\r\nl: 9\r\n\r\nbseq4x---garbage';
    const m = parseSip(text);
    assert.ok(m !== undefined);
    assert.equal(m.method, 'NOTIFY');
    assert.equal(m.status, undefined);
    assert.deepEqual(m.headers.get('via'), ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1', 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK0']);
    assert.equal(headerOf(m, 'call-id'), 'w1.ab');
    assert.equal(headerOf(m, 'event'), 'presence');
    assert.equal(m.body, 'bseq4x---');
    assert.equal(readSeq(m.body), 4);
  });

  test('the 200 to a NOTIFY copies every Via, From, To, Call-ID and CSeq', () => {
    const m = parseSip('NOTIFY sip:w@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:p@d>;tag=s\r\nTo: <sip:w@d>;tag=w\r\nCall-ID: c1\r\nCSeq: 9 NOTIFY\r\nContent-Length: 0\r\n\r\n');
    assert.ok(m !== undefined);
    const ok = okResponse(m);
    assert.equal(
      ok,
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:p@d>;tag=s\r\nTo: <sip:w@d>;tag=w\r\nCall-ID: c1\r\nCSeq: 9 NOTIFY\r\nContent-Length: 0\r\n\r\n',
    );
    const back = parseSip(ok);
    assert.equal(back?.status, 200);
  });

  test('responses: the status, the CSeq, the To tag (not one inside the URI)', () => {
    const m = parseSip('SIP/2.0 200 OK\r\nTo: <sip:pres1@d;tag=no>;tag=yes\r\nCall-ID: x\r\nCSeq: 2 PUBLISH\r\nSIP-ETag: e1\r\n\r\n');
    assert.ok(m !== undefined);
    assert.equal(m.status, 200);
    assert.deepEqual(cseqOf(m), { seq: 2, method: 'PUBLISH' });
    assert.equal(tagOf(headerOf(m, 'to')), 'yes');
    assert.equal(tagOf('<sip:a@b>'), undefined);
    assert.equal(headerOf(m, 'sip-etag'), 'e1');
  });

  test('what is not a SIP message gives undefined, never a throw', () => {
    for (const text of ['', 'hello', 'GET / HTTP/1.1\r\n\r\n', 'SIP/2.0 200 OK\r\nVia: x', '\r\n\r\n', 'NOTIFY\r\n\r\n']) assert.equal(parseSip(text), undefined, JSON.stringify(text));
    const m = parseSip('SIP/2.0 200 OK\r\nCSeq: lots\r\nno colon here\r\n\r\n');
    assert.ok(m !== undefined);
    assert.equal(cseqOf(m), undefined);
  });
});
