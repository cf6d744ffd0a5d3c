import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HashAlgorithm, ReloadErrorCode, encodeFetchAns, encodeStatAns } from '../../../../src/reload/codec/index.js';
import type { FetchAns, StatAns, StoredDataSpecifier } from '../../../../src/reload/codec/index.js';
import { toHex } from '../../../../src/reload/storage/index.js';
import type { StorageEngine } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, KIND, aliceRes, bobRes, dict, entry, harness, kinds, nodeId, sd, single, storeReq } from './storage-fixtures.js';

const aliceKey = ALICE.nodeIds[0]!;
const dataModelOf = (k: number) => kinds(k)?.dataModel;

function fetch(engine: StorageEngine, ...specifiers: StoredDataSpecifier[]): FetchAns {
  const r = engine.fetch({ resource: aliceRes, specifiers });
  if (!r.ok) assert.fail(r.info);
  encodeFetchAns(r.answer, { dataModelOf }); // every answer encodes
  return r.answer;
}

function stat(engine: StorageEngine, ...specifiers: StoredDataSpecifier[]): StatAns {
  const r = engine.stat({ resource: aliceRes, specifiers });
  if (!r.ok) assert.fail(r.info);
  encodeStatAns(r.answer, { dataModelOf });
  return r.answer;
}

function populated(): ReturnType<typeof harness> {
  const h = harness();
  const { engine } = h;
  const must = (r: ReturnType<StorageEngine['store']>) => assert.ok(r.ok, !r.ok ? r.info : '');
  must(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 5n, single('prof'))]), { requester: ALICE }));
  must(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 5n, entry(0, 'c0')), sd(ALICE, 5n, entry(2, 'c2')), sd(ALICE, 5n, entry(3, 'c3'))]), { requester: ALICE }));
  must(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 5n, dict(aliceKey, 'sip:alice@10.0.0.1'))]), { requester: ALICE }));
  return h;
}

describe('StorageEngine.fetch (RFC 6940 §7.4.2)', () => {
  test('one FetchKindResponse per specifier, in request order, with the generation', () => {
    const { engine } = populated();
    const a = fetch(engine, { kind: KIND.SIP, generation: 0n, model: 'dictionary', keys: [] }, { kind: KIND.PROFILE, generation: 0n, model: 'single' });
    assert.deepEqual(a.kindResponses.map((k) => [k.kind, k.generation, k.values.length]), [[KIND.SIP, 1n, 1], [KIND.PROFILE, 1n, 1]]);
  });

  test('a single value nobody stored is a synthesized nonexistent value (§7.4.2.2)', () => {
    const { engine } = harness();
    const [v] = fetch(engine, { kind: KIND.PROFILE, generation: 0n, model: 'single' }).kindResponses[0]!.values;
    assert.deepEqual(v, {
      storageTime: 0n,
      lifetime: 0,
      value: single('', false),
      signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array() },
    });
  });

  test('the generation the requester already has: no values', () => {
    const { engine } = populated();
    assert.equal(fetch(engine, { kind: KIND.PROFILE, generation: 1n, model: 'single' }).kindResponses[0]!.values.length, 0);
    assert.equal(fetch(engine, { kind: KIND.PROFILE, generation: 7n, model: 'single' }).kindResponses[0]!.values.length, 1);
  });

  describe('array ranges', () => {
    test('ranges select in request order; gaps are synthesized; nothing past the end', () => {
      const { engine } = populated();
      const values = fetch(engine, { kind: KIND.CERT_USER, generation: 0n, model: 'array', indices: [{ first: 3, last: 10 }, { first: 0, last: 1 }] }).kindResponses[0]!.values;
      assert.deepEqual(values.map((v) => v.value), [entry(3, 'c3'), entry(0, 'c0'), entry(1, '', false)]);
    });
    test('0xffffffff is the last element', () => {
      const { engine } = populated();
      const values = fetch(engine, { kind: KIND.CERT_USER, generation: 0n, model: 'array', indices: [{ first: 2, last: 0xffffffff }] }).kindResponses[0]!.values;
      assert.deepEqual(values.map((v) => v.value), [entry(2, 'c2'), entry(3, 'c3')]);
    });
    test('first after last, and overlapping ranges, are Error_Invalid_Message', () => {
      const { engine } = populated();
      const bad = (indices: { first: number; last: number }[]) => engine.fetch({ resource: aliceRes, specifiers: [{ kind: KIND.CERT_USER, generation: 0n, model: 'array', indices }] });
      const a = bad([{ first: 3, last: 2 }]);
      assert.equal(!a.ok && a.code, ReloadErrorCode.InvalidMessage);
      const b = bad([{ first: 0, last: 2 }, { first: 2, last: 4 }]);
      assert.equal(!b.ok && b.code, ReloadErrorCode.InvalidMessage);
    });
    test('a huge range over an empty array selects nothing (bounded by what is held)', () => {
      const { engine } = harness();
      assert.equal(fetch(engine, { kind: KIND.CERT_USER, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xfffffffe }] }).kindResponses[0]!.values.length, 0);
    });
  });

  describe('dictionary keys', () => {
    test('no keys is a wildcard; named keys return the value or a nonexistent one', () => {
      const { engine } = populated();
      const all = fetch(engine, { kind: KIND.SIP, generation: 0n, model: 'dictionary', keys: [] }).kindResponses[0]!.values;
      assert.deepEqual(all.map((v) => v.value), [dict(aliceKey, 'sip:alice@10.0.0.1')]);
      const some = fetch(engine, { kind: KIND.SIP, generation: 0n, model: 'dictionary', keys: [nodeId(9), aliceKey] }).kindResponses[0]!.values;
      assert.deepEqual(some.map((v) => v.value), [dict(nodeId(9), '', false), dict(aliceKey, 'sip:alice@10.0.0.1')]);
    });
  });

  test('lifetime in the answer is what is left, rounded up (§7.4.1.1)', () => {
    const { engine, clock } = populated();
    clock.advance(1500);
    assert.equal(fetch(engine, { kind: KIND.PROFILE, generation: 0n, model: 'single' }).kindResponses[0]!.values[0]!.lifetime, 3599);
  });

  test('unknown Kinds: Error_Unknown_Kind listing them; a twice-specified Kind and a wrong model are Error_Invalid_Message', () => {
    const { engine } = populated();
    const u = engine.fetch({ resource: aliceRes, specifiers: [{ kind: 77, generation: 0n, model: 'unknown', data: new Uint8Array() }] });
    assert.equal(!u.ok && u.code, ReloadErrorCode.UnknownKind);
    assert.deepEqual(!u.ok && [...u.errorInfo], [4, 0, 0, 0, 77]);
    const twice = engine.fetch({ resource: aliceRes, specifiers: [{ kind: KIND.PROFILE, generation: 0n, model: 'single' }, { kind: KIND.PROFILE, generation: 0n, model: 'single' }] });
    assert.equal(!twice.ok && twice.code, ReloadErrorCode.InvalidMessage);
    const model = engine.fetch({ resource: aliceRes, specifiers: [{ kind: KIND.PROFILE, generation: 0n, model: 'dictionary', keys: [] }] });
    assert.equal(!model.ok && model.code, ReloadErrorCode.InvalidMessage);
  });
});

describe('StorageEngine.stat (RFC 6940 §7.4.3)', () => {
  test('metadata: exists, length, SHA-256 over the value with its 4 length bytes', () => {
    const { engine } = populated();
    const [m] = stat(engine, { kind: KIND.PROFILE, generation: 0n, model: 'single' }).kindResponses[0]!.values;
    const expected = createHash('sha256').update(Buffer.from([0, 0, 0, 4])).update('prof').digest();
    assert.equal(m?.storageTime, 5n);
    assert.deepEqual(m?.metadata, { model: 'single', value: { exists: true, valueLength: 4, hashAlgorithm: HashAlgorithm.sha256, hashValue: new Uint8Array(expected) } });
  });
  test("the same selection as Fetch: array gaps and dictionary keys", () => {
    const { engine } = populated();
    const a = stat(engine, { kind: KIND.CERT_USER, generation: 0n, model: 'array', indices: [{ first: 0, last: 2 }] }).kindResponses[0]!.values;
    assert.deepEqual(a.map((m) => m.metadata.model === 'array' && [m.metadata.index, m.metadata.value.exists]), [[0, true], [1, false], [2, true]]);
    const d = stat(engine, { kind: KIND.SIP, generation: 1n, model: 'dictionary', keys: [] }).kindResponses[0]!;
    assert.equal(d.values.length, 0, 'generation matches: no values');
  });
});

describe('StorageEngine.find (RFC 6940 §7.4.4)', () => {
  test('per Kind, the held Resource-ID first at or after the target going round the ring; empty for none', () => {
    const { engine } = populated();
    assert.ok(engine.store(storeReq(bobRes, KIND.PROFILE, [sd(BOB, 1n, single('b'))]), { requester: BOB }).ok);
    const [lo, hi] = [aliceRes, bobRes].sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1)) as [Uint8Array, Uint8Array];
    const find = (resource: Uint8Array, ks: number[]) => engine.find({ resource, kinds: ks }).results;
    assert.deepEqual(find(lo, [KIND.PROFILE]), [{ kind: KIND.PROFILE, closest: lo }]);
    const afterLo = lo.slice();
    afterLo[15]! += 1; // lo + 1 (no carry: the fixture ids do not end in 0xff... checked below)
    assert.notEqual(lo[15], 0xff);
    assert.deepEqual(find(afterLo, [KIND.PROFILE]), [{ kind: KIND.PROFILE, closest: hi }]);
    const afterHi = hi.slice();
    afterHi[15] = (afterHi[15]! + 1) & 0xff;
    if (hi[15] !== 0xff) assert.deepEqual(find(afterHi, [KIND.PROFILE]), [{ kind: KIND.PROFILE, closest: lo }], 'wraps round');
    assert.deepEqual(find(lo, [KIND.TURN, 999]), [{ kind: KIND.TURN, closest: new Uint8Array() }, { kind: 999, closest: new Uint8Array() }]);
  });
  test('deleted (exists=false) and expired values are not found', () => {
    const { engine, clock } = harness();
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('', false))]), { requester: ALICE }).ok);
    assert.ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(0, 'c'), 10)]), { requester: ALICE }).ok);
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.PROFILE] }).results[0]!.closest.length, 0);
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.CERT_USER] }).results[0]!.closest.length, 16);
    clock.advance(10_000);
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.CERT_USER] }).results[0]!.closest.length, 0);
  });
});
