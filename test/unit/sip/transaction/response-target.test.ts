import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { responseTarget } from '../../../../src/sip/transaction/response-target.js';
import type { TransportProtocol } from '../../../../src/sip/transport/sip-transport.js';
import { inbound, request } from './tx-test-kit.js';

function from(via: string, protocol: TransportProtocol = 'udp', flowId?: string) {
  const r = request();
  r.headers.set('Via', via);
  return inbound(r, protocol, flowId);
}

describe('responseTarget (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  test('UDP: received + rport win', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKa')), {
      destination: { protocol: 'udp', host: '192.0.2.1', port: 9988 },
    });
  });

  test('UDP: received with the sent-by port, else 5060', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '192.0.2.1',
      port: 4540,
    });
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 10.1.1.1;received=192.0.2.1;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '192.0.2.1',
      port: 5060,
    });
  });

  test('UDP: sent-by host and port when there is no received', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP pc33.example.com:5071;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: 'pc33.example.com',
      port: 5071,
    });
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '198.51.100.7',
      port: 5060,
    });
  });

  test('rport with a value but no received: sent-by host, rport port', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 198.51.100.7:5062;rport=40000;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '198.51.100.7',
      port: 40000,
    });
  });

  test('an rport the transport left empty means the source address (RFC 3581 §4)', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKa')), {
      destination: { protocol: 'udp', host: '192.0.2.10', port: 5070 },
    });
  });

  test('IPv6: brackets removed', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP [2001:db8::9]:5070;received=[2001:db8::1];branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '2001:db8::1',
      port: 5070,
    });
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP [2001:db8::9];branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '2001:db8::9',
      port: 5060,
    });
  });

  test('reliable transport with a flow: on that connection, to the source', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/TCP 10.1.1.1:4540;received=192.0.2.1;branch=z9hG4bKa', 'tcp', 'conn-7')), {
      destination: { protocol: 'tcp', host: '192.0.2.10', port: 5070 },
      flowId: 'conn-7',
    });
    assert.deepEqual(responseTarget(from('SIP/2.0/WSS abc.invalid;branch=z9hG4bKa', 'wss', 'ws-1')), {
      destination: { protocol: 'wss', host: '192.0.2.10', port: 5070 },
      flowId: 'ws-1',
    });
  });

  test('reliable transport without a flow: Via rules, default port per transport', () => {
    const tcp = inbound(request({ via: 'SIP/2.0/TCP 10.1.1.1' }), 'tcp');
    tcp.flowId = undefined;
    assert.deepEqual(responseTarget(tcp).destination, { protocol: 'tcp', host: '10.1.1.1', port: 5060 });
    const tls = inbound(request({ via: 'SIP/2.0/TLS 10.1.1.1;received=192.0.2.44' }), 'tls');
    tls.flowId = undefined;
    assert.deepEqual(responseTarget(tls).destination, { protocol: 'tls', host: '192.0.2.44', port: 5061 });
  });

  test('maddr is ignored', () => {
    assert.deepEqual(responseTarget(from('SIP/2.0/UDP 10.1.1.1:4540;maddr=203.0.113.9;branch=z9hG4bKa')).destination, {
      protocol: 'udp',
      host: '10.1.1.1',
      port: 4540,
    });
  });

  test('a message without a Via is answered to its source, never throws', () => {
    const r = request();
    r.headers.remove('via');
    assert.deepEqual(responseTarget(inbound(r)), { destination: { protocol: 'udp', host: '192.0.2.10', port: 5070 } });
  });
});
