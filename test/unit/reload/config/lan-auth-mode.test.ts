/**
 * Issue 15: the zero-configuration overlay closed (default) or open, as configuration documents say
 * it: SIP-REGISTRATION with p2psip:granted-writes or p2psip:proxy-peer-writes, the user directory
 * Kinds (private-use ids, USAGE-GUARD, the user record private whatever a document says).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  P2PSIP_USER_KIND_ID,
  P2PSIP_WRITE_GRANT_KIND_ID,
  defaultLanConfiguration,
  parseOverlayConfiguration,
  serializeOverlayConfiguration,
} from '../../../../src/reload/config/index.js';
import { WRITE_GRANT_KIND_ID } from '../../../../src/reload/storage/index.js';

const parse = (xml: string) => parseOverlayConfiguration(xml);

describe('open and closed LAN configurations', () => {
  test('closed by default: granted writes and the user directory; open: proxy-peer writes and no directory', () => {
    const closed = defaultLanConfiguration('lan.test');
    const sip = closed.kinds.find((k) => k.id === 1)!;
    assert.equal(sip.grantedWrites, true);
    assert.equal(sip.proxyPeerWrites, undefined);
    assert.equal(closed.kinds.find((k) => k.id === P2PSIP_USER_KIND_ID)?.private, true);
    assert.equal(P2PSIP_WRITE_GRANT_KIND_ID, WRITE_GRANT_KIND_ID);
    const open = defaultLanConfiguration('lan.test', 'open');
    assert.equal(open.kinds.find((k) => k.id === 1)!.proxyPeerWrites, true);
    assert.equal(open.kinds.some((k) => k.id === P2PSIP_USER_KIND_ID), false);
    assert.notEqual(serializeOverlayConfiguration(open), serializeOverlayConfiguration(closed), 'different documents, different overlays');
  });

  test('both round-trip through the document', () => {
    for (const mode of ['open', 'closed'] as const) {
      const c = defaultLanConfiguration('lan.test', mode);
      const r = parse(serializeOverlayConfiguration(c));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.ok && r.config, c);
    }
  });

  test('a document cannot make the user record public nor change its policy; granted-writes is checked', () => {
    const c = defaultLanConfiguration('lan.test');
    const xml = serializeOverlayConfiguration(c).replace(/<kind id="4026532097">[\s\S]*?<\/kind>/, '<kind id="4026532097"><data-model>ARRAY</data-model><access-control>USER-MATCH</access-control><max-count>1</max-count><max-size>1024</max-size></kind>');
    const r = parse(xml);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const user = r.ok ? r.config.kinds.find((k) => k.id === P2PSIP_USER_KIND_ID) : undefined;
    assert.deepEqual([user?.private, user?.accessControl, user?.dataModel], [true, 'USAGE-GUARD', 'single']);
    const bad = serializeOverlayConfiguration(c).replace('<p2psip:granted-writes', '<p2psip:proxy-peer-writes xmlns:p2psip="urn:x-p2psip:config-ext">true</p2psip:proxy-peer-writes><p2psip:granted-writes');
    const rb = parse(bad);
    assert.equal(rb.ok, false);
    assert.match(rb.ok ? '' : rb.error.message, /not with proxy-peer-writes/);
  });
});
