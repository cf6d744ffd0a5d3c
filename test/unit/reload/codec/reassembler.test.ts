import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { fragmentMessage } from '../../../../src/reload/codec/fragmenter.js';
import { REASSEMBLY_PIECE_OVERHEAD, Reassembler, ReassemblyError } from '../../../../src/reload/codec/reassembler.js';
import type { ReassemblerOptions, ReassemblyResult } from '../../../../src/reload/codec/reassembler.js';
import { decodeReloadPdu, encodeReloadMessage, encodeReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import type { ReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import { bigMessage } from './fragment-fixtures.js';

const BIG = { maxMessageSize: 70000 };

function pdu(bytes: Uint8Array): ReloadPdu {
  const r = decodeReloadPdu(bytes, BIG);
  if (!r.ok) throw r.error;
  return r.value;
}

function setup(bodyLength = 3000, max = 600, tid = 1n): { whole: Uint8Array; frags: ReloadPdu[] } {
  const whole = encodeReloadMessage(bigMessage(bodyLength, tid), BIG);
  return { whole, frags: fragmentMessage(whole, max, BIG).map(pdu) };
}

function feed(r: Reassembler, frags: readonly ReloadPdu[], peer?: string): ReassemblyResult[] {
  return frags.map((f) => r.accept(f, peer));
}

function completeOf(results: readonly ReassemblyResult[]): Uint8Array {
  const done = results.filter((x) => x.kind === 'complete');
  assert.equal(done.length, 1);
  assert.equal(results[results.length - 1]?.kind, 'complete', 'completes on the last one fed');
  const d = done[0];
  if (d?.kind !== 'complete') throw new Error('unreachable');
  return d.message;
}

function droppedOf(x: ReassemblyResult | undefined): ReassemblyError {
  if (x?.kind !== 'dropped') throw new assert.AssertionError({ message: `expected dropped, got ${x?.kind}` });
  assert.ok(x.error instanceof ReassemblyError);
  assert.equal(x.error.code, 'RELOAD_REASSEMBLY');
  return x.error;
}

/** Replaces a fragment's payload (keeping header, offset, last bit). */
function withPayload(f: ReloadPdu, payload: Uint8Array, offset = f.header.fragment.offset, last = f.header.fragment.last): ReloadPdu {
  return pdu(encodeReloadPdu({ ...f.header, fragment: { last, offset } }, payload, BIG));
}

function make(clock = new ManualClock(), options: ReassemblerOptions = {}): Reassembler {
  return new Reassembler(clock, { ...BIG, ...options });
}

describe('Reassembler (RFC 6940 §6.7)', () => {
  test('in order, reversed: the whole message bytes, then nothing held', () => {
    const { whole, frags } = setup();
    assert.ok(frags.length >= 5);
    for (const order of [frags, [...frags].reverse()]) {
      const r = make();
      assert.deepEqual(completeOf(feed(r, order)), whole);
      assert.deepEqual(r.stats(), { incomplete: 0, bufferedBytes: 0, completed: 1, timedOut: 0, evicted: 0, errors: 0 });
    }
  });

  test('an unfragmented message comes straight back', () => {
    const whole = encodeReloadMessage(bigMessage(100));
    const r = make();
    const out = r.accept(pdu(whole));
    assert.equal(out.kind, 'complete');
    if (out.kind === 'complete') assert.deepEqual(out.message, whole);
    assert.equal(r.stats().incomplete, 0);
  });

  test('property: any permutation, with duplicates, reassembles exactly once', () => {
    const { whole, frags } = setup(2500, 500);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(frags, { minLength: frags.length, maxLength: frags.length }),
        fc.array(fc.nat(frags.length - 1), { maxLength: 6 }),
        (order, dups) => {
          const r = make();
          const results: ReassemblyResult[] = [];
          for (const [i, f] of order.entries()) {
            results.push(r.accept(f));
            if (i === order.length - 1) break;
            // duplicates before completion are absorbed without changing what is held
            for (const d of dups) if (d < i) assert.equal(r.accept(order[d] as ReloadPdu).kind, 'incomplete');
          }
          const done = results.filter((x) => x.kind === 'complete');
          assert.equal(done.length, 1);
          assert.deepEqual(done[0]?.kind === 'complete' ? done[0].message : undefined, whole);
          assert.equal(r.stats().bufferedBytes, 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('overlapping fragments (refragmented along two paths) that agree are merged', () => {
    const whole = encodeReloadMessage(bigMessage(3000), BIG);
    const coarse = fragmentMessage(whole, 1300, BIG).map(pdu);
    const fine = fragmentMessage(whole, 700, BIG).map(pdu);
    const r = make();
    // every other coarse and fine fragment: together they cover everything with overlaps
    const mixed = [...coarse.filter((_, i) => i % 2 === 0), ...fine.filter((_, i) => i % 2 === 1)];
    const all: ReassemblyResult[] = [];
    for (const f of [...mixed, ...coarse, ...fine]) {
      all.push(r.accept(f));
      if (all[all.length - 1]?.kind === 'complete') break;
    }
    assert.ok(all.length > mixed.length, 'the mixed set alone is not the whole message');
    const done = all.filter((x) => x.kind === 'complete');
    assert.equal(done.length, 1);
    assert.deepEqual(done[0]?.kind === 'complete' ? done[0].message : undefined, whole);
    assert.equal(r.stats().errors, 0);
  });

  test('an overlap with different bytes drops the message (conflict)', () => {
    const { frags } = setup();
    const r = make();
    const f0 = frags[0] as ReloadPdu;
    r.accept(f0);
    const bad = f0.payload.slice();
    bad[10] = (bad[10] ?? 0) ^ 0xff;
    const err = droppedOf(r.accept(withPayload(f0, bad.subarray(5, 100), 5)));
    assert.equal(err.reason, 'conflict');
    assert.deepEqual({ incomplete: r.stats().incomplete, bufferedBytes: r.stats().bufferedBytes, errors: r.stats().errors }, { incomplete: 0, bufferedBytes: 0, errors: 1 });
  });

  test('inconsistent ends are conflicts: past the last fragment, two different lasts, last before held bytes', () => {
    const { frags } = setup();
    const lastF = frags[frags.length - 1] as ReloadPdu;
    const f0 = frags[0] as ReloadPdu;
    const end = lastF.header.fragment.offset + lastF.payload.length;
    const cases: ReloadPdu[][] = [
      [lastF, withPayload(f0, new Uint8Array(10), end - 5, false)],
      [lastF, withPayload(lastF, lastF.payload.subarray(0, 10), lastF.header.fragment.offset, true)],
      [frags[2] as ReloadPdu, withPayload(f0, f0.payload.subarray(0, 10), 0, true)],
    ];
    for (const c of cases) {
      const r = make();
      const out = feed(r, c);
      assert.equal(out[0]?.kind, 'incomplete');
      assert.equal(droppedOf(out[1]).reason, 'conflict');
      assert.equal(r.stats().incomplete, 0);
    }
  });

  test('a fragment reaching past max-message-size is refused and drops its message', () => {
    const { frags } = setup(3000, 600);
    const r = make(new ManualClock(), { maxMessageSize: 2000 });
    const f0 = frags[0] as ReloadPdu;
    assert.equal(r.accept(f0).kind, 'incomplete');
    const far = frags.find((f) => f.headerLength + f.header.fragment.offset + f.payload.length > 2000) as ReloadPdu;
    assert.equal(droppedOf(r.accept(far)).reason, 'too-large');
    assert.equal(r.stats().incomplete, 0);
    assert.equal(r.stats().errors, 1);
    // the whole set never completes
    const results = feed(r, frags);
    assert.ok(results.every((x) => x.kind !== 'complete'));
  });

  test('fragments are keyed by transaction id and sender (peer id or first via entry)', () => {
    const a = setup(2000, 600, 7n);
    const b = setup(2000, 600, 8n);
    const r = make();
    const interleaved = a.frags.flatMap((f, i) => [f, b.frags[i] as ReloadPdu]);
    const out = feed(r, interleaved).filter((x) => x.kind === 'complete');
    assert.equal(out.length, 2);
    // same transaction id from two peers: kept apart
    const r2 = make();
    const f0 = a.frags[0] as ReloadPdu;
    r2.accept(f0, 'peer-1');
    r2.accept(f0, 'peer-2');
    assert.equal(r2.stats().incomplete, 2);
    const other = pdu(encodeReloadPdu({ ...f0.header, viaList: [{ type: 'node', nodeId: new Uint8Array(16).fill(1) }] }, f0.payload, BIG));
    r2.accept(f0);
    r2.accept(other);
    assert.equal(r2.stats().incomplete, 4);
  });

  test('timeout: an incomplete message is dropped after timeoutMs (15 s by default) and counted', () => {
    const clock = new ManualClock();
    const { frags } = setup();
    const r = new Reassembler(clock, BIG);
    feed(r, frags.slice(1));
    assert.equal(r.stats().incomplete, 1);
    clock.advance(14_999);
    assert.equal(r.stats().incomplete, 1);
    clock.advance(1);
    assert.deepEqual(r.stats(), { incomplete: 0, bufferedBytes: 0, completed: 0, timedOut: 1, evicted: 0, errors: 0 });
    // the late first fragment starts a new incomplete message rather than completing
    assert.equal(r.accept(frags[0] as ReloadPdu).kind, 'incomplete');
    r.clear();
    assert.equal(clock.pendingTimers, 0);
  });

  test('a completed message cancels its timer', () => {
    const clock = new ManualClock();
    const { frags } = setup();
    const r = make(clock);
    feed(r, frags);
    assert.equal(clock.pendingTimers, 0);
  });

  test('the incomplete-message limit evicts the oldest', () => {
    const r = make(new ManualClock(), { maxIncompleteMessages: 3 });
    const sets = [1n, 2n, 3n, 4n].map((t) => setup(2000, 600, t));
    for (const s of sets) r.accept(s.frags[0] as ReloadPdu);
    assert.equal(r.stats().incomplete, 3);
    assert.equal(r.stats().evicted, 1);
    // message 1 was evicted: its remaining fragments do not complete it; 2..4 still do
    assert.ok(feed(r, (sets[0] as { frags: ReloadPdu[] }).frags.slice(1)).every((x) => x.kind === 'incomplete'));
  });

  test('the byte limit evicts the oldest, never holds more than the limit, and drops a message that alone exceeds it', () => {
    const limit = 5000;
    const r = make(new ManualClock(), { maxBufferedBytes: limit });
    const sets = [1n, 2n, 3n, 4n, 5n].map((t) => setup(3000, 600, t));
    let peak = 0;
    for (let i = 0; i < 4; i++) {
      for (const s of sets) {
        r.accept(s.frags[i] as ReloadPdu);
        peak = Math.max(peak, r.stats().bufferedBytes);
        assert.ok(r.stats().bufferedBytes <= limit);
      }
    }
    assert.ok(peak > limit - 1000, `peak ${peak}`);
    assert.ok(r.stats().evicted > 0);
    // a whole message still fits: the others make room for it
    const newest = sets[4] as { whole: Uint8Array; frags: ReloadPdu[] };
    const outs = feed(r, newest.frags);
    const done = outs.find((x) => x.kind === 'complete');
    assert.deepEqual(done?.kind === 'complete' ? done.message : undefined, newest.whole);
    assert.ok(r.stats().bufferedBytes <= limit);

    const tiny = make(new ManualClock(), { maxBufferedBytes: 1000 });
    const one = setup(3000, 600, 9n);
    const results = feed(tiny, one.frags);
    const err = results.find((x) => x.kind === 'dropped');
    assert.equal(droppedOf(err).reason, 'buffer-full');
    assert.ok(tiny.stats().bufferedBytes <= 1000);
  });

  test('tiny fragments are charged a per-piece overhead, so the byte limit bounds the piece count', () => {
    const { frags } = setup();
    const f0 = frags[0] as ReloadPdu;
    const limit = 100 * (1 + REASSEMBLY_PIECE_OVERHEAD) + f0.headerLength;
    const r = make(new ManualClock(), { maxBufferedBytes: limit });
    const results: ReassemblyResult[] = [];
    // every other byte, so no two pieces touch
    for (let at = 0; at < 2000 && results[results.length - 1]?.kind !== 'dropped'; at += 2) {
      results.push(r.accept(withPayload(f0, new Uint8Array([at & 0xff]), at, false)));
      assert.ok(r.stats().bufferedBytes <= limit);
    }
    assert.equal(droppedOf(results[results.length - 1]).reason, 'buffer-full');
    assert.ok(results.length <= 101, `${results.length} pieces`);
    assert.equal(r.stats().bufferedBytes, 0);
  });

  test('property: random fragment soup never exceeds the byte or message limits and never throws', () => {
    const pool = [1n, 2n, 3n].flatMap((t) => setup(2500, 500, t).frags);
    fc.assert(
      fc.property(fc.array(fc.nat(pool.length - 1), { maxLength: 60 }), fc.array(fc.nat(20000), { maxLength: 5 }), (picks, waits) => {
        const clock = new ManualClock();
        const r = make(clock, { maxBufferedBytes: 3000, maxIncompleteMessages: 2, timeoutMs: 1000 });
        picks.forEach((p, i) => {
          r.accept(pool[p] as ReloadPdu);
          if (i < waits.length) clock.advance((waits[i] ?? 0) % 1500);
          const s = r.stats();
          assert.ok(s.bufferedBytes <= 3000 && s.bufferedBytes >= 0);
          assert.ok(s.incomplete <= 2);
        });
      }),
      { numRuns: 200 },
    );
  });

  test('bad options throw ReassemblyError bad-option', () => {
    for (const o of [{ maxBufferedBytes: 0 }, { timeoutMs: -1 }, { maxIncompleteMessages: 1.5 }, { maxMessageSize: Number.NaN }]) {
      assert.throws(() => new Reassembler(new ManualClock(), o), (e: unknown) => e instanceof ReassemblyError && e.reason === 'bad-option');
    }
  });
});
