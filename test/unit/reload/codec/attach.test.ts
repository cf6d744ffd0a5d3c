import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAppAttachReqAns, decodeAttachReqAns, encodeAppAttachReqAns, encodeAttachReqAns } from '../../../../src/reload/codec/attach.js';
import type { AttachReqAns, IceCandidate } from '../../../../src/reload/codec/attach.js';
import { hex, hexdoc, toHex } from './hex.js';
import { appAttachReqAns, attachReqAns } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const host: IceCandidate = {
  addrPort: { type: 'ipv4', addr: hex('c0000201'), port: 6084 },
  overlayLink: 1,
  foundation: text('1'),
  priority: 0x7e0000ff,
  type: 'host',
  extensions: [],
};
const srflx: IceCandidate = {
  addrPort: { type: 'ipv4', addr: hex('c6336407'), port: 40000 },
  overlayLink: 1,
  foundation: text('2'),
  priority: 0x6400ffff,
  type: 'srflx',
  relAddrPort: { type: 'ipv4', addr: hex('c0000201'), port: 6084 },
  extensions: [{ name: text('n'), value: text('v') }],
};

describe('Attach / AppAttach (RFC 6940 §6.5.1, §6.5.2)', () => {
  const attach: AttachReqAns = { ufrag: text('ab'), password: text('pq'), role: text('actpass'), candidates: [host, srflx], sendUpdate: false };
  const bytes = hexdoc(`
    02 6162             ufrag "ab"
    02 7071             password "pq"
    07 61637470617373   role "actpass"
    0032                candidates length (50)
    01 06 c0000201 17c4  [0] addr_port: ipv4, length 6, 192.0.2.1:6084
    01                  [0] overlay_link DTLS-UDP-SR
    01 31               [0] foundation "1"
    7e0000ff            [0] priority
    01                  [0] type host (no rel_addr_port)
    0000                [0] extensions (none)
    01 06 c6336407 9c40  [1] addr_port: 198.51.100.7:40000
    01                  [1] overlay_link
    01 32               [1] foundation "2"
    6400ffff            [1] priority
    02                  [1] type srflx
    01 06 c0000201 17c4  [1] rel_addr_port 192.0.2.1:6084
    0006                [1] extensions length
    0001 6e 0001 76     [1] extensions[0]: name "n", value "v"
    00                  send_update false
  `);

  test('AttachReqAns known answer', () => {
    assert.equal(toHex(encodeAttachReqAns(attach)), toHex(bytes));
    assert.deepEqual(ok(decodeAttachReqAns(bytes)), attach);
  });

  test('AppAttachReqAns known answer, IPv6', () => {
    const v6: IceCandidate = { ...host, addrPort: { type: 'ipv6', addr: hex('20010db8000000000000000000000001'), port: 5060 } };
    const v = { ufrag: text('ab'), password: text('pq'), application: 5060, role: text('active'), candidates: [v6] };
    const b = hexdoc(`
      02 6162             ufrag
      02 7071             password
      13c4                application 5060 (SIP)
      06 616374697665     role "active"
      001e                candidates length (30)
      02 12               [0] addr_port: ipv6, length 18
      20010db8000000000000000000000001 13c4   [0] 2001:db8::1 port 5060
      01 01 31 7e0000ff 01 0000                [0] link, foundation, priority, host, no extensions
    `);
    assert.equal(toHex(encodeAppAttachReqAns(v)), toHex(b));
    assert.deepEqual(ok(decodeAppAttachReqAns(b)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(attachReqAns, (v) => assert.deepEqual(ok(decodeAttachReqAns(encodeAttachReqAns(v))), v)));
    fc.assert(fc.property(appAttachReqAns, (v) => assert.deepEqual(ok(decodeAppAttachReqAns(encodeAppAttachReqAns(v))), v)));
  });

  test('decode errors name the field', () => {
    const badLen = bytes.slice();
    badLen[17] = 7; // an IPv4 address_port of 7 bytes
    assertDecodeError(decodeAttachReqAns(badLen), 'AttachReqAns.candidates[0].addr_port.length');
    const badType = bytes.slice();
    badType[31] = 5;
    assertDecodeError(decodeAttachReqAns(badType), 'AttachReqAns.candidates[0].type');
    const badLink = bytes.slice();
    badLink[24] = 0;
    assertDecodeError(decodeAttachReqAns(badLink), 'AttachReqAns.candidates[0].overlay_link');
    const badBool = bytes.slice();
    badBool[bytes.length - 1] = 2;
    assertDecodeError(decodeAttachReqAns(badBool), 'AttachReqAns.send_update');
  });

  test('encode errors: rel_addr_port must match the candidate type', () => {
    assert.throws(() => encodeAttachReqAns({ ...attach, candidates: [{ ...srflx, relAddrPort: undefined }] }), isCodecError('RELOAD_ENCODE', 'AttachReqAns.candidates[0].rel_addr_port'));
    assert.throws(() => encodeAttachReqAns({ ...attach, candidates: [{ ...host, relAddrPort: host.addrPort }] }), isCodecError('RELOAD_ENCODE', 'AttachReqAns.candidates[0].rel_addr_port'));
    assert.throws(() => encodeAttachReqAns({ ...attach, candidates: [{ ...host, addrPort: { type: 'ipv4', addr: hex('00'), port: 1 } }] }), isCodecError('RELOAD_ENCODE', 'AttachReqAns.candidates[0].addr_port.addr'));
  });
});
