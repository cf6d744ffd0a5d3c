import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { NeighborTable } from '../../../../src/reload/overlay/chord/neighbor-table.js';

const ring = new Ring(16);

/** The true owner of k among `ids` (the first id at or after k, clockwise). */
function owner(ids: bigint[], k: bigint): bigint {
  return [...ids].sort((a, b) => (ring.distance(k, a) < ring.distance(k, b) ? -1 : 1))[0]!;
}

describe('NeighborTable.responsibleNeighbour', () => {
  test('names the successor or predecessor owning k inside the gap-free stretch, nothing outside it', () => {
    const t = new NeighborTable(ring, 1000n, 3);
    t.add([1100n, 1200n, 1300n, 1400n, 900n, 800n, 700n, 600n]);
    assert.deepEqual(t.successors, [1100n, 1200n, 1300n]);
    assert.deepEqual(t.predecessors, [900n, 800n, 700n]);
    assert.equal(t.responsibleNeighbour(1001n), 1100n);
    assert.equal(t.responsibleNeighbour(1100n), 1100n);
    assert.equal(t.responsibleNeighbour(1101n), 1200n);
    assert.equal(t.responsibleNeighbour(1300n), 1300n);
    assert.equal(t.responsibleNeighbour(1301n), undefined, 'past the last successor: unknown (1400 is not in the table)');
    assert.equal(t.responsibleNeighbour(950n), undefined, 'ours');
    assert.equal(t.responsibleNeighbour(1000n), undefined, 'ours');
    assert.equal(t.responsibleNeighbour(850n), 900n);
    assert.equal(t.responsibleNeighbour(701n), 800n);
    assert.equal(t.responsibleNeighbour(700n), undefined, 'at or before the last predecessor: unknown');
    assert.equal(new NeighborTable(ring, 5n, 3).responsibleNeighbour(7n), undefined, 'alone');
  });

  test('property: whenever it names a peer, that peer owns k on the whole ring (wrap-around included)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 2, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 65535 }), (raw, size, kRaw) => {
        const ids = raw.map(BigInt);
        const self = ids[0]!;
        const t = new NeighborTable(ring, self, size);
        t.add(ids.slice(1));
        const k = BigInt(kRaw);
        const named = t.responsibleNeighbour(k);
        const truth = owner(ids, k);
        if (named !== undefined) assert.equal(named, truth);
        // and it names one whenever k is owned by a successor in the table
        if (truth !== self && t.successors.includes(truth)) assert.equal(named, truth);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
