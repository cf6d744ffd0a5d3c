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
  let ids: string[] = [];
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
    neighbourIds: () => ids,
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
  return { clock, table, m, attempts, answers, merged, states, run, setNeighbours: (v: boolean) => void (neighbours = v), setIds: (v: string[]) => void (ids = v) };
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

  test('a lost neighbour (a split): every candidate is due within 1 s, failures back off to 12 s at most; the healed half merges at the next try', async () => {
    const w = world();
    for (const p of [1, 2, 3]) w.m.offer({ host: '192.0.2.1', port: p, source: 'mdns' });
    for (const p of [1, 2, 3]) w.answers.set(`192.0.2.1:${p}`, 'same-ring');
    w.setNeighbours(true);
    w.setIds(['a', 'b', 'c']);
    w.m.start('joined', 'admitted');
    await w.run(1000);
    assert.equal(w.attempts.length, 3, 'each candidate checked once');
    await w.run(60_000);
    assert.equal(w.attempts.length, 3, 'then rechecked only after recheckMs (300 s)');
    // the switch splits: two of them vanish from the neighbour table and stop answering
    w.answers.set('192.0.2.1:2', 'unreachable');
    w.answers.set('192.0.2.1:3', 'unreachable');
    w.setIds(['a']);
    const splitAt = w.clock.now();
    w.m.neighboursChanged();
    await w.run(1500);
    assert.equal(w.attempts.filter((a) => a.at > splitAt).length, 3, 'all three tried within 1 s of the loss');
    await w.run(120_000);
    const late = w.attempts.filter((a) => a.at > splitAt + 30_000 && a.ep === '192.0.2.1:2').map((a) => a.at);
    const gaps = late.slice(1).map((t, i) => t - late[i]!);
    assert.ok(gaps.length >= 4 && gaps.every((g) => g <= 12_000), `gaps after the loss ${JSON.stringify(gaps)}`);
    // healed: the next try merges
    w.answers.set('192.0.2.1:2', 'merged');
    const healAt = w.clock.now();
    await w.run(13_000);
    assert.ok(w.merged.length >= 1, 'merged within 13 s of the heal');
    assert.ok(w.attempts.some((a) => a.at > healAt && a.ep === '192.0.2.1:2'));
  });
});
