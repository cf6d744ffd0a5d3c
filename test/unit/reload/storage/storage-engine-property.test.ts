// Property: random sequences of stores (signers, generation counters, storage times, lifetimes,
// deletions, appends) and clock steps leave the engine equal to a small model of RFC 6940 §7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { StoredDataSpecifier, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { ARRAY_APPEND, toHex } from '../../../../src/reload/storage/index.js';
import type { AccessIdentity } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, KIND, MALLORY, aliceRes, bobRes, harness, kinds, sd, storeReq } from './storage-fixtures.js';

const USERS = [ALICE, BOB, MALLORY] as const;
const RESOURCES = [aliceRes, bobRes] as const; // owned by ALICE, BOB
const KINDS = [KIND.PROFILE, KIND.CERT_USER, KIND.SIP] as const;

interface ValueOp {
  index: number; // array: 0..6 or append; dictionary: which user's Node-ID is the key
  append: boolean;
  exists: boolean;
  size: number;
}
interface StoreOp {
  type: 'store';
  res: number;
  kind: number;
  signer: number;
  gc: 'zero' | 'current' | 'off';
  storageTime: number;
  lifetime: number;
  values: ValueOp[];
}
type Op = StoreOp | { type: 'advance'; ms: number };

interface ModelEntry {
  loc: string;
  value: StoredDataValue;
  storageTime: bigint;
  expiresAt: number;
}
interface ModelKind {
  gen: bigint;
  entries: Map<string, ModelEntry>;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({
    type: fc.constant('store' as const),
    res: fc.integer({ min: 0, max: 1 }),
    kind: fc.constantFrom(...KINDS),
    signer: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant(-1)), // -1: the resource's owner
    gc: fc.constantFrom('zero' as const, 'current' as const, 'off' as const),
    storageTime: fc.integer({ min: 1, max: 20 }),
    lifetime: fc.integer({ min: 0, max: 30 }),
    values: fc.array(fc.record({ index: fc.integer({ min: 0, max: 6 }), append: fc.boolean(), exists: fc.boolean(), size: fc.integer({ min: 0, max: 12 }) }), { minLength: 1, maxLength: 3 }),
  }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }) },
);

function valueOf(kind: number, v: ValueOp, signer: AccessIdentity): StoredDataValue {
  const dv = { exists: v.exists, value: new Uint8Array(v.size).fill(7) };
  if (kind === KIND.PROFILE) return { model: 'single', value: dv };
  if (kind === KIND.CERT_USER) return { model: 'array', index: v.append ? ARRAY_APPEND : v.index, value: dv };
  // The key is the signer's own Node-ID unless `index` points at another user's.
  const keyOwner = v.index % 4 === 3 ? USERS[(USERS.indexOf(signer as (typeof USERS)[number]) + 1) % 3]! : signer;
  return { model: 'dictionary', key: keyOwner.nodeIds[0]!, value: dv };
}

const locOf = (v: StoredDataValue): string => (v.model === 'single' ? '' : v.model === 'array' ? `i${v.index}` : `k${toHex(v.key)}`);

/** The model's answer to a store: an error code, or success (mutating `model`). */
function modelStore(model: Map<string, ModelKind>, op: StoreOp, now: number): number | 'ok' {
  const key = `${op.res}/${op.kind}`;
  const def = kinds(op.kind)!;
  const signer = USERS[op.signer]!;
  const current = model.get(key);
  const gen = current?.gen ?? 0n;
  const gc = op.gc === 'zero' ? 0n : op.gc === 'current' ? gen : gen + 1n;
  if (gc !== 0n && gc !== gen) return ReloadErrorCode.GenerationCounterTooLow;
  const entries = new Map(current?.entries ?? []);
  for (const v of op.values) {
    let value = valueOf(op.kind, v, signer);
    if (op.res !== op.signer) return ReloadErrorCode.Forbidden; // USER-MATCH / USER-NODE-MATCH user part
    if (value.model === 'dictionary' && toHex(value.key) !== toHex(signer.nodeIds[0]!)) return ReloadErrorCode.Forbidden;
    if (v.size > def.maxSize) return ReloadErrorCode.DataTooLarge;
    if (value.model === 'array') {
      if (value.index === ARRAY_APPEND) {
        let len = 0;
        for (const e of entries.values()) if (e.value.model === 'array') len = Math.max(len, e.value.index + 1);
        value = { ...value, index: len };
      }
      if (value.index >= def.maxCount) return ReloadErrorCode.DataTooLarge;
    }
    const old = entries.get(locOf(value));
    if (old && BigInt(op.storageTime) <= old.storageTime) return ReloadErrorCode.DataTooOld;
    if (!old && value.model === 'dictionary' && entries.size >= def.maxCount) return ReloadErrorCode.DataTooLarge;
    entries.set(locOf(value), { loc: locOf(value), value, storageTime: BigInt(op.storageTime), expiresAt: now + op.lifetime * 1000 });
  }
  model.set(key, { gen: gen + 1n, entries });
  return 'ok';
}

function purge(model: Map<string, ModelKind>, now: number): void {
  for (const [k, m] of model) {
    for (const [loc, e] of m.entries) if (e.expiresAt <= now) m.entries.delete(loc);
    if (m.entries.size === 0) model.delete(k);
  }
}

const wildcard = (kind: number): StoredDataSpecifier =>
  kind === KIND.PROFILE
    ? { kind, generation: 0n, model: 'single' }
    : kind === KIND.CERT_USER
      ? { kind, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] }
      : { kind, generation: 0n, model: 'dictionary', keys: [] };

test('the engine equals the model over random store sequences', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
      const h = harness();
      const model = new Map<string, ModelKind>();
      for (const raw of ops) {
        const op: Op = raw.type === 'store' && raw.signer === -1 ? { ...raw, signer: raw.res } : raw;
        if (op.type === 'advance') {
          h.clock.advance(op.ms);
        } else {
          purge(model, h.clock.now());
          const signer = USERS[op.signer]!;
          const currentGen = model.get(`${op.res}/${op.kind}`)?.gen ?? 0n;
          const gc = op.gc === 'zero' ? 0n : op.gc === 'current' ? currentGen : currentGen + 1n;
          const values = op.values.map((v) => sd(signer, BigInt(op.storageTime), valueOf(op.kind, v, signer), op.lifetime));
          const got = h.engine.store(storeReq(RESOURCES[op.res]!, op.kind, values, gc), { requester: signer });
          const expected = modelStore(model, op, h.clock.now());
          assert.equal(got.ok ? 'ok' : got.code, expected, got.ok ? 'accepted' : got.info);
        }
        purge(model, h.clock.now());
        let values = 0;
        for (let res = 0; res < 2; res++) {
          const r = h.engine.fetch({ resource: RESOURCES[res]!, specifiers: KINDS.map(wildcard) });
          assert.ok(r.ok);
          for (const k of r.answer.kindResponses) {
            const m = model.get(`${res}/${k.kind}`);
            assert.equal(k.generation, m?.gen ?? 0n, `generation of ${res}/${k.kind}`);
            const held = k.values.filter((v) => v.signature.identity.type !== 'none');
            assert.deepEqual(
              held.map((v) => [locOf(v.value), v.value, v.storageTime]).sort(),
              [...(m?.entries.values() ?? [])].map((e) => [e.loc, e.value, e.storageTime]).sort(),
            );
            values += held.length;
          }
        }
        assert.equal(h.engine.summary().values, values);
      }
    }),
    { numRuns: 300, seed: 6940 },
  );
});
