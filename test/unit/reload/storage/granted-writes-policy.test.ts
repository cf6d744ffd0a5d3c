/**
 * Issue 15: the access rules of a closed overlay in the pure policy and the engine with no usage:
 * `grantedWrites` is USER-NODE-MATCH whose user half is a write grant (checked by planStore at the
 * responsible peer); a USAGE-GUARD Kind with no guard takes no original Store; grants decode.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/index.js';
import { MemoryStorageBackend, StorageEngine, WRITE_GRANT_KIND_ID, checkAccessPolicy, decodeWriteGrant, liveGrantUntil, writeGrantValue } from '../../../../src/reload/storage/index.js';
import { FakeVerifier, MALLORY, ALICE, dict, hash, sd, storeReq, utf8 } from './storage-fixtures.js';

const SIP: KindDefinition = { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 4, maxSize: 100, grantedWrites: true };
const GRANT: KindDefinition = { id: WRITE_GRANT_KIND_ID, name: 'P2PSIP-WRITE-GRANT', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: 4, maxSize: 8 };
const RES = hash(utf8('bob@p2psip.local'));

describe('granted writes', () => {
  test('the pure policy: key = signer Node-ID, user name not required (the grant is the storing peer\'s check)', () => {
    assert.deepEqual(checkAccessPolicy(SIP, RES, dict(MALLORY.nodeIds[0]!, 'x'), MALLORY, hash), { ok: true });
    assert.equal(checkAccessPolicy(SIP, RES, dict(ALICE.nodeIds[0]!, 'x'), MALLORY, hash).ok, false);
    assert.deepEqual(checkAccessPolicy(GRANT, RES, dict(ALICE.nodeIds[0]!, 'x'), MALLORY, hash), { ok: true });
  });

  test('the engine: no grant → Error_Forbidden; no guard for a USAGE-GUARD Kind → Error_Forbidden', () => {
    const clock = new ManualClock(1000);
    const engine = new StorageEngine({ clock, backend: new MemoryStorageBackend(), kinds: (id) => [SIP, GRANT].find((k) => k.id === id), hashResourceName: hash, verifyStoredData: new FakeVerifier() });
    const reg = engine.store(storeReq(RES, 1, [sd(MALLORY, 1n, dict(MALLORY.nodeIds[0]!, 'sip:x'))]), { requester: MALLORY });
    assert.equal(!reg.ok && reg.code, ReloadErrorCode.Forbidden);
    const g = engine.store(storeReq(RES, WRITE_GRANT_KIND_ID, [sd(MALLORY, 1n, writeGrantValue(MALLORY.nodeIds[0]!, 1e12))]), { requester: MALLORY });
    assert.equal(!g.ok && g.code, ReloadErrorCode.Forbidden);
    // a replica grant (from the responsible peer) is held and then opens the door at this peer if it becomes responsible
    assert.ok(engine.store({ resource: RES, replicaNumber: 1, kindData: [{ kind: WRITE_GRANT_KIND_ID, generationCounter: 1n, values: [sd(ALICE, 1n, writeGrantValue(MALLORY.nodeIds[0]!, 5000))] }] }).ok);
    assert.ok(engine.store(storeReq(RES, 1, [sd(MALLORY, 2n, dict(MALLORY.nodeIds[0]!, 'sip:x'))]), { requester: MALLORY }).ok);
    clock.advance(4001);
    assert.equal(engine.store(storeReq(RES, 1, [sd(MALLORY, 3n, dict(MALLORY.nodeIds[0]!, 'sip:y'))]), { requester: MALLORY }).ok, false, 'the grant ended at 5000');
  });

  test('grant values: 8 bytes of expiry; anything else is no grant', () => {
    const v = writeGrantValue(ALICE.nodeIds[0]!, 123_456);
    assert.equal(v.model === 'dictionary' && decodeWriteGrant(v.value.value), 123_456);
    assert.equal(decodeWriteGrant(new Uint8Array(7)), undefined);
    assert.equal(liveGrantUntil(undefined, ALICE.nodeIds[0]!, 0), undefined);
  });
});
