import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callId, cseqOf, fromTag, parseMessage, topVia, transactionIdentity } from '../../../../src/sip/message/index.js';

test('transactionIdentity keeps the start line, Via, From, To, Call-ID, CSeq and Route, and no body', () => {
  const r = parseMessage(
    Buffer.from(
      'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKid\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKid2\r\n' +
        'Route: <sip:p1.example.com;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=f\r\nTo: <sip:bob@example.com>\r\n' +
        'Call-ID: idtest\r\nCSeq: 4 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Type: application/sdp\r\nX-Big: yes\r\nContent-Length: 3\r\n\r\nv=0',
    ),
    { datagram: true },
  );
  assert.ok(r.ok && r.message.kind === 'request');
  const id = transactionIdentity(r.message);
  assert.equal(id.method, 'INVITE');
  assert.deepEqual(id.uri, r.message.uri);
  assert.deepEqual([...id.headers].map((f) => f.key), ['via', 'via', 'route', 'from', 'to', 'call-id', 'cseq']);
  assert.equal(id.body.length, 0);
  assert.equal(callId(id), 'idtest');
  assert.equal(cseqOf(id).seq, 4);
  assert.equal(fromTag(id), 'f');
  assert.equal(topVia(id).host, '192.0.2.1');
  assert.equal(r.message.headers.size, 12, 'the original is untouched');
});
