import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { FingerTable } from '../../../../src/reload/overlay/chord/finger-table.js';
import { MAX_FINGERS_LIMIT, checkFingerDensityOptions, estimateOverlaySize, fingerTargets, totalTarget } from '../../../../src/reload/overlay/chord/finger-density.js';

const ring = new Ring(16);

/** N peers evenly spaced round the ring, the first at `offset`. */
function evenRing(n: number, offset = 12345n): bigint[] {
  const step = ring.size / BigInt(n);
  return Array.from({ length: n }, (_, i) => ring.add(offset, step * BigInt(i)));
}

/** The s successors and p predecessors of ids[at] among `ids` (sorted ascending, a ring). */
function neighboursOf(ids: bigint[], at: number, s: number, p: number): { succ: bigint[]; pred: bigint[] } {
  const n = ids.length;
  const succ = Array.from({ length: Math.min(s, n - 1) }, (_, j) => ids[(at + j + 1) % n]!);
  const pred = Array.from({ length: Math.min(p, n - 1) }, (_, j) => ids[(at - j - 1 + n) % n]!);
  return { succ, pred };
}

describe('estimateOverlaySize (the neighbour spacing)', () => {
  test('an evenly spaced ring: the exact size, from any peer, across the wrap', () => {
    for (const n of [20, 300, 1000, 100_000]) {
      const ids = evenRing(n);
      for (const at of [0, 1, n - 1]) {
        const { succ, pred } = neighboursOf(ids, at, 5, 5);
        const est = estimateOverlaySize(ring, ids[at]!, succ, pred);
        assert.ok(Math.abs(est - n) / n < 1e-6, `n=${n} at=${at}: ${est}`);
      }
    }
  });

  test('a ring smaller than the table (lists overlap): every peer is known, the count is exact', () => {
    const ids = evenRing(6);
    const { succ, pred } = neighboursOf(ids, 0, 5, 5);
    assert.equal(estimateOverlaySize(ring, ids[0]!, succ, pred), 6);
    const two = evenRing(2);
    assert.equal(estimateOverlaySize(ring, two[0]!, [two[1]!], [two[1]!]), 2);
  });

  test('alone, or with one side only', () => {
    assert.equal(estimateOverlaySize(ring, 5n, [], []), 1);
    const ids = evenRing(1000);
    const { succ } = neighboursOf(ids, 0, 5, 0);
    const est = estimateOverlaySize(ring, ids[0]!, succ, []);
    assert.ok(Math.abs(est - 1000) < 1, `${est}`);
  });

  test('random Node-IDs: within a factor of two of the truth for most peers (10 samples of the spacing)', () => {
    const r = new SeededRandom(7);
    const ids = Array.from({ length: 1000 }, () => ring.random((k) => r.bytes(k))).sort((a, b) => (a < b ? -1 : 1));
    let within = 0;
    for (let at = 0; at < ids.length; at++) {
      const { succ, pred } = neighboursOf(ids, at, 5, 5);
      const est = estimateOverlaySize(ring, ids[at]!, succ, pred);
      if (est > 500 && est < 2000) within++;
    }
    assert.ok(within > 900, `${within} of 1000`);
  });
});

describe('fingerTargets', () => {
  const opts = { perRange: 1, density: 0.15, maxFingers: 192 };

  test('density 0 (Chord): perRange in every range', () => {
    const t = fingerTargets(1000, 128, { ...opts, density: 0 });
    assert.equal(t.length, 129);
    assert.equal(t[0], 0);
    assert.ok(t.slice(1).every((x) => x === 1));
    assert.ok(fingerTargets(1000, 128, { ...opts, perRange: 3, density: 0 }).slice(1).every((x) => x === 3));
  });

  test('1,000 peers at 0.15: uniform share of each range (75, 38, 19, …), about 150 in all', () => {
    const t = fingerTargets(1000, 128, opts);
    assert.deepEqual(t.slice(1, 10), [75, 38, 19, 10, 5, 3, 2, 1, 1]);
    assert.equal(t[11], 1, 'beyond the population: the floor');
    const total = totalTarget(t, 16);
    assert.ok(total >= 150 && total <= 165, `${total}`);
  });

  test('never more than a range holds; never below perRange', () => {
    const t = fingerTargets(40, 128, { perRange: 2, density: 1, maxFingers: 192 });
    assert.deepEqual(t.slice(1, 7), [20, 10, 5, 2, 2, 2]);
  });

  test('maxFingers caps the total: a large overlay thins out, its cost per peer stays bounded', () => {
    const small = totalTarget(fingerTargets(1000, 128, { ...opts, maxFingers: 100 }), 128);
    const large = totalTarget(fingerTargets(1_000_000, 128, opts), 128);
    assert.ok(small <= 100 + 128, `${small}`);
    assert.ok(large <= 192 + 128 && large >= 192, `${large}`);
    assert.deepEqual(fingerTargets(1000, 128, { ...opts, maxFingers: 0 }).slice(1, 4), [1, 1, 1]);
  });

  test('no estimate (alone, NaN): the floor', () => {
    assert.ok(fingerTargets(1, 128, opts).slice(1).every((x) => x === 1));
    assert.ok(fingerTargets(Number.NaN, 128, opts).slice(1).every((x) => x === 1));
  });

  test('options out of range are refused with a clear message', () => {
    assert.doesNotThrow(() => checkFingerDensityOptions(opts));
    assert.throws(() => checkFingerDensityOptions({ ...opts, density: -0.1 }), /fingerDensity must be in 0\.\.1/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, density: Number.NaN }), /fingerDensity/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, density: 1.5 }), /fingerDensity/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, perRange: 0 }), /fingersPerRange must be an integer/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, perRange: 1.5 }), /fingersPerRange/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, maxFingers: MAX_FINGERS_LIMIT + 1 }), /maxFingers must be an integer/);
    assert.throws(() => checkFingerDensityOptions({ ...opts, maxFingers: -1 }), /maxFingers/);
  });
});

describe('FingerTable with per-range targets', () => {
  const self = 1000n;
  const random = new SeededRandom(3);
  const bytes = (k: number): Uint8Array => random.bytes(k);

  test('capacity follows setTargets (never below perRange); offer stops at capacity; missing counts the gaps', () => {
    const f = new FingerTable(ring, self, 1);
    assert.equal(f.capacity(1), 1);
    const targets = new Array<number>(129).fill(1);
    targets[1] = 4;
    f.setTargets(targets);
    assert.equal(f.capacity(1), 4);
    assert.equal(f.capacity(2), 1);
    const start = f.rangeStart(1);
    const quarter = ring.size / 8n;
    const peers = [0n, 1n, 2n, 3n, 4n].map((j) => ring.add(start, quarter * j / 2n + 7n));
    assert.deepEqual(peers.map((p) => f.offer(p)), [true, true, true, true, false]);
    assert.equal(f.countIn(1), 4);
    assert.ok(f.isFull(1));
    assert.equal(f.missing(3), 0 + 1 + 1, 'ranges 2 and 3 want one each');
    // targets that shrink keep what is held, take no more
    f.setTargets([]);
    assert.equal(f.countIn(1), 4);
    assert.equal(f.offer(ring.add(start, 99n)), false);
    f.remove(peers[0]!);
    assert.equal(f.offer(ring.add(start, 99n)), false, 'still over the new capacity of 1');
  });

  test('slotTargets: one point per empty slot of the range, inside its slot; the first of an empty range at its start', () => {
    const f = new FingerTable(ring, self, 1);
    const targets = new Array<number>(129).fill(1);
    targets[2] = 8;
    f.setTargets(targets);
    const pts = f.slotTargets(2, bytes);
    assert.equal(pts.length, 8);
    assert.equal(pts[0], f.rangeStart(2), 'RFC 6940 §10.5: n + 2^(128-i)');
    const width = ring.size >> 2n;
    const slots = pts.map((p) => (ring.distance(f.rangeStart(2), p) * 8n) / width);
    assert.deepEqual(slots, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    for (const p of pts) assert.equal(f.indexOf(p), 2);
    // fill slots 0 and 5: those are not searched again
    f.offer(ring.add(f.rangeStart(2), 5n));
    f.offer(ring.add(f.rangeStart(2), (width * 5n) / 8n + 11n));
    const again = f.slotTargets(2, bytes).map((p) => (ring.distance(f.rangeStart(2), p) * 8n) / width);
    assert.deepEqual(again, [1n, 2n, 3n, 4n, 6n, 7n]);
    assert.notEqual(f.slotTargets(2, bytes)[0], f.rangeStart(2) + 1n);
  });

  test('slotTargets with a limit: that many distinct empty slots, chosen at random; none for a full or invalid range', () => {
    const f = new FingerTable(ring, self, 1);
    const targets = new Array<number>(129).fill(1);
    targets[1] = 16;
    f.setTargets(targets);
    const width = ring.size >> 1n;
    const seen = new Set<bigint>();
    for (let round = 0; round < 20; round++) {
      const pts = f.slotTargets(1, bytes, 3);
      assert.equal(pts.length, 3);
      const slots = pts.map((p) => (ring.distance(f.rangeStart(1), p) * 16n) / width);
      assert.equal(new Set(slots).size, 3);
      for (const s of slots) seen.add(s);
    }
    assert.ok(seen.size > 8, `random slots, not always the first: ${seen.size}`);
    f.offer(ring.add(f.rangeStart(3), 1n));
    assert.deepEqual(f.slotTargets(3, bytes), [], 'range 3 (capacity 1) is full');
    assert.deepEqual(f.slotTargets(0, bytes), []);
    assert.deepEqual(f.slotTargets(129, bytes), []);
  });
});

describe('ChordMaintenance: the finger table follows the overlay (OverlayWorld, ManualClock)', () => {
  test('a peer that joined a young overlay fills its fingers as the overlay grows; density 0 keeps Chord fingers', async () => {
    const { OverlayWorld } = await import('./support/overlay-world.js');
    const counts = async (options: Record<string, number>): Promise<{ first: number; firstEarly: number; mean: number }> => {
      const w = new OverlayWorld(11, options);
      for (let i = 0; i < 4; i++) await w.add();
      await w.run(5000, 50);
      const firstEarly = w.nodes[0]!.node.status().fingers.length;
      for (let i = 0; i < 116; i++) await w.add();
      // less than one refresh period after the last join (60 s jittered from 30 s): the growth itself filled them
      await w.run(20_000, 50);
      const all = w.live().map((n) => n.node.status().fingers.length);
      return { first: w.nodes[0]!.node.status().fingers.length, firstEarly, mean: all.reduce((a, b) => a + b, 0) / all.length };
    };
    const dense = await counts({ fingerDensity: 0.15 });
    // 120 peers at 0.15: 9 + 5 + 3 + 2 + 1 + 1 = 21 targets in ranges 1..6
    assert.ok(dense.firstEarly <= 4, `alone with 3 others: ${dense.firstEarly}`);
    assert.ok(dense.first >= 14, `the first peer after the growth: ${dense.first} fingers`);
    assert.ok(dense.mean >= 14, `mean ${dense.mean}`);
    const chord = await counts({ fingerDensity: 0 });
    assert.ok(chord.mean < 10, `Chord: about log2 N distinct fingers, got ${chord.mean}`);
  });
});
