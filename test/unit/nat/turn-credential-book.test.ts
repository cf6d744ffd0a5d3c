/**
 * Issue 12, unsolicited TURN allocations, the credential side: a TURN peer hands out credentials only
 * through AppAttach(3478) (usages/turn/turn-app-attach.ts), at most `maxPerNode` live ones per Node-ID
 * and `maxCredentials` in all; past that the AppAttach is refused with Error_Forbidden, and the TURN
 * server's key lookup knows nothing it did not issue.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { longTermKey } from '../../../src/nat/stun/stun-message.js';
import { MessageCode, OverlayLinkType, ReloadErrorCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../../src/reload/codec/index.js';
import type { InboundRequest } from '../../../src/reload/overlay/overlay-types.js';
import { TURN_APPLICATION_ID, TurnCredentialBook, turnAppAttachHandler } from '../../../src/usages/turn/turn-app-attach.js';

const REALM = 'p2psip.test';
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const nodeId = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? n & 255 : i === 14 ? n >> 8 : 0xa0));

function appAttach(origin: Uint8Array | undefined): InboundRequest {
  const body = encodeAppAttachReqAns({ ufrag: utf8.encode('REQUESTERufrag01'), password: utf8.encode('REQUESTERpasswordREQUEST'), application: TURN_APPLICATION_ID, role: utf8.encode('active'), candidates: [] });
  const partial: Partial<InboundRequest> = { code: MessageCode.app_attach_req, body, origin, fromNeighbour: undefined, signer: undefined, hops: 1 };
  return partial as InboundRequest;
}

describe('TurnCredentialBook: per-node and total bounds', () => {
  test('maxPerNode (default 4) live credentials per Node-ID; the next is refused and counted; other nodes unaffected', () => {
    const clock = new ManualClock(0);
    const book = new TurnCredentialBook(clock, new SeededRandom(1), REALM);
    const a = nodeId(1);
    const issued = Array.from({ length: 4 }, () => book.issue(a));
    assert.ok(issued.every((c) => c !== undefined));
    for (let i = 0; i < 1_000; i++) assert.equal(book.issue(a), undefined);
    assert.equal(book.refused, 1_000);
    assert.equal(book.issued, 4);
    assert.equal(book.size, 4, 'refusals keep nothing');
    assert.ok(book.issue(nodeId(2)) !== undefined);
    // each issued credential is a key the TURN server can look up; nothing else is
    for (const c of issued) assert.deepEqual(book.lookupKey(c!.username, REALM), longTermKey(c!.username, REALM, c!.password));
    assert.equal(book.lookupKey('made-up-user', REALM), undefined);
    assert.equal(book.lookupKey(issued[0]!.username, 'other.realm'), undefined);
  });

  test('credentials expire after credentialLifetimeMs: then the node may have new ones, the old keys are gone', () => {
    const clock = new ManualClock(0);
    const book = new TurnCredentialBook(clock, new SeededRandom(1), REALM, { credentialLifetimeMs: 60_000, maxPerNode: 2 });
    const a = nodeId(1);
    const old = [book.issue(a)!, book.issue(a)!];
    assert.equal(book.issue(a), undefined);
    clock.advance(60_000);
    assert.equal(book.lookupKey(old[0]!.username, REALM), undefined);
    assert.ok(book.issue(a) !== undefined);
    assert.equal(book.size, 1, 'expired credentials are dropped when the book is next written');
  });

  test('maxCredentials bounds the book: when full of live credentials new ones are refused, none evicted; expiry frees room', () => {
    const clock = new ManualClock(0);
    const book = new TurnCredentialBook(clock, new SeededRandom(1), REALM, { maxCredentials: 100, credentialLifetimeMs: 60_000 });
    const first = book.issue(nodeId(0))!;
    let refused = 0;
    for (let n = 1; n < 1_000; n++) if (book.issue(nodeId(n)) === undefined) refused++;
    assert.equal(book.size, 100);
    assert.equal(refused, 900);
    assert.ok(book.lookupKey(first.username, REALM) !== undefined, 'a live credential is never evicted (free Node-IDs cannot push a peer out)');
    clock.advance(60_000);
    assert.ok(book.issue(nodeId(5_000)) !== undefined, 'expired ones make room');
    assert.equal(book.size, 1);
  });

  test('a credential in use (each TURN request looks it up) lives on past its lifetime; an unused one expires', () => {
    const clock = new ManualClock(0);
    const book = new TurnCredentialBook(clock, new SeededRandom(2), REALM, { credentialLifetimeMs: 60_000 });
    const used = book.issue(nodeId(1))!;
    const idle = book.issue(nodeId(2))!;
    for (let t = 0; t < 10; t++) {
      clock.advance(30_000); // an allocation refreshed every 30 s for 5 minutes
      assert.ok(book.lookupKey(used.username, REALM) !== undefined, `still valid at ${clock.now()} ms`);
    }
    assert.equal(book.lookupKey(idle.username, REALM), undefined);
  });

  test('AppAttach(3478): four answers with credentials, then Error_Forbidden naming the reason; no requester: Forbidden', () => {
    const clock = new ManualClock(0);
    const book = new TurnCredentialBook(clock, new SeededRandom(1), REALM);
    const handler = turnAppAttachHandler(book, () => ({ host: '203.0.113.5', port: 6084 }));
    const origin = nodeId(7);
    for (let i = 0; i < 4; i++) {
      const r = handler(appAttach(origin));
      assert.ok('code' in r, JSON.stringify(r));
      assert.equal(r.code, MessageCode.app_attach_ans);
      const d = decodeAppAttachReqAns(r.body);
      assert.ok(d.ok);
      assert.equal(d.value.application, TURN_APPLICATION_ID);
      assert.equal(d.value.candidates[0]!.overlayLink, OverlayLinkType['DTLS-UDP-SR']);
      assert.ok(book.lookupKey(utf8d.decode(d.value.ufrag), REALM) !== undefined);
    }
    const refused = handler(appAttach(origin));
    assert.ok('error' in refused);
    assert.equal(refused.error, ReloadErrorCode.Forbidden);
    assert.match(refused.info, /too many TURN credentials for this node/);
    const anonymous = handler(appAttach(undefined));
    assert.ok('error' in anonymous && anonymous.error === ReloadErrorCode.Forbidden && /known requester/.test(anonymous.info));
    const garbage = handler({ ...appAttach(origin), body: Uint8Array.of(1, 2, 3) });
    assert.ok('error' in garbage && garbage.error === ReloadErrorCode.InvalidMessage);
    assert.equal(book.size, 4);
  });
});
