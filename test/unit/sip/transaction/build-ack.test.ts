import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, serializeMessage } from '../../../../src/sip/message/index.js';
import { buildAck } from '../../../../src/sip/transaction/build-ack.js';
import { req, res } from './tx-test-kit.js';

describe('buildAck (RFC 3261 §17.1.1.3)', () => {
  test('the example of §17.1.1.3', () => {
    const invite = req([
      'INVITE sip:bob@biloxi.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff',
      'To: Bob <sip:bob@biloxi.com>',
      'From: Alice <sip:alice@atlanta.com>;tag=88sja8x',
      'Max-Forwards: 70',
      'Call-ID: 987asjd97y7atg',
      'CSeq: 986759 INVITE',
    ]);
    const busy = res([
      'SIP/2.0 486 Busy Here',
      'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff',
      'To: Bob <sip:bob@biloxi.com>;tag=99sa0xk',
      'From: Alice <sip:alice@atlanta.com>;tag=88sja8x',
      'Call-ID: 987asjd97y7atg',
      'CSeq: 986759 INVITE',
    ]);
    const ack = buildAck(invite, busy);
    const text = serializeMessage(ack).toString('utf8');
    assert.equal(
      text,
      [
        'ACK sip:bob@biloxi.com SIP/2.0',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff',
        'Max-Forwards: 70',
        'To: Bob <sip:bob@biloxi.com>;tag=99sa0xk',
        'From: Alice <sip:alice@atlanta.com>;tag=88sja8x',
        'Call-ID: 987asjd97y7atg',
        'CSeq: 986759 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    assert.ok(parseMessage(serializeMessage(ack), { datagram: true }).ok, 'the ACK parses');
  });

  test('only the top Via (even from a comma-separated field), every Route, no body', () => {
    const invite = req([
      'INVITE sip:bob@biloxi.com SIP/2.0',
      'Via: SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bKtop, SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKlow',
      'Route: <sip:p1.example.com;lr>',
      'Route: <sip:p2.example.com;lr>,<sip:p3.example.com;lr>',
      'To: Bob <sip:bob@biloxi.com>',
      'From: Alice <sip:alice@atlanta.com>;tag=1',
      'Max-Forwards: 69',
      'Call-ID: c1',
      'CSeq: 5 INVITE',
      'Content-Type: application/sdp',
    ]);
    const busy = res([
      'SIP/2.0 404 Not Found',
      'Via: SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bKtop, SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKlow',
      'To: Bob <sip:bob@biloxi.com>;tag=nf',
      'From: Alice <sip:alice@atlanta.com>;tag=1',
      'Call-ID: c1',
      'CSeq: 5 INVITE',
    ]);
    const ack = buildAck(invite, busy);
    assert.deepEqual(ack.headers.getAll('via'), ['SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bKtop']);
    assert.deepEqual(ack.headers.getAll('route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>,<sip:p3.example.com;lr>']);
    assert.equal(ack.headers.has('content-type'), false);
    assert.equal(ack.body.length, 0);
    assert.equal(ack.uri, invite.uri);
  });
});
