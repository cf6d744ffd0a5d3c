/**
 * Kamailio and a p2psip overlay side by side, both directions (issue 6): Kamailio serves the
 * SIP domain kam.test (registrar, in-memory usrloc, record-routing proxy) and routes the
 * overlay's domain to one peer (peer A); every peer sends AoRs outside the overlay to Kamailio
 * (`--outbound sip:127.0.0.1:<kamailio>`). bob registers at Kamailio, alice at peer B (not the
 * one Kamailio forwards to), so a call from bob to alice crosses Kamailio, peer A, the overlay
 * and peer B. Calls both ways are answered (200, ACK, BYE 200) and MESSAGE goes both ways.
 * tshark (when it can capture) checks every datagram of the test's ports for malformed SIP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DialogPhone } from '../../harness/dialog-phone.js';
import { withScope } from '../../harness/process-scope.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../harness/port-allocator.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { startKamailio } from '../../harness/sip-server.js';

const TEST_TIMEOUT_MS = 180_000;
const OVERLAY = 'ov.test';
const KAM_DOMAIN = 'kam.test';
const KAMAILIO_OVERLAY_CFG = join(REPO_ROOT, 'test', 'interop', 'kamailio', 'kamailio-overlay.cfg');

test('Kamailio <-> overlay: bob@kam.test and alice@overlay call each other (200, ACK, BYE 200) and exchange MESSAGE', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['kamailio'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const kamPort = await scope.port({ range: FOUR_DIGIT_PORTS });
    const peers = await startOverlayPeers(scope, {
      count: 3,
      overlay: OVERLAY,
      outbound: `sip:127.0.0.1:${kamPort}`,
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    const [a, b] = peers;
    assert.ok(a !== undefined && b !== undefined);
    const kam = await startKamailio(scope, {
      port: kamPort,
      lifetimeMs: TEST_TIMEOUT_MS,
      // One UDP worker: with two, Kamailio can hand a 180 and the 200 right behind it to
      // different workers and send them out of order; the late 180 is then (rightly) dropped by
      // the UAC's transaction and the test's "180 reached" check fails (seen once in CI).
      workers: 1,
      configPath: KAMAILIO_OVERLAY_CFG,
      defines: {
        LOCAL_DOMAIN: `"${KAM_DOMAIN}"`,
        OVERLAY_DOMAIN: `"${OVERLAY}"`,
        OVERLAY_PEER: `"sip:127.0.0.1:${a.port}"`,
      },
    });
    const alice = await DialogPhone.open('alice', OVERLAY, { host: '127.0.0.1', port: b.port });
    const bob = await DialogPhone.open('bob', KAM_DOMAIN, { host: '127.0.0.1', port: kam.port });
    scope.defer(() => {
      alice.close();
      bob.close();
    });
    const capture = await startSipCaptureCheck(t, scope, {
      dir,
      name: 'kamailio-overlay',
      ports: [kam.port, ...peers.map((p) => p.port), alice.port, bob.port],
      lifetimeMs: TEST_TIMEOUT_MS,
    });

    assert.equal(await bob.register(), 200, 'bob registers at Kamailio');
    assert.equal(await alice.register(), 200, 'alice registers at peer B');

    // bob -> Kamailio -> peer A -> overlay -> peer B -> alice.
    const toAlice = await bob.call(`sip:alice@${OVERLAY}`, 20_000);
    assert.equal(toAlice.status, 200, 'bob -> alice answered');
    assert.notEqual(toAlice.ringMs, undefined, '180 reached bob');
    assert.equal(toAlice.byeStatus, 200, 'BYE along the route set answered');
    const rr = toAlice.recordRoute.join(', ');
    for (const port of [kam.port, a.port, b.port]) assert.match(rr, new RegExp(`127\\.0\\.0\\.1:${port}\\b`), `Record-Route names 127.0.0.1:${port}: ${rr}`);
    await alice.waitRequest('ACK', 10_000);
    await alice.waitRequest('BYE', 10_000);

    // alice -> peer B -> (outbound) Kamailio -> bob.
    const toBob = await alice.call(`sip:bob@${KAM_DOMAIN}`, 20_000);
    assert.equal(toBob.status, 200, 'alice -> bob answered');
    assert.notEqual(toBob.ringMs, undefined, '180 reached alice');
    assert.equal(toBob.byeStatus, 200, 'BYE along the route set answered');
    assert.match(toBob.recordRoute.join(', '), new RegExp(`127\\.0\\.0\\.1:${kam.port}\\b`));
    await bob.waitRequest('ACK', 10_000);
    await bob.waitRequest('BYE', 10_000);

    // MESSAGE both ways (RFC 3428), same paths.
    assert.equal(await bob.message(`sip:alice@${OVERLAY}`, 'hello from kamailio'), 200);
    assert.match(await alice.waitRequest('MESSAGE', 10_000), /hello from kamailio/);
    assert.equal(await alice.message(`sip:bob@${KAM_DOMAIN}`, 'hello from the overlay'), 200);
    assert.match(await bob.waitRequest('MESSAGE', 10_000), /hello from the overlay/);

    // An overlay user nobody registered: the overlay's 404 comes back through Kamailio.
    const nobody = await bob.call(`sip:nobody@${OVERLAY}`, 20_000);
    assert.equal(nobody.status, 404);

    await capture.finish(20);
  });
});
