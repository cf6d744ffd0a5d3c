/**
 * The configuration's multicast-bootstrap element (issue 15; draft-ietf-p2psip-base, not in RFC 6940
 * as published): parsed from our extension namespace or the base one, serialised in ours, present in
 * the LAN default configuration; and the Ping/PingAns it carries, checked with the RELOAD codec.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LAN_MULTICAST_BOOTSTRAP, defaultLanConfiguration, parseOverlayConfiguration, serializeOverlayConfiguration } from '../../../../src/reload/config/index.js';
import { MessageCode, decodeReloadMessage } from '../../../../src/reload/codec/index.js';
import { BOOTSTRAP_OPTION_TYPE, decodeBootstrapDatagram, encodeBootstrapAnswer, encodeBootstrapPing, type BootstrapSelf } from '../../../../src/node/discovery/multicast-bootstrap.js';
import { configFingerprint, discoveryApplies } from '../../../../src/node/lan-discovery-service.js';

describe('multicast-bootstrap in the configuration', () => {
  test('the LAN default has an organization-local IPv4 group; serialise → parse keeps it', () => {
    const c = defaultLanConfiguration('p2psip.local');
    assert.deepEqual(c.multicastBootstrap, [{ address: '239.255.60.84', port: 6086 }]);
    assert.deepEqual(LAN_MULTICAST_BOOTSTRAP, { address: '239.255.60.84', port: 6086 });
    const xml = serializeOverlayConfiguration(c);
    assert.match(xml, /<p2psip:multicast-bootstrap xmlns:p2psip="urn:x-p2psip:config-ext" address="239.255.60.84" port="6086"\/>/);
    const r = parseOverlayConfiguration(xml);
    assert.ok(r.ok);
    assert.deepEqual(r.config.multicastBootstrap, c.multicastBootstrap);
  });
  test('the draft form in the base namespace is read too; a bad address or port is refused with the element named', () => {
    const doc = (el: string) =>
      `<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base"><configuration instance-name="x.local">${el}</configuration></overlay>`;
    const ok = parseOverlayConfiguration(doc('<multicast-bootstrap address="239.1.2.3" port="7000"/>'));
    assert.ok(ok.ok && ok.config.multicastBootstrap?.[0]?.port === 7000);
    const none = parseOverlayConfiguration(doc(''));
    assert.ok(none.ok && none.config.multicastBootstrap === undefined);
    const bad = parseOverlayConfiguration(doc('<multicast-bootstrap address="nope" port="7000"/>'));
    assert.ok(!bad.ok && /multicast-bootstrap/.test(bad.error.message));
    const badPort = parseOverlayConfiguration(doc('<multicast-bootstrap address="239.1.2.3" port="0"/>'));
    assert.ok(!badPort.ok);
  });
  test('open and closed configurations have different fingerprints (boxes of each ignore the other)', () => {
    const closed = configFingerprint(defaultLanConfiguration('p2psip.local'));
    assert.match(closed, /^[0-9a-f]{16}$/);
    assert.equal(configFingerprint(defaultLanConfiguration('p2psip.local')), closed);
    assert.notEqual(configFingerprint(defaultLanConfiguration('p2psip.local', 'open')), closed);
  });
});

describe('where discovery applies', () => {
  test('not for a peer whose overlay listens on loopback only (said once in the log)', () => {
    const lines: string[] = [];
    const log = { info: (_o: object, m: string) => lines.push(m) };
    assert.equal(discoveryApplies('127.0.0.1', log), false);
    assert.equal(discoveryApplies('::1', log), false);
    assert.equal(discoveryApplies('0.0.0.0', log), true);
    assert.equal(discoveryApplies('192.0.2.1', log), true);
    assert.equal(lines.length, 2);
  });
});

describe('bootstrap Ping and PingAns (RELOAD codec)', () => {
  const self = (b: number, port: number): BootstrapSelf => ({ overlayHash: 0xabcdef01, configurationSequence: 3, nodeId: new Uint8Array(16).fill(b), overlayPort: port, fingerprint: Buffer.from('0123456789abcdef', 'hex') });
  test('the Ping is a whole RELOAD message: ping_req, TTL 1, our option not critical; the answer is a ping_ans for the pinger', () => {
    const ping = encodeBootstrapPing(self(1, 6084), 77n);
    const m = decodeReloadMessage(ping, { nodeIdLength: 16 });
    assert.ok(m.ok);
    assert.equal(m.value.contents.messageCode, MessageCode.ping_req);
    assert.equal(m.value.header.ttl, 1);
    assert.equal(m.value.header.overlay, 0xabcdef01);
    assert.deepEqual(m.value.header.options.map((o) => [o.type, o.flags]), [[BOOTSTRAP_OPTION_TYPE, 0]]);
    const d = decodeBootstrapDatagram(ping, self(2, 7000));
    assert.ok(d.ok && d.value.kind === 'ping' && d.value.port === 6084 && d.value.transactionId === 77n);
    const ans = encodeBootstrapAnswer(self(2, 7000), d.value, 5n, 1000);
    const a = decodeBootstrapDatagram(ans, self(1, 6084));
    assert.ok(a.ok && a.value.kind === 'answer' && a.value.port === 7000 && a.value.transactionId === 77n);
    assert.deepEqual(a.value.to, new Uint8Array(16).fill(1));
  });
  test('another overlay, another configuration, our own, oversized or non-RELOAD bytes are refused with a reason', () => {
    const ping = encodeBootstrapPing(self(1, 6084), 1n);
    assert.deepEqual(decodeBootstrapDatagram(ping, { ...self(2, 1), overlayHash: 1 }), { ok: false, problem: 'bootstrap-foreign-overlay' });
    assert.deepEqual(decodeBootstrapDatagram(ping, { ...self(2, 1), fingerprint: new Uint8Array(8) }), { ok: false, problem: 'bootstrap-foreign-config' });
    assert.deepEqual(decodeBootstrapDatagram(ping, self(1, 1)), { ok: false, problem: 'bootstrap-own' });
    assert.deepEqual(decodeBootstrapDatagram(new Uint8Array(1501), self(2, 1)), { ok: false, problem: 'bootstrap-too-big' });
    assert.deepEqual(decodeBootstrapDatagram(Uint8Array.of(1, 2, 3), self(2, 1)), { ok: false, problem: 'bootstrap-not-reload' });
  });
});
