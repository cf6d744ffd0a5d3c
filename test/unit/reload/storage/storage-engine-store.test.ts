import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode, decodeStoreAns } from '../../../../src/reload/codec/index.js';
import type { FetchReq, StoredData } from '../../../../src/reload/codec/index.js';
import { ARRAY_APPEND, MemoryStorageBackend, StorageEngine } from '../../../../src/reload/storage/index.js';
import type { StorageEngine as Engine, StoreResult } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, FakeVerifier, KIND, MALLORY, aliceNodeRes, aliceRes, dict, entry, harness, hash, kinds, nodeId, sd, single, storeReq, utf8 } from './storage-fixtures.js';

const aliceKey = ALICE.nodeIds[0]!;

function ok(r: StoreResult): asserts r is Extract<StoreResult, { ok: true }> {
  if (!r.ok) assert.fail(`store refused: ${r.info}`);
}

function refused(r: StoreResult, code: number, pattern?: RegExp): void {
  assert.equal(r.ok, false, 'expected a refusal');
  if (r.ok) return;
  assert.equal(r.code, code, r.info);
  if (pattern) assert.match(r.info, pattern);
}

function fetchValues(engine: Engine, req: FetchReq): StoredData[] {
  const r = engine.fetch(req);
  if (!r.ok) assert.fail(r.info);
  return r.answer.kindResponses[0]!.values;
}

const fetchSingle = (engine: Engine, kind: number = KIND.PROFILE) =>
  fetchValues(engine, { resource: aliceRes, specifiers: [{ kind, generation: 0n, model: 'single' }] })[0]!;

describe('StorageEngine.store (RFC 6940 §7.4.1)', () => {
  test('stores a single value; the answer carries generation 1 and the replica set', () => {
    const { engine } = harness();
    const replicas = [nodeId(1), nodeId(2)];
    const r = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 10n, single('hi'))]), { requester: ALICE, replicas });
    ok(r);
    assert.deepEqual(r.answer, { kindResponses: [{ kind: KIND.PROFILE, generationCounter: 1n, replicas }] });
    assert.equal(r.changed, true);
    assert.deepEqual(fetchSingle(engine).value, single('hi'));
    assert.deepEqual(engine.summary().resources, 1);
  });

  test('an original store returns the StoreReq for replica 1 (real indices, current generation)', () => {
    const { engine } = harness();
    const r = engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 10n, entry(ARRAY_APPEND, 'a'))]), { requester: ALICE });
    ok(r);
    assert.equal(r.replicate?.replicaNumber, 1);
    assert.equal(r.replicate?.kindData[0]?.generationCounter, 1n);
    assert.deepEqual(r.replicate?.kindData[0]?.values[0]?.value, entry(0, 'a'));
  });

  describe('Kinds', () => {
    test('unknown Kinds: Error_Unknown_Kind with the unknown_kinds list as error_info (§7.4.1.2)', () => {
      const { engine } = harness();
      const r = engine.store(
        { resource: aliceRes, replicaNumber: 0, kindData: [{ kind: 99, generationCounter: 0n, values: [] }, { kind: 0x1234, generationCounter: 0n, values: [] }] },
        { requester: ALICE },
      );
      refused(r, ReloadErrorCode.UnknownKind, /0x63, 0x1234/);
      assert.deepEqual(!r.ok && [...r.errorInfo], [8, 0, 0, 0, 99, 0, 0, 0x12, 0x34]);
    });

    test('the same Kind twice is Error_Invalid_Message (§7.4.1.1)', () => {
      const { engine } = harness();
      const kd = { kind: KIND.PROFILE, generationCounter: 0n, values: [sd(ALICE, 1n, single('x'))] };
      refused(engine.store({ resource: aliceRes, replicaNumber: 0, kindData: [kd, kd] }, { requester: ALICE }), ReloadErrorCode.InvalidMessage, /twice/);
    });

    test("a value of another data model than the Kind's is Error_Invalid_Message", () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, entry(0, 'x'))]), { requester: ALICE }), ReloadErrorCode.InvalidMessage);
    });
  });

  describe('signatures and access control (§7.3, §7.4.1.1)', () => {
    test('a value whose signature does not verify (forged) is Error_Forbidden', () => {
      const { engine } = harness();
      const forged = sd(ALICE, 1n, single('x'));
      forged.signature = { ...forged.signature, signatureValue: utf8('sig:someone-else') };
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [forged]), { requester: ALICE }), ReloadErrorCode.Forbidden, /bad signature/);
      assert.equal(engine.summary().values, 0);
    });

    test("a value signed by another user for alice's resource is Error_Forbidden", () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(MALLORY, 1n, single('x'))]), { requester: MALLORY }), ReloadErrorCode.Forbidden, /USER-MATCH/);
    });

    test("alice's own value relayed in a StoreReq signed by mallory (original store) is Error_Forbidden", () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'))]), { requester: MALLORY }), ReloadErrorCode.Forbidden, /StoreReq's signer/);
    });

    test('an original store without a verified requester is Error_Forbidden', () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'))])), ReloadErrorCode.Forbidden);
    });

    test('anonymous signatures (identity none or {0,0}) are Error_Forbidden', () => {
      const { engine } = harness();
      const a = sd(ALICE, 1n, single('x'));
      a.signature = { ...a.signature, identity: { type: 'none' } };
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [a]), { requester: ALICE }), ReloadErrorCode.Forbidden, /anonymous/);
      const b = sd(ALICE, 1n, single('x'));
      b.signature = { ...b.signature, algorithm: { hash: 0, signature: 0 } };
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [b]), { requester: ALICE }), ReloadErrorCode.Forbidden, /anonymous/);
    });

    test("USER-NODE-MATCH: another node's dictionary key is Error_Forbidden; the own key is stored", () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(BOB.nodeIds[0]!, 'sip:x'))]), { requester: ALICE }), ReloadErrorCode.Forbidden);
      ok(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(aliceKey, 'sip:alice@1.2.3.4'))]), { requester: ALICE }));
    });

    test("NODE-MATCH: H(Node-ID) of the signer only", () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceNodeRes, KIND.CERT_NODE, [sd(ALICE, 1n, entry(0, 'cert'))]), { requester: ALICE }));
      refused(engine.store(storeReq(aliceNodeRes, KIND.CERT_NODE, [sd(BOB, 2n, entry(0, 'cert'))]), { requester: BOB }), ReloadErrorCode.Forbidden);
    });

    test("a per-request verifier (the StoreReq's own certificates) replaces the engine's", () => {
      const { engine } = harness();
      const onlyBob = new FakeVerifier([BOB]);
      const r = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'))]), { requester: ALICE, verifier: onlyBob });
      refused(r, ReloadErrorCode.Forbidden, /bad signature/);
      assert.equal(onlyBob.calls, 1);
    });

    test('without a verifier the StoreReq signer is taken as the signer of every value', () => {
      const engine = new StorageEngine({ clock: new ManualClock(), backend: new MemoryStorageBackend(), kinds, hashResourceName: hash });
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(MALLORY, 1n, single('x'))]), { requester: ALICE }));
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('x'))]), { requester: MALLORY }), ReloadErrorCode.Forbidden);
    });
  });

  describe('storage_time: replays and rollbacks (§7)', () => {
    test('the same store replayed is Error_Data_Too_Old and changes nothing', () => {
      const { engine } = harness();
      const req = storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 10n, single('v1'))]);
      ok(engine.store(req, { requester: ALICE }));
      refused(engine.store(req, { requester: ALICE }), ReloadErrorCode.DataTooOld);
      assert.equal(fetchSingle(engine).storageTime, 10n);
      assert.equal(engine.summary().values, 1);
    });

    test('an older value replayed over a newer one is Error_Data_Too_Old', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 10n, single('old'))]), { requester: ALICE }));
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 20n, single('new'))]), { requester: ALICE }));
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 10n, single('old'))]), { requester: ALICE }), ReloadErrorCode.DataTooOld, /storage_time 10/);
      assert.deepEqual(fetchSingle(engine).value, single('new'));
    });

    test('a deleted (exists=false) value cannot be resurrected by replaying it (§7.4.1.3)', () => {
      const { engine } = harness();
      const v1 = storeReq(aliceRes, KIND.SIP, [sd(ALICE, 10n, dict(aliceKey, 'sip:a'))]);
      ok(engine.store(v1, { requester: ALICE }));
      ok(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 11n, dict(aliceKey, '', false), 7200)]), { requester: ALICE }));
      refused(engine.store(v1, { requester: ALICE }), ReloadErrorCode.DataTooOld);
      const [v] = fetchValues(engine, { resource: aliceRes, specifiers: [{ kind: KIND.SIP, generation: 0n, model: 'dictionary', keys: [] }] });
      assert.equal(v?.value.value.exists, false);
      assert.equal(v?.signature.identity.type, 'cert_hash', 'a stored tombstone keeps its signature');
    });
  });

  describe('generation counters (§7.4.1.1, §7.4.1.2)', () => {
    test('0 is ignored; the current value is accepted; each changed Kind increments by 1', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))], 0n), { requester: ALICE }));
      const r = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('b'))], 1n), { requester: ALICE });
      ok(r);
      assert.equal(r.answer.kindResponses[0]?.generationCounter, 2n);
    });

    test('a stale counter fails the whole request with a StoreAns of the current counters as error_info', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }));
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('b'))]), { requester: ALICE }));
      const r = engine.store(
        {
          resource: aliceRes,
          replicaNumber: 0,
          kindData: [
            { kind: KIND.CERT_USER, generationCounter: 0n, values: [sd(ALICE, 3n, entry(0, 'c'))] },
            { kind: KIND.PROFILE, generationCounter: 1n, values: [sd(ALICE, 3n, single('c'))] },
          ],
        },
        { requester: ALICE },
      );
      refused(r, ReloadErrorCode.GenerationCounterTooLow);
      const expected = { kindResponses: [{ kind: KIND.CERT_USER, generationCounter: 0n, replicas: [] }, { kind: KIND.PROFILE, generationCounter: 2n, replicas: [] }] };
      assert.deepEqual(!r.ok && r.generations, expected);
      const decoded = decodeStoreAns(!r.ok ? r.errorInfo : new Uint8Array());
      assert.deepEqual(decoded.ok && decoded.value, expected);
      assert.equal(engine.summary().values, 1, 'nothing of the request was stored');
    });

    test('a counter ahead of the stored one is refused too', () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))], 5n), { requester: ALICE }), ReloadErrorCode.GenerationCounterTooLow);
    });

    test('a StoreKindData without values changes nothing and keeps the counter', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }));
      const r = engine.store(storeReq(aliceRes, KIND.PROFILE, []), { requester: ALICE });
      ok(r);
      assert.equal(r.changed, false);
      assert.equal(r.answer.kindResponses[0]?.generationCounter, 1n);
    });
  });

  describe('atomicity (§7.4.1.1: all or nothing)', () => {
    test('a failing second value leaves the first unstored', () => {
      const { engine } = harness();
      const r = engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(aliceKey, 'ok')), sd(ALICE, 1n, dict(BOB.nodeIds[0]!, 'forged'))]), { requester: ALICE });
      refused(r, ReloadErrorCode.Forbidden, /value 1/);
      assert.equal(engine.summary().values, 0);
    });

    test('a failing second Kind leaves the first Kind unchanged', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }));
      const r = engine.store(
        {
          resource: aliceRes,
          replicaNumber: 0,
          kindData: [
            { kind: KIND.PROFILE, generationCounter: 0n, values: [sd(ALICE, 2n, single('b'))] },
            { kind: KIND.CERT_USER, generationCounter: 0n, values: [sd(ALICE, 2n, entry(0, 'x'.repeat(101)))] },
          ],
        },
        { requester: ALICE },
      );
      refused(r, ReloadErrorCode.DataTooLarge);
      assert.deepEqual(fetchSingle(engine).value, single('a'));
    });

    test('two values at one location in one request: the second must be newer', () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 5n, dict(aliceKey, 'a')), sd(ALICE, 5n, dict(aliceKey, 'b'))]), { requester: ALICE }), ReloadErrorCode.DataTooOld);
      ok(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 5n, dict(aliceKey, 'a')), sd(ALICE, 6n, dict(aliceKey, 'b'))]), { requester: ALICE }));
    });
  });

  describe('limits of the Kind (max-size, max-count)', () => {
    test('a value past max-size is Error_Data_Too_Large; exactly max-size is stored', () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'.repeat(11)))]), { requester: ALICE }), ReloadErrorCode.DataTooLarge, /max-size is 10/);
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'.repeat(10)))]), { requester: ALICE }));
    });

    test('a dictionary holds at most max-count keys; replacing a key still works when full', () => {
      const sipUsers = [0, 1, 2, 3, 4].map((i) => ({ userName: ALICE.userName, nodeIds: [nodeId(0x10 + i)] }));
      // Four distinct keys, each written by the node it names (signer = requester: no verifier).
      const e = new StorageEngine({ clock: new ManualClock(), backend: new MemoryStorageBackend(), kinds, hashResourceName: hash });
      for (let i = 0; i < 4; i++) ok(e.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(sipUsers[i]!.nodeIds[0]!, `v${i}`))]), { requester: sipUsers[i]! }));
      refused(e.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(sipUsers[4]!.nodeIds[0]!, 'v4'))]), { requester: sipUsers[4]! }), ReloadErrorCode.DataTooLarge, /max-count 4/);
      ok(e.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 2n, dict(sipUsers[0]!.nodeIds[0]!, 'v0b'))]), { requester: sipUsers[0]! }));
    });

    test('an array index at or past max-count is Error_Data_Too_Large; appends stop at max-count', () => {
      const { engine } = harness();
      refused(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(5, 'x'))]), { requester: ALICE }), ReloadErrorCode.DataTooLarge, /index 5/);
      ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(4, 'x'))]), { requester: ALICE }));
      refused(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 2n, entry(ARRAY_APPEND, 'y'))]), { requester: ALICE }), ReloadErrorCode.DataTooLarge);
    });
  });

  describe('data models (§7.2, §7.4.1.1)', () => {
    test('array: sparse store, append at 0xffffffff takes the next index, twice in one request', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(1, 'b'))]), { requester: ALICE }));
      ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 2n, entry(ARRAY_APPEND, 'c')), sd(ALICE, 2n, entry(ARRAY_APPEND, 'd'))]), { requester: ALICE }));
      const values = fetchValues(engine, { resource: aliceRes, specifiers: [{ kind: KIND.CERT_USER, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] }] });
      assert.deepEqual(
        values.map((v) => v.value),
        [entry(0, '', false), entry(1, 'b'), entry(2, 'c'), entry(3, 'd')],
      );
      assert.equal(values[0]?.signature.identity.type, 'none', 'the gap is synthesized, unsigned');
    });

    test('single: a newer store overwrites', () => {
      const { engine } = harness();
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }));
      ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('b'))]), { requester: ALICE }));
      assert.deepEqual(fetchSingle(engine).value, single('b'));
      assert.equal(engine.summary().values, 1);
    });
  });
});
