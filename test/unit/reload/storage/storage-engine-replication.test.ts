import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { StoreReq } from '../../../../src/reload/codec/index.js';
import { idValue, toHex } from '../../../../src/reload/storage/index.js';
import type { AccessIdentity, StorageEngine } from '../../../../src/reload/storage/index.js';
import { ALICE, KIND, MALLORY, aliceRes, dict, harness, sd, single, storeReq, utf8 } from './storage-fixtures.js';

/** A Node-ID at `offset` from aliceRes on the ring (16 bytes). */
function around(offset: bigint): Uint8Array {
  let v = (idValue(aliceRes) + offset) % (1n << 128n);
  if (v < 0n) v += 1n << 128n;
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const peerIdentity = (id: Uint8Array): AccessIdentity => ({ userName: `peer-${toHex(id).slice(0, 4)}`, nodeIds: [id] });
const withReplica = (req: StoreReq, n: number): StoreReq => ({ ...req, replicaNumber: n });
const profile = { kind: KIND.PROFILE, generation: 0n, model: 'single' } as const;

function fetchedValue(engine: StorageEngine): string | undefined {
  const r = engine.fetch({ resource: aliceRes, specifiers: [profile] });
  if (!r.ok) assert.fail(r.info);
  const v = r.answer.kindResponses[0]!.values[0]!.value.value;
  return v.exists ? new TextDecoder().decode(v.value) : undefined;
}

/** A ring: P1 < aliceRes <= P2 < P3 < P4 < P5; P2 is responsible, P3 and P4 are its replicas (RFC 6940 §10.4). */
function ring() {
  const ids = { p1: around(-100n), p2: around(10n), p3: around(20n), p4: around(30n), p5: around(40n) };
  const peers = { p1: harness(), p2: harness(), p3: harness(), p4: harness(), p5: harness() };
  return { ids, peers };
}

describe('replication and migration (RFC 6940 §7.4.1.1, §10.4, §10.5, §10.7.3)', () => {
  test('the responsible peer stores and replicates to its successor and that one’s successor', () => {
    const { ids, peers } = ring();
    const r = peers.p2.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v1'))]), { requester: ALICE, replicas: [ids.p3, ids.p4] });
    assert.ok(r.ok && r.replicate);
    assert.deepEqual(r.answer.kindResponses[0]?.replicas, [ids.p3, ids.p4]);
    const r3 = peers.p3.engine.store(withReplica(r.replicate, 1), { requester: peerIdentity(ids.p2) });
    const r4 = peers.p4.engine.store(withReplica(r.replicate, 2), { requester: peerIdentity(ids.p2) });
    assert.ok(r3.ok && r4.ok);
    assert.equal(r3.replicate, undefined, 'replicas do not replicate further');
    assert.deepEqual(r3.answer.kindResponses[0]?.replicas, []);
    assert.equal(peers.p3.engine.replicaNumber(aliceRes), 1);
    assert.equal(peers.p4.engine.replicaNumber(aliceRes), 2);
    assert.equal(peers.p2.engine.replicaNumber(aliceRes), 0);
    // The replica takes the generation of the message (§7.4.1.1).
    const g = peers.p3.engine.fetch({ resource: aliceRes, specifiers: [profile] });
    assert.equal(g.ok && g.answer.kindResponses[0]?.generation, 1n);
    // Fetch still succeeds while the responsible peer is gone: ask a replica.
    assert.equal(fetchedValue(peers.p3.engine), 'v1');
  });

  test('re-replicating the same data is accepted and changes nothing (idempotent)', () => {
    const { ids, peers } = ring();
    const r = peers.p2.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v1'))]), { requester: ALICE });
    assert.ok(r.ok && r.replicate);
    assert.ok(peers.p3.engine.store(r.replicate, { requester: peerIdentity(ids.p2) }).ok);
    assert.ok(peers.p3.engine.store(r.replicate, { requester: peerIdentity(ids.p2) }).ok);
    assert.equal(peers.p3.engine.summary().values, 1);
  });

  test('replica stores: generation 0 is Error_Invalid_Message; forged values are still Error_Forbidden; older data is Error_Data_Too_Old', () => {
    const { ids, peers } = ring();
    const p2 = peerIdentity(ids.p2);
    const zero = storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v'))], 0n, 1);
    const a = peers.p3.engine.store(zero, { requester: p2 });
    assert.equal(!a.ok && a.code, ReloadErrorCode.InvalidMessage);
    const forged = peers.p3.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(MALLORY, 1n, single('evil'))], 3n, 1), { requester: p2 });
    assert.equal(!forged.ok && forged.code, ReloadErrorCode.Forbidden);
    assert.ok(peers.p3.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 9n, single('new'))], 4n, 1), { requester: p2 }).ok);
    const old = peers.p3.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 5n, single('old'))], 5n, 1), { requester: p2 });
    assert.equal(!old.ok && old.code, ReloadErrorCode.DataTooOld);
    assert.equal(fetchedValue(peers.p3.engine), 'new');
  });

  test('after the responsible peer fails, its successor re-replicates to the new replica set; stale copies leave', () => {
    const { ids, peers } = ring();
    const r = peers.p2.engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(ALICE.nodeIds[0]!, 'sip:a'))]), { requester: ALICE });
    assert.ok(r.ok && r.replicate);
    peers.p3.engine.store(withReplica(r.replicate, 1), { requester: peerIdentity(ids.p2) });
    peers.p4.engine.store(withReplica(r.replicate, 2), { requester: peerIdentity(ids.p2) });
    // P2 fails. P3 is now responsible for (P1, P3]; replicas: P4, P5 (§10.7.3).
    peers.p3.clock.advance(60_000);
    const moved = [...peers.p3.engine.resourcesInRange(ids.p1, ids.p3)];
    assert.equal(moved.length, 1);
    assert.equal(moved[0]!.kindData[0]!.values[0]!.lifetime, 3540, 'lifetime adjusted down by the time held');
    assert.ok(peers.p4.engine.store(withReplica(moved[0]!, 1), { requester: peerIdentity(ids.p3) }).ok);
    assert.ok(peers.p5.engine.store(withReplica(moved[0]!, 2), { requester: peerIdentity(ids.p3) }).ok);
    assert.equal(peers.p5.engine.summary().values, 1);
    // The new copy expires when the original would have: 1 h after the first store.
    peers.p5.clock.advance(3_540_000);
    assert.equal(peers.p5.engine.summary().values, 1);
    peers.p5.engine.sweep();
    assert.equal(peers.p5.engine.summary().values, 0);
  });

  test('a joining peer receives the data it becomes responsible for; the old holder keeps a replica; the third predecessor drops it', () => {
    const { ids, peers } = ring();
    const joiner = harness();
    const jn = around(5n); // P1 < aliceRes < JN < P2
    const r = peers.p2.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v'))]), { requester: ALICE });
    assert.ok(r.ok && r.replicate);
    peers.p3.engine.store(withReplica(r.replicate, 1), { requester: peerIdentity(ids.p2) });
    peers.p4.engine.store(withReplica(r.replicate, 2), { requester: peerIdentity(ids.p2) });
    // §10.5 step 6: AP (P2) stores to JN what JN is now responsible for: (P1, JN].
    for (const req of peers.p2.engine.resourcesInRange(ids.p1, jn, 0)) {
      const got = joiner.engine.store(req, { requester: peerIdentity(ids.p2), replica: true });
      assert.ok(got.ok, !got.ok ? got.info : '');
    }
    assert.equal(joiner.engine.replicaNumber(aliceRes), 0, 'the joiner holds it as the responsible peer');
    assert.equal(fetchedValue(joiner.engine), 'v');
    const g = joiner.engine.fetch({ resource: aliceRes, specifiers: [profile] });
    assert.equal(g.ok && g.answer.kindResponses[0]?.generation, 1n, 'generation carried over');
    // P4 now has three predecessors between it and the resource (JN, P2, P3): §10.7.3 delete.
    assert.equal(peers.p4.engine.dropRange(ids.p1, jn), 1);
    assert.equal(peers.p4.engine.summary().resources, 0);
    assert.equal(peers.p2.engine.summary().resources, 1, 'AP keeps it: it is in the replica set (§10.5 step 7)');
    // The joiner accepts original stores with the carried generation.
    assert.ok(joiner.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('v2'))], 1n), { requester: ALICE }).ok);
  });

  test('a leaving peer hands everything to its successor', () => {
    const { ids, peers } = ring();
    peers.p2.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v'))]), { requester: ALICE });
    for (const req of peers.p2.engine.resourcesInRange(ids.p1, ids.p2, 1)) assert.ok(peers.p3.engine.store(req, { requester: peerIdentity(ids.p2) }).ok);
    assert.equal(fetchedValue(peers.p3.engine), 'v');
  });

  test('ring intervals wrap past zero; from = to is the whole ring', () => {
    const h = harness();
    const must = (ok: boolean) => assert.ok(ok);
    must(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('v'))]), { requester: ALICE }).ok);
    const hi = new Uint8Array(16).fill(0xff);
    const lo = new Uint8Array(16);
    assert.equal(h.engine.resourceIdsInRange(around(-1n), around(0n)).length, 1);
    assert.equal(h.engine.resourceIdsInRange(around(0n), around(1n)).length, 0, 'from is exclusive');
    assert.equal(h.engine.resourceIdsInRange(around(1n), around(-1n)).length, 0);
    assert.equal(h.engine.resourceIdsInRange(around(-1n), around(-1n)).length, 1, 'whole ring');
    assert.equal(h.engine.resourceIdsInRange(around(1n), around(0n)).length, 1, 'wrapping interval');
    assert.equal(h.engine.resourceIdsInRange(hi, lo).length, 0);
    assert.equal(h.engine.storeReqFor(utf8('nothing here'), 1), undefined);
    assert.deepEqual(h.engine.resourceIds(), [aliceRes]);
    assert.equal(h.engine.drop(aliceRes), true);
    assert.equal(h.engine.drop(aliceRes), false);
    assert.deepEqual(h.engine.resourceIds(), []);
  });
});
