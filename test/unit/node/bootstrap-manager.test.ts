import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { BootstrapManager, type CandidateOutcome } from '../../../src/node/bootstrap-manager.js';
import { CandidateTable } from '../../../src/node/candidate-table.js';

/** A fake node: candidates answer as `answers` says at the time of the attempt. */
function world() {
  const clock = new ManualClock();
  const table = new CandidateTable(() => clock.now(), new SeededRandom(7));
  const attempts: { at: number; ep: string }[] = [];
  const answers = new Map<string, CandidateOutcome>();
  let neighbours = false;
  const merged: string[] = [];
  const states: string[] = [];
  const m = new BootstrapManager({
    clock,
    table,
    tryCandidate: async (ep) => {
      const key = `${ep.host}:${ep.port}`;
      attempts.push({ at: clock.now(), ep: key });
      const r = answers.get(key) ?? 'unreachable';
      if (r === 'merged') neighbours = true;
      return r;
    },
    hasNeighbours: () => neighbours,
    onMerged: (via) => merged.push(via),
    onState: (s) => states.push(s),
  });
  const run = async (ms: number): Promise<void> => {
    const end = clock.now() + ms;
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      const next = clock.nextTimerAt();
      if (next === undefined || next > end) break;
      clock.advanceTo(next);
    }
    clock.advanceTo(end);
    await new Promise<void>((r) => setImmediate(r));
  };
  return { clock, table, m, attempts, answers, merged, states, run, setNeighbours: (v: boolean) => void (neighbours = v) };
}

describe('BootstrapManager: never strand (issue 15)', () => {
  test('no candidate answers → alone → keeps trying with backoff → joins when one answers', async () => {
    const w = world();
    assert.equal(w.m.state, 'joining');
    w.m.offer({ host: '127.0.0.1', port: 1, source: 'configured' });
    w.m.start('alone', 'no configured or cached peer answered');
    assert.equal(w.m.state, 'alone');
    await w.run(120_000);
    const first = w.attempts.length;
    assert.ok(first >= 5 && first <= 12, `attempts in 2 min: ${first}`);
    // the gaps grow: 1 s doubling, jittered, capped at 60 s
    const gaps = w.attempts.slice(1).map((a, i) => a.at - w.attempts[i]!.at);
    assert.ok(gaps.every((g) => g <= 90_000), JSON.stringify(gaps));
    assert.ok(gaps.at(-1)! > gaps[0]!, JSON.stringify(gaps));
    assert.equal(w.m.status().state, 'alone');
    assert.equal(w.m.status().lastAttempt?.result, 'unreachable');
    // the bootstrap peer comes up
    w.answers.set('127.0.0.1:1', 'merged');
    await w.run(61_000 * 1.5);
    assert.equal(w.m.state, 'joined');
    assert.deepEqual(w.merged, ['127.0.0.1:1']);
    assert.deepEqual(w.states, ['alone', 'joined']);
    assert.match(w.m.status().reason, /joined the ring of 127\.0\.0\.1:1/);
  });

  test('a new candidate is tried at once, even while the others back off', async () => {
    const w = world();
    w.m.offer({ host: '10.0.0.1', port: 1, source: 'cache' });
    w.m.start('alone', 'x');
    await w.run(40_000);
    const n = w.attempts.length;
    w.answers.set('10.0.0.2:6084', 'merged');
    w.m.offer({ host: '10.0.0.2', port: 6084, source: 'multicast' });
    await w.run(0);
    assert.equal(w.attempts.length, n + 1);
    assert.equal(w.attempts.at(-1)!.ep, '10.0.0.2:6084');
    assert.equal(w.attempts.at(-1)!.at, w.clock.now());
    assert.equal(w.m.state, 'joined');
  });

  test('joined: a candidate in our own ring is re-checked only after recheckMs; one in another ring merges', async () => {
    const w = world();
    w.setNeighbours(true);
    w.answers.set('10.0.0.1:1', 'same-ring');
    w.m.offer({ host: '10.0.0.1', port: 1, source: 'configured' });
    w.m.start('joined', 'admitted');
    await w.run(200_000);
    assert.equal(w.attempts.length, 1);
    await w.run(200_000);
    assert.equal(w.attempts.length, 2, 'the partition check again after 300 s');
    w.answers.set('10.0.0.5:1', 'merged');
    w.m.offer({ host: '10.0.0.5', port: 1, source: 'mdns' });
    await w.run(0);
    assert.equal(w.m.status().merges, 1);
    assert.deepEqual(w.merged, ['10.0.0.5:1']);
    assert.equal(w.m.state, 'joined');
  });

  test('joined → alone when every neighbour is lost; the candidates are tried again at once', async () => {
    const w = world();
    w.setNeighbours(true);
    w.answers.set('10.0.0.1:1', 'same-ring');
    w.m.offer({ host: '10.0.0.1', port: 1, source: 'configured' });
    w.m.start('joined', 'admitted');
    await w.run(1000);
    w.setNeighbours(false);
    w.m.neighboursChanged();
    assert.equal(w.m.state, 'alone');
    w.setNeighbours(true);
    w.m.neighboursChanged();
    assert.equal(w.m.state, 'joined');
    assert.equal(w.m.status().list.length, 1);
  });

  test('stop: no attempt afterwards, no timer left', async () => {
    const w = world();
    w.m.offer({ host: '10.0.0.1', port: 1, source: 'configured' });
    w.m.start('alone', 'x');
    await w.run(5000);
    w.m.stop();
    const n = w.attempts.length;
    await w.run(600_000);
    assert.equal(w.attempts.length, n);
    assert.equal(w.clock.nextTimerAt(), undefined);
  });
});
