/**
 * Issue 15: `p2psip user add|passwd|remove|list` as the local peer runs them (UserDirectory), against
 * a storage engine with the storing peers' guards: version discovery on a change, the current
 * password proof, the owner's override, the local list; garbage records never crash the decoder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../../src/lib/random.js';
import { P2PSIP_AUTH_PROOF_KIND_ID, P2PSIP_USER_KIND_ID, defaultLanConfiguration } from '../../../../../src/reload/config/index.js';
import type { StoredDataValue } from '../../../../../src/reload/codec/index.js';
import type { AccessIdentity, ClientStoreResult, ResourceRef } from '../../../../../src/reload/storage/index.js';
import { MemoryStorageBackend, StorageEngine, toHex } from '../../../../../src/reload/storage/index.js';
import { UserDirectory } from '../../../../../src/usages/sip/auth/user-directory.js';
import { UserDirectoryGuards } from '../../../../../src/usages/sip/auth/user-directory-guards.js';
import { decodeUserRecord } from '../../../../../src/usages/sip/auth/user-record.js';
import { decodeAuthProof } from '../../../../../src/usages/sip/auth/auth-proof.js';
import { computeDigestResponse as expectedResponse, computeHa1 as ha1 } from '../../../../../src/sip/auth/digest-math.js';
import { encodeAuthProof } from '../../../../../src/usages/sip/auth/auth-proof.js';
import { FakeVerifier, hash, nodeId, sd, storeReq, utf8 } from '../../../reload/storage/storage-fixtures.js';
import type { RecordStore } from '../../../../../src/lib/record-store.js';

const REALM = 'p2psip.local';
const A: AccessIdentity = { userName: 'a@x', nodeIds: [nodeId(0xa0)] };
const B: AccessIdentity = { userName: 'b@x', nodeIds: [nodeId(0xb0)] };

function world() {
  const clock = new ManualClock(1_000_000);
  const kinds = defaultLanConfiguration(REALM).kinds;
  const guards = new UserDirectoryGuards({ hashResourceName: hash, signGrant: (_r, v, l) => sd(A, 1n, v, l) }, { realm: REALM });
  const engine = new StorageEngine({
    clock,
    backend: new MemoryStorageBackend(),
    kinds: (id) => kinds.find((k) => k.id === id),
    hashResourceName: hash,
    verifyStoredData: new FakeVerifier([A, B]),
    guards: (id) => (id === P2PSIP_USER_KIND_ID ? guards.userGuard : id === P2PSIP_AUTH_PROOF_KIND_ID ? guards.proofGuard : undefined),
  });
  let t = 1n;
  const storageOf = (who: AccessIdentity) => ({
    store: async (kind: number, ref: ResourceRef, values: readonly StoredDataValue[], opts: { lifetime?: number } = {}): Promise<ClientStoreResult> => {
      const resource = 'resourceId' in ref ? ref.resourceId : hash(typeof ref.resourceName === 'string' ? utf8(ref.resourceName) : ref.resourceName);
      const r = engine.store(storeReq(resource, kind, values.map((v) => sd(who, t++, v, opts.lifetime ?? 60))), { requester: who });
      return r.ok ? { ok: true, answer: r.answer, responder: undefined } : { ok: false, errorCode: r.code, info: r.info };
    },
  });
  const table = new Map<string, string>();
  const known: RecordStore = { loadAll: () => table.entries(), put: (k, v) => void table.set(k, v), delete: (k) => void table.delete(k) };
  const dir = (who: AccessIdentity, store = known) => new UserDirectory({ storage: storageOf(who), ownNodeId: toHex(who.nodeIds[0]!), random: new SeededRandom(1), wallClock: () => clock.now(), known: store }, REALM);
  const proves = (password: string) => {
    const c = { username: 'alice', realm: REALM, nonce: `n${t}`, uri: 'sip:x', algorithm: 'SHA-256' as const, method: 'REGISTER', qop: 'auth' as const, nc: '00000001', cnonce: `c${t}` };
    return storageOf(B).store(P2PSIP_AUTH_PROOF_KIND_ID, { resourceName: `alice@${REALM}` }, [{ model: 'single', value: { exists: true, value: encodeAuthProof({ ...c, response: expectedResponse(ha1('SHA-256', 'alice', REALM, password), c) }) } }]);
  };
  return { dir, proves, table };
}

describe('UserDirectory', () => {
  test('add, add again (exists), passwd from another peer with the current password, remove, list', async () => {
    const w = world();
    const a = w.dir(A);
    assert.deepEqual(await a.add('alice', 'one'), { ok: true, user: 'alice', aor: `sip:alice@${REALM}`, version: 1 });
    const again = await w.dir(B, { loadAll: () => [], put: () => {}, delete: () => {} }).add('alice', 'two');
    assert.equal(!again.ok && again.status, 'exists');
    // B knows no version: it learns it from the refusal and proves with the current password
    const b = w.dir(B, { loadAll: () => [], put: () => {}, delete: () => {} });
    assert.equal(!(await b.passwd('alice', 'wrong', 'two')).ok && 'refused', 'refused');
    const changed = await b.passwd('alice', 'one', 'two');
    assert.ok(changed.ok, JSON.stringify(changed));
    assert.equal(changed.ok && changed.version, 2);
    assert.equal((await w.proves('one')).ok, false);
    assert.equal((await w.proves('two')).ok, true);
    // A is no longer the owner: its override is refused, its proof works (version learned again)
    assert.equal((await a.passwd('alice', undefined, 'three')).ok, false);
    assert.ok((await a.passwd('alice', 'two', 'three')).ok);
    // A wrote last: the owner's override now works
    assert.ok((await a.passwd('alice', undefined, 'four')).ok);
    assert.ok((await a.remove('alice', 'four')).ok);
    assert.equal((await w.proves('four')).ok, false);
    assert.deepEqual(a.list().map((u) => [u.user, u.version, u.removed === true]), [['alice', 5, true]]);
    // the list survives a restart (the data directory's table)
    assert.deepEqual(w.dir(A).list().map((u) => u.user), ['alice']);
    assert.equal(!(await a.remove('nobody', 'x')).ok && 'refused', 'refused');
  });

  test('bad input is refused before anything is sent', async () => {
    const w = world();
    const a = w.dir(A);
    for (const [u, p] of [['', 'x'], ['a b', 'x'], ['x'.repeat(65), 'x'], ['alice', ''], ['alice', 'p'.repeat(257)]] as const) {
      const r = await a.add(u, p);
      assert.equal(!r.ok && r.status, 'bad-request', `${u}/${p.length}`);
    }
  });

  test('garbage never crashes the record and proof decoders', () => {
    const rnd = new SeededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const bytes = rnd.bytes(rnd.u32() % 300);
      assert.equal(decodeUserRecord(bytes).ok, false);
      assert.equal(decodeAuthProof(bytes).ok, false);
    }
    for (const text of ['{}', '[]', 'null', '{"v":1}', '{"v":1,"user":"a","realm":"r","owner":"00","created":1,"version":1}', '{"v":1,"auth":{}}', '{"username":"a","qop":"auth"}', '"x"', '{"ownerClaim":true}']) {
      assert.equal(decodeUserRecord(utf8(text)).ok, false, text);
      assert.equal(decodeAuthProof(utf8(text)).ok, false, text);
    }
    assert.equal(decodeUserRecord(new Uint8Array(5000)).ok, false);
  });
});
