import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { OwnerCache } from '../../../../src/reload/overlay/owner-cache.js';

const ring = new Ring(16);

/** The true owner of k among `ids` (the first id at or after k, clockwise). */
function owner(ids: readonly bigint[], k: bigint): bigint {
  return [...ids].sort((a, b) => (ring.distance(k, a) < ring.distance(k, b) ? -1 : 1))[0]!;
}

describe('OwnerCache (RFC 6940 §10.1: the answerer of k owns [k, itself])', () => {
  test('an answer for k covers the stretch [k, owner] and nothing before k', () => {
    const c = new OwnerCache(ring);
    c.learn(1000n, 1200n);
    assert.equal(c.ownerOf(1000n), 1200n);
    assert.equal(c.ownerOf(1100n), 1200n);
    assert.equal(c.ownerOf(1200n), 1200n);
    assert.equal(c.ownerOf(999n), undefined);
    assert.equal(c.ownerOf(1201n), undefined);
    c.learn(900n, 1200n);
    assert.equal(c.ownerOf(950n), 1200n, 'the stretch grows with each answer');
    assert.equal(c.ownerOf(1100n, (id) => id !== 1200n), undefined, 'an owner we cannot reach is no answer');
  });

  test('wraps around zero', () => {
    const c = new OwnerCache(ring);
    c.learn(65000n, 100n);
    assert.equal(c.ownerOf(65535n), 100n);
    assert.equal(c.ownerOf(0n), 100n);
    assert.equal(c.ownerOf(64999n), undefined);
  });

  test('a contradicting answer (a peer joined inside a remembered stretch) shrinks or drops the old entry', () => {
    const c = new OwnerCache(ring);
    c.learn(1000n, 1200n);
    c.learn(1050n, 1100n); // 1100 joined: it owns (…, 1100], 1200 keeps (1100, 1200]
    assert.equal(c.ownerOf(1050n), 1100n);
    assert.equal(c.ownerOf(1100n), 1100n);
    assert.equal(c.ownerOf(1101n), 1200n);
    assert.equal(c.ownerOf(1000n), undefined, '1200 no longer covers 1000, 1100 never said it did');
    c.learn(1150n, 1300n); // 1200 is gone: 1300 owns 1150
    assert.equal(c.ownerOf(1180n), 1300n);
    assert.equal(c.ownerOf(1101n), undefined, 'no entry claims it any more');
  });

  test('bounded: the least recently confirmed owner is forgotten first', () => {
    const c = new OwnerCache(ring, 2);
    c.learn(100n, 200n);
    c.learn(300n, 400n);
    c.learn(150n, 200n);
    c.learn(500n, 600n);
    assert.equal(c.size, 2);
    assert.equal(c.ownerOf(350n), undefined);
    assert.equal(c.ownerOf(180n), 200n);
    c.forget(200n);
    assert.equal(c.ownerOf(180n), undefined);
  });

  test('learning only true answers never names a wrong owner (random rings and keys)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 2, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 40 }),
        (idsN, learnedN, askedN) => {
          const ids = idsN.map(BigInt);
          const c = new OwnerCache(ring, 8);
          for (const k of learnedN.map(BigInt)) c.learn(k, owner(ids, k));
          for (const k of askedN.map(BigInt)) {
            const o = c.ownerOf(k);
            if (o !== undefined) assert.equal(o, owner(ids, k));
          }
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  test('after churn, answers from the new ring correct every entry they contradict', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 4, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 65535 }),
        (idsN, keysN, joined) => {
          const before = idsN.map(BigInt);
          const after = [...new Set([...before.slice(1), BigInt(joined)])]; // one left, one joined
          const c = new OwnerCache(ring);
          const keys = keysN.map(BigInt);
          for (const k of keys) c.learn(k, owner(before, k));
          for (const k of keys) c.learn(k, owner(after, k));
          for (const k of keys) assert.equal(c.ownerOf(k), owner(after, k));
        },
      ),
      { numRuns: 300, seed: 12 },
    );
  });
});
