import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  defaultLanConfiguration,
  parseOverlayConfiguration,
  serializeOverlayConfiguration,
} from '../../../../src/reload/config/index.js';
import type { OverlayConfiguration } from '../../../../src/reload/config/index.js';

const RFC_EXAMPLE = readFileSync(fileURLToPath(new URL('./rfc6940-example.xml', import.meta.url)), 'utf8');

function parseOk(xml: string, instanceName?: string): OverlayConfiguration {
  const r = parseOverlayConfiguration(xml, instanceName === undefined ? {} : { instanceName });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.config;
}

function parseError(xml: string): string {
  const r = parseOverlayConfiguration(xml);
  assert.ok(!r.ok, 'expected a refusal');
  return r.error.message;
}

const wrap = (inner: string, attrs = 'instance-name="o.example"'): string =>
  `<?xml version="1.0" encoding="UTF-8"?><overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base" xmlns:chord="urn:ietf:params:xml:ns:p2p:config-chord"><configuration ${attrs}>${inner}</configuration></overlay>`;

describe('overlay configuration document (RFC 6940 §11.1)', () => {
  test("the RFC's example document parses", () => {
    const r = parseOverlayConfiguration(RFC_EXAMPLE);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const c = r.config;
    assert.equal(c.instanceName, 'overlay.example.org');
    assert.equal(c.sequence, 22);
    assert.equal(c.expiration, '2002-10-10T07:00:00Z');
    assert.equal(c.topologyPlugin, 'CHORD-RELOAD');
    assert.equal(c.nodeIdLength, 16);
    assert.equal(c.rootCertificates.length, 2);
    assert.equal(c.rootCertificates[0]![0], 0x30, 'DER SEQUENCE');
    assert.deepEqual(c.enrollmentServers, ['https://example.org', 'https://example.net']);
    assert.equal(c.selfSignedPermitted, false);
    assert.equal(c.selfSignedDigest, 'sha1');
    assert.deepEqual(c.bootstrapNodes, [
      { address: '192.0.0.1', port: 6084 },
      { address: '192.0.2.2', port: 6084 },
      { address: '2001:db8::1', port: 6084 },
    ]);
    assert.equal(c.turnDensity, 20);
    assert.equal(c.clientsPermitted, false);
    assert.equal(c.noIce, false);
    assert.equal(c.chordUpdateInterval, 400);
    assert.equal(c.chordPingInterval, 30);
    assert.equal(c.chordReactive, true);
    assert.equal(c.sharedSecret, 'password');
    assert.equal(c.maxMessageSize, 4000);
    assert.equal(c.initialTtl, 30);
    assert.equal(c.overlayReliabilityTimer, 3000);
    assert.deepEqual(c.overlayLinkProtocols, ['TLS']);
    assert.deepEqual(c.configurationSigners, ['47112162e84c69ba']);
    assert.deepEqual(c.kindSigners, ['47112162e84c69ba', '6eba45d31a900c06']);
    assert.deepEqual(c.badNodes, ['6ebc45d31a900c06', '6ebc45d31a900ca6']);
    assert.deepEqual(c.mandatoryExtensions, ['urn:ietf:params:xml:ns:p2p:config-ext1']);
    // SIP-REGISTRATION is registered: its registration's model and policy win (RFC 6940 §11.1)
    assert.deepEqual(c.kinds, [
      { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 1, maxSize: 100 },
      { id: 2000, name: 'kind-2000', dataModel: 'array', accessControl: 'NODE-MULTIPLE', maxCount: 22, maxSize: 4, maxNodeMultiple: 3 },
    ]);
    assert.ok(r.document.configurationXml.startsWith('<configuration instance-name="overlay.example.org"'));
    assert.ok(r.document.configurationXml.endsWith('</configuration>'));
    assert.deepEqual(r.document.signature, new Uint8Array(Buffer.from('This is not right!\n')));
    assert.ok(r.document.kindBlocks[1]!.kindXml.startsWith('<kind id="2000">'));
    assert.ok(r.document.kindBlocks[0]!.signature !== undefined);
    // the second configuration of the document, by instance-name
    const other = parseOk(RFC_EXAMPLE, 'other.example.net');
    assert.equal(other.instanceName, 'other.example.net');
    assert.equal(other.maxMessageSize, 5000);
    assert.ok(!parseOverlayConfiguration(RFC_EXAMPLE, { instanceName: 'nope' }).ok);
  });

  test('defaults of a minimal configuration', () => {
    const c = parseOk(wrap(''));
    assert.deepEqual(c, {
      instanceName: 'o.example',
      sequence: 0,
      topologyPlugin: 'CHORD-RELOAD',
      nodeIdLength: 16,
      rootCertificates: [],
      enrollmentServers: [],
      selfSignedPermitted: false,
      selfSignedDigest: 'sha256',
      bootstrapNodes: [],
      turnDensity: 1,
      clientsPermitted: true,
      noIce: false,
      maxMessageSize: 5000,
      initialTtl: 100,
      overlayReliabilityTimer: 3000,
      overlayLinkProtocols: ['TLS'],
      configurationSigners: [],
      kindSigners: [],
      badNodes: [],
      mandatoryExtensions: [],
      kinds: [],
      chordReactive: true,
    });
  });

  test('parse(serialize(c)) = c', () => {
    const lan = defaultLanConfiguration('lan.p2psip');
    assert.deepEqual(parseOk(serializeOverlayConfiguration(lan)), lan);
    const full: OverlayConfiguration = {
      ...lan,
      instanceName: 'a&b<c>.example',
      sequence: 65534,
      expiration: '2030-01-01T00:00:00Z',
      nodeIdLength: 20,
      rootCertificates: [new Uint8Array([0x30, 1, 2, 3])],
      enrollmentServers: ['https://enroll.example:8443/enroll?x=1&y=2'],
      selfSignedPermitted: false,
      selfSignedDigest: 'sha1',
      bootstrapNodes: [{ address: '127.0.0.1', port: 6084 }, { address: '::1', port: 7000 }],
      turnDensity: 0,
      clientsPermitted: false,
      noIce: true,
      sharedSecret: 's3cr"et',
      maxMessageSize: 10000,
      initialTtl: 50,
      overlayReliabilityTimer: 500,
      overlayLinkProtocols: ['TLS', 'DTLS'],
      configurationSigners: ['00ff'],
      kindSigners: ['00ff', 'abcd'],
      badNodes: ['1234'],
      mandatoryExtensions: ['urn:x'],
      kinds: [...lan.kinds, { id: 0xf0000001, name: 'kind-4026531841', dataModel: 'array', accessControl: 'NODE-MULTIPLE', maxCount: 3, maxSize: 9, maxNodeMultiple: 2 }],
      chordUpdateInterval: 600,
      chordPingInterval: 20,
      chordReactive: false,
    };
    assert.deepEqual(parseOk(serializeOverlayConfiguration(full)), full);
  });

  test('bad documents give errors naming the element', () => {
    assert.match(parseError('<overlay><configuration'), /not well-formed/);
    assert.match(parseError('<foo/>'), /overlay: the document element must be overlay/);
    assert.match(parseError('<overlay/>'), /overlay\/configuration: missing/);
    assert.match(parseError(wrap('', 'sequence="1"')), /@instance-name: missing/);
    assert.match(parseError(wrap('', 'instance-name="x" sequence="65535"')), /@sequence: 65535 is outside/);
    assert.match(parseError(wrap('', 'instance-name="x" expiration="tomorrow"')), /@expiration/);
    assert.match(parseError(wrap('<node-id-length>21</node-id-length>')), /configuration\[1\]\/node-id-length: 21 is outside 16..20/);
    assert.match(parseError(wrap('<node-id-length>16</node-id-length><node-id-length>16</node-id-length>')), /node-id-length: may appear only once/);
    assert.match(parseError(wrap('<clients-permitted>yes</clients-permitted>')), /clients-permitted: "yes" is not a boolean/);
    assert.match(parseError(wrap('<root-cert>!!!</root-cert>')), /root-cert\[1\]: not base64/);
    assert.match(parseError(wrap('<enrollment-server>http://x</enrollment-server>')), /enrollment-server\[1\]: "http:\/\/x" is not an https: URL/);
    assert.match(parseError(wrap('<bootstrap-node address="host.example"/>')), /bootstrap-node\[1\]\/@address/);
    assert.match(parseError(wrap('<bootstrap-node address="1.2.3.4" port="70000"/>')), /bootstrap-node\[1\]\/@port/);
    assert.match(parseError(wrap('<self-signed-permitted digest="md5">true</self-signed-permitted>')), /@digest: unsupported digest "md5"/);
    assert.match(parseError(wrap('<kind-signer>xyz</kind-signer>')), /kind-signer\[1\]: "xyz" is not a hex Node-ID/);
    assert.match(parseError(wrap('<overlay-reliability-timer>100</overlay-reliability-timer>')), /overlay-reliability-timer: 100 is outside/);
    const kind = (inner: string, attr = 'id="4000"') => wrap(`<required-kinds><kind-block><kind ${attr}>${inner}</kind></kind-block></required-kinds>`);
    const ok = '<data-model>ARRAY</data-model><access-control>NODE-MATCH</access-control><max-count>1</max-count><max-size>10</max-size>';
    assert.equal(parseOk(kind(ok)).kinds[0]!.id, 4000);
    assert.match(parseError(kind(ok, 'name="NOPE"')), /kind-block\[1\]\/kind\/@name: "NOPE" is not a registered Kind/);
    assert.match(parseError(kind(ok, '')), /kind-block\[1\]\/kind: needs exactly one of the attributes/);
    assert.match(parseError(kind(ok.replace('<max-size>10</max-size>', ''))), /kind\/max-size: missing/);
    assert.match(parseError(kind(ok.replace('ARRAY', 'TREE'))), /kind\/data-model: unknown data model "TREE"/);
    assert.match(parseError(kind(ok.replace('NODE-MATCH', 'EXP-MATCH'))), /kind\/access-control: unknown access control policy/);
    assert.match(parseError(kind(ok.replace('NODE-MATCH', 'NODE-MULTIPLE'))), /kind\/max-node-multiple: required with NODE-MULTIPLE/);
    assert.match(parseError(kind(ok.replace('NODE-MATCH', 'USER-NODE-MATCH'))), /only for dictionary/);
    assert.match(parseError(wrap(`<required-kinds><kind-block><kind id="5">${ok}</kind></kind-block><kind-block><kind id="5">${ok}</kind></kind-block></required-kinds>`)), /Kind-ID 5 defined twice/);
  });

  test('limits: size, repeated elements, no DOCTYPE', () => {
    assert.match(parseError('<!DOCTYPE overlay [<!ENTITY a "aaaa">]><overlay/>'), /DOCTYPE/);
    const big = wrap(`<mandatory-extension>${'x'.repeat(1024 * 1024)}</mandatory-extension>`);
    assert.match(parseError(big), /exceeds/);
    const r = parseOverlayConfiguration(wrap('<bad-node>00</bad-node>'.repeat(5)), { maxRepeated: 4 });
    assert.ok(!r.ok && /bad-node: more than 4/.test(r.error.message));
    const n = parseOverlayConfiguration(42 as unknown as string);
    assert.ok(!n.ok);
  });
});
