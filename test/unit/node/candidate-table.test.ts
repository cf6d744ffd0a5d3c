import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/lib/random.js';
import { CandidateTable } from '../../../src/node/candidate-table.js';

describe('CandidateTable (issue 15)', () => {
  test('bounded: the least recently offered non-configured candidate is evicted', () => {
    let now = 0;
    const t = new CandidateTable(() => now, new SeededRandom(1), { maxCandidates: 4 });
    t.offer({ host: '10.0.0.1', port: 6084, source: 'configured' });
    for (let i = 2; i <= 6; i++) {
      now += 10;
      t.offer({ host: `10.0.0.${i}`, port: 6084, source: 'multicast' });
    }
    assert.equal(t.size, 4);
    assert.ok(t.has('10.0.0.1', 6084), 'configured kept');
    assert.ok(!t.has('10.0.0.2', 6084) && !t.has('10.0.0.3', 6084));
    assert.ok(t.has('10.0.0.6', 6084));
  });

  test('de-duplicated by address; a re-offer refreshes its place and keeps its backoff', () => {
    let now = 0;
    const t = new CandidateTable(() => now, new SeededRandom(1), { maxCandidates: 2 });
    t.offer({ host: '10.0.0.1', port: 6084, source: 'cache' });
    t.offer({ host: '10.0.0.2', port: 6084, source: 'mdns' });
    const e = t.due(now).find((x) => x.host === '10.0.0.1')!;
    t.failed(e, now, 'unreachable');
    now = 1;
    t.offer({ host: '10.0.0.1', port: 6084, source: 'multicast', nodeId: 'ABCD' }); // now most recent
    assert.equal(t.size, 2);
    const again = t.list()[0]!;
    assert.equal(again.host, '10.0.0.1');
    assert.equal(again.source, 'multicast', 'a better source wins');
    assert.equal(again.nodeId, 'abcd');
    assert.equal(again.failures, 1);
    assert.ok(again.nextAttemptAt > now, 'still backing off');
    t.offer({ host: '10.0.0.3', port: 6084, source: 'mdns' });
    assert.ok(!t.has('10.0.0.2', 6084), 'the least recently offered went');
  });

  test('bad candidates are ignored', () => {
    const t = new CandidateTable(() => 0, new SeededRandom(1));
    t.offer({ host: '', port: 6084, source: 'mdns' });
    t.offer({ host: '10.0.0.1', port: 0, source: 'mdns' });
    t.offer({ host: '10.0.0.1', port: 70000, source: 'mdns' });
    t.offer({ host: 'x'.repeat(65), port: 1, source: 'mdns' });
    assert.equal(t.size, 0);
  });

  test('backoff: 1 s doubling to 60 s, jittered ±50 %; a success resets it', () => {
    const t = new CandidateTable(() => 0, new SeededRandom(3));
    const waits: number[] = [];
    for (let f = 1; f <= 10; f++) waits.push(t.backoffMs(f));
    for (let f = 1; f <= 10; f++) {
      const base = Math.min(60_000, 1000 * 2 ** (f - 1));
      assert.ok(waits[f - 1]! >= base * 0.5 && waits[f - 1]! <= base * 1.5, `failure ${f}: ${waits[f - 1]}`);
    }
    let now = 0;
    const tt = new CandidateTable(() => now, new SeededRandom(3));
    tt.offer({ host: '10.0.0.9', port: 1, source: 'mdns' });
    const e = tt.due(0)[0]!;
    let attempts = 0;
    // a non-member retried for 10 minutes: a handful of attempts, not a tight loop
    for (now = 0; now < 600_000; now += 100) {
      for (const d of tt.due(now)) {
        attempts++;
        tt.failed(d, now, 'failed');
      }
    }
    assert.ok(attempts >= 10 && attempts <= 25, `attempts ${attempts}`);
    tt.succeeded(e, now, 'merged', 300_000);
    assert.equal(e.failures, 0);
    assert.equal(e.nextAttemptAt, now + 300_000);
  });

  test('due: never-tried first; nextDueAt; a new candidate calls onFresh', () => {
    let now = 0;
    const t = new CandidateTable(() => now, new SeededRandom(1));
    let fresh = 0;
    t.onFresh = () => fresh++;
    t.offer({ host: '10.0.0.1', port: 1, source: 'cache' });
    t.failed(t.due(0)[0]!, 0, 'x');
    now = 5000;
    t.offer({ host: '10.0.0.2', port: 1, source: 'mdns' });
    t.offer({ host: '10.0.0.2', port: 1, source: 'mdns' });
    assert.equal(fresh, 2);
    const due = t.due(now);
    assert.equal(due[0]!.host, '10.0.0.2');
    assert.equal(t.nextDueAt(), due.length === 2 ? Math.min(due[0]!.nextAttemptAt, due[1]!.nextAttemptAt) : t.nextDueAt());
  });
});
