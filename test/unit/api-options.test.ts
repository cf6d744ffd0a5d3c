/**
 * The library API's start options (src/api/peer-options.ts): `p2psip up`'s defaults, the address forms,
 * clear config errors; application Kinds (src/node/application-kinds.ts): appended to the
 * zero-configuration overlay, every rule refused with its reason, checked against a configuration
 * document; AoR forms (src/api/sip-text.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_KIND_MAX_COUNT, DEFAULT_KIND_MAX_SIZE, kindDefinition, peerConfigOf, type KindSpec } from '../../src/api/peer-options.js';
import { P2psipApiError } from '../../src/api/api-error.js';
import { aorOf } from '../../src/api/sip-text.js';
import { MAX_APPLICATION_KINDS, MAX_APPLICATION_KIND_COUNT, MIN_APPLICATION_KIND_ID, withApplicationKinds } from '../../src/node/application-kinds.js';
import { ConfigError } from '../../src/node/peer-config.js';
import { defaultLanConfiguration } from '../../src/reload/config/index.js';
import type { KindDefinition } from '../../src/reload/storage/index.js';

const configError = (re: RegExp) => (e: unknown) => e instanceof P2psipApiError && e.code === 'config' && re.test(e.message);

describe('peerConfigOf', () => {
  test("no options: the defaults of `p2psip up` (closed, discovery, dns, the well-known ports)", () => {
    const c = peerConfigOf({}, '/home/u');
    assert.equal(c.overlay, 'p2psip.local');
    assert.deepEqual(c.sip, { host: '0.0.0.0', port: 5060 });
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 8060 });
    assert.deepEqual(c.outbound, { mode: 'dns' });
    assert.equal(c.apiTokenDir, join('/home/u', '.p2psip', 'p2psip.local'));
    assert.deepEqual(c.reload?.listen, { host: '0.0.0.0', port: 6084 });
    assert.equal(c.reload?.dataDir, join('/home/u', '.p2psip', 'p2psip.local'));
    assert.equal(c.reload?.open, false);
    assert.equal(c.reload?.client, false);
    assert.equal(c.reload?.discovery, true);
    assert.deepEqual(c.reload?.bootstrap, []);
    assert.equal(c.reload?.kinds, undefined);
  });

  test('addresses as text or objects, IPv6, http off, a proxy, a client with Kinds', () => {
    const c = peerConfigOf(
      { overlay: 'office.example', listen: '[::1]:0', sip: { host: '127.0.0.1', port: 0 }, http: false, bootstrap: ['10.0.0.1:6084', { host: '[fd00::1]', port: 7000 }], outbound: 'sip:proxy.example:5060', client: true, dataDir: '/d', kinds: [{ id: MIN_APPLICATION_KIND_ID, name: 'X', dataModel: 'array', access: 'NODE-MATCH' }] },
      '/home/u',
    );
    assert.equal(c.overlay, 'office.example');
    assert.deepEqual(c.reload?.listen, { host: '::1', port: 0 });
    assert.deepEqual(c.sip, { host: '127.0.0.1', port: 0 });
    assert.equal(c.http, undefined);
    assert.deepEqual(c.reload?.bootstrap, [{ host: '10.0.0.1', port: 6084 }, { host: 'fd00::1', port: 7000 }]);
    assert.equal(c.outbound.mode, 'proxy');
    assert.equal(c.reload?.client, true);
    assert.equal(c.reload?.dataDir, '/d');
    assert.equal(c.reload?.kinds?.[0]?.maxCount, DEFAULT_KIND_MAX_COUNT);
  });

  test('bad options: config errors naming the option', () => {
    assert.throws(() => peerConfigOf({ overlay: 'a b' }, '/h'), configError(/overlay/));
    assert.throws(() => peerConfigOf({ listen: 'x' }, '/h'), configError(/listen/));
    assert.throws(() => peerConfigOf({ sip: { host: '127.0.0.1', port: 70000 } }, '/h'), configError(/sip/));
    assert.throws(() => peerConfigOf({ http: '127.0.0.1:99999' }, '/h'), configError(/http/));
    assert.throws(() => peerConfigOf({ bootstrap: ['nope'] }, '/h'), configError(/bootstrap/));
    assert.throws(() => peerConfigOf({ outbound: 'mailto:x@y' }, '/h'), configError(/outbound/));
    assert.throws(() => peerConfigOf({ open: true, config: 'doc.xml' }, '/h'), configError(/configuration document decides/));
    assert.throws(() => peerConfigOf(null as never, '/h'), configError(/options object/));
  });

  test('kindDefinition: defaults per model; anyResource is proxy-peer-writes', () => {
    assert.deepEqual(kindDefinition({ id: 0xf0002000, name: 'S', dataModel: 'single', access: 'NODE-MATCH' }), { id: 0xf0002000, name: 'S', dataModel: 'single', accessControl: 'NODE-MATCH', maxCount: 1, maxSize: DEFAULT_KIND_MAX_SIZE });
    const d = kindDefinition({ id: 0xf0002001, name: 'D', dataModel: 'dictionary', access: 'USER-NODE-MATCH', anyResource: true, maxCount: 5, maxSize: 10 });
    assert.equal(d.proxyPeerWrites, true);
    assert.equal(d.maxCount, 5);
  });
});

describe('withApplicationKinds', () => {
  const lan = defaultLanConfiguration('p2psip.local', 'closed');
  const k = (over: Partial<KindSpec> = {}): KindDefinition => kindDefinition({ id: 0xf0001001, name: 'ROOM', dataModel: 'dictionary', access: 'USER-NODE-MATCH', anyResource: true, ...over });
  const refused = (kinds: KindDefinition[], re: RegExp, doc = false): void => {
    assert.throws(() => withApplicationKinds(doc ? docConfig : lan, kinds, doc), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  };
  const docConfig = { ...lan, kinds: [...lan.kinds, { ...k(), name: 'kind-4026535937' }] };

  test('appended to the zero-configuration overlay (a new object); none: the same configuration', () => {
    assert.equal(withApplicationKinds(lan, [], false), lan);
    const c = withApplicationKinds(lan, [k()], false);
    assert.notEqual(c, lan);
    assert.equal(c.kinds.length, lan.kinds.length + 1);
    assert.equal(c.kinds.at(-1)?.name, 'ROOM');
    assert.equal(lan.kinds.some((x) => x.name === 'ROOM'), false, 'the default configuration is not changed');
  });

  test('each rule, refused with its reason', () => {
    refused([k({ id: 0xf0000101 })], /0xf0001000 to 0xfffffffe/);
    refused([k({ id: 0xffffffff })], /0xf0001000 to 0xfffffffe/);
    refused([k({ id: 1.5 })], /private use/);
    refused([k({ name: '1abc' })], /name/);
    refused([k({ name: 'x'.repeat(65) })], /name/);
    refused([k({ dataModel: 'tree' as never })], /data model/);
    refused([k({ access: 'USAGE-GUARD' as never })], /access control/);
    refused([k({ dataModel: 'array' })], /USER-NODE-MATCH is for dictionary/);
    refused([k({ access: 'NODE-MATCH', anyResource: true })], /need USER-NODE-MATCH/);
    refused([k({ access: 'NODE-MULTIPLE', anyResource: false })], /maxNodeMultiple from 1 to 255/);
    refused([k({ access: 'NODE-MULTIPLE', anyResource: false, maxNodeMultiple: 256 })], /maxNodeMultiple/);
    refused([k({ maxCount: MAX_APPLICATION_KIND_COUNT + 1 })], /maxCount/);
    refused([k({ dataModel: 'single', access: 'NODE-MATCH', anyResource: false, maxCount: 2 })], /maxCount must be from 1 to 1/);
    refused([k({ maxSize: lan.maxMessageSize + 1 })], /max-message-size/);
    refused([k({ maxSize: 0 })], /maxSize/);
    refused([k(), k({ id: 0xf0001002 })], /twice/);
    refused([k(), k({ name: 'room' })], /twice/);
    refused([k({ name: 'TURN-SERVICE' })], /already the overlay's/);
    refused(Array.from({ length: MAX_APPLICATION_KINDS + 1 }, (_, i) => k({ id: 0xf0001000 + i, name: `K${i}` })), /at most/);
    const granted = { ...k(), proxyPeerWrites: undefined, grantedWrites: true };
    refused([granted], /p2psip's own/);
  });

  test('with a configuration document: checked against it, never added', () => {
    assert.equal(withApplicationKinds(docConfig, [k()], true), docConfig);
    refused([k({ id: 0xf0001005 })], /not in the overlay's configuration document/, true);
    refused([k({ anyResource: false })], /declares it dictionary USER-NODE-MATCH with proxy-peer-writes/, true);
  });
});

describe('aorOf', () => {
  test('a URI, user@domain, or a user of the overlay', () => {
    assert.equal(aorOf('bob', 'p2psip.local'), 'sip:bob@p2psip.local');
    assert.equal(aorOf(' bob@Example.COM ', 'p2psip.local'), 'sip:bob@example.com');
    assert.equal(aorOf('sip:bob@example.com;transport=tcp', 'p2psip.local'), 'sip:bob@example.com');
    assert.equal(aorOf('sips:bob@example.com:5061', 'p2psip.local'), 'sips:bob@example.com:5061');
  });
  test('anything else is bad-argument', () => {
    for (const bad of ['', 'sip:example.com', 'tel:+123', 'sip:bob@', 'x'.repeat(600), 42 as never]) {
      assert.throws(() => aorOf(bad, 'p2psip.local'), (e: unknown) => e instanceof P2psipApiError && e.code === 'bad-argument', String(bad).slice(0, 20));
    }
  });
});
