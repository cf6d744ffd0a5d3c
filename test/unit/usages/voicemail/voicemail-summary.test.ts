/** Issue 16: message-summary counts from the voicemail index: cached for a while, shared, bounded. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { VoicemailSummary } from '../../../../src/usages/voicemail/voicemail-summary.js';

function rig(options: ConstructorParameters<typeof VoicemailSummary>[1] = {}) {
  const clock = new ManualClock(0);
  const asks: string[] = [];
  let answer: { ok: true; count: number } | { ok: false; info: string } = { ok: true, count: 3 };
  const s = new VoicemailSummary(
    {
      clock,
      count: (aor) => {
        asks.push(aor);
        return Promise.resolve(answer);
      },
    },
    options,
  );
  return { clock, asks, s, set: (a: typeof answer) => (answer = a) };
}

describe('VoicemailSummary', () => {
  test('a count is one Stat, cached for ttlMs, shared by concurrent asks; fresh asks again', async () => {
    const { clock, asks, s } = rig({ ttlMs: 1000 });
    const [a, b] = await Promise.all([s.summary('sip:alice@x'), s.summary('sip:Alice@x')]);
    assert.deepEqual(a, { newMessages: 3, oldMessages: 0 });
    assert.deepEqual(b, a);
    assert.equal(asks.length, 1);
    clock.advance(999);
    await s.count('sip:alice@x');
    assert.equal(asks.length, 1);
    await s.count('sip:alice@x', true);
    assert.equal(asks.length, 2);
    clock.advance(1000);
    await s.count('sip:alice@x');
    assert.equal(asks.length, 3);
  });

  test('a failed count gives the last one known (0 when none)', async () => {
    const { s, set, clock } = rig({ ttlMs: 0 });
    set({ ok: false, info: 'timeout' });
    assert.equal(await s.count('sip:a@x'), 0);
    set({ ok: true, count: 2 });
    assert.equal(await s.count('sip:a@x'), 2);
    set({ ok: false, info: 'timeout' });
    clock.advance(1);
    assert.equal(await s.count('sip:a@x'), 2);
  });

  test('changed() sets the count and tells the watchers; watches are bounded; the cache is bounded', async () => {
    const { s, asks } = rig({ maxWatchers: 1, maxCached: 2 });
    const seen: string[] = [];
    const un = s.watch('sip:a@x', () => seen.push('a'));
    const none = s.watch('sip:b@x', () => seen.push('b'));
    assert.equal(s.watchCount, 1);
    s.changed('sip:a@x', 5);
    s.changed('sip:b@x', 1);
    assert.deepEqual(seen, ['a']);
    assert.equal(await s.count('sip:a@x'), 5);
    assert.equal(asks.length, 0);
    un();
    un();
    none();
    assert.equal(s.watchCount, 0);
    s.changed('sip:c@x', 1);
    assert.equal(s.cached('sip:a@x'), undefined, 'the oldest forgotten');
    assert.throws(() => rig({ ttlMs: -1 }), RangeError);
  });
});
