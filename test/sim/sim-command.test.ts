import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { simCommand, type SimCommandReport } from '../../src/cli/sim-command.js';
import { createOraclePeerFactory } from '../../harness/oracle-peer.js';

function harness(): { program: Command; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('p2psip').exitOverride();
  program.configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  simCommand(program, () => createOraclePeerFactory(), { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { program, out, err };
}

test('p2psip sim --json prints the measured statistics', async () => {
  const h = harness();
  await h.program.parseAsync(['sim', '--nodes', '40', '--duration', '1m', '--lookup-rate', '4', '--seed', '3', '--stabilize', '10s', '--churn', 'pareto', '--median-session', '1.4m', '--json', '--progress'], { from: 'user' });
  const r = JSON.parse(h.out.join('')) as SimCommandReport;
  assert.equal(r.nodes, 40);
  assert.equal(r.durationS, 60);
  assert.deepEqual(r.churn, { model: 'pareto', medianSessionS: 84, paretoShape: 3, gracefulFraction: 0.5, replacement: 'immediate' });
  assert.ok(r.lookups.attempted > 150 && r.lookups.succeeded > 0.7 * r.lookups.attempted, JSON.stringify(r.lookups));
  for (const k of ['mean', 'median', 'p99'] as const) assert.equal(typeof r.hops[k], 'number');
  for (const k of ['p50', 'p95', 'p99'] as const) assert.ok(r.lookupLatencyMs[k] > 0);
  assert.ok(r.maintenanceBytesPerSecPerNode > 0);
  assert.ok(r.memoryPerNodeBytes >= 0 && r.wallTimeS > 0);
  assert.ok(r.population.leaves + r.population.crashes > 0);
  assert.ok(h.err.some((l) => l.startsWith('sim: measure')), 'progress on stderr');
});

test('p2psip sim without --json prints a human summary', async () => {
  const h = harness();
  await h.program.parseAsync(['sim', '--nodes', '20', '--duration', '20s', '--stabilize', '5s', '--latency', 'constant:20'], { from: 'user' });
  const text = h.out.join('');
  assert.match(text, /^p2psip sim: 20 peers, no churn, 20 s measured \(seed 1, latency constant:20\)/);
  assert.match(text, /lookups {5}\d+\/\d+ succeeded \(100\.00 %\)/);
  assert.match(text, /wall time/);
});

test('bad options are usage errors', async () => {
  for (const args of [['--nodes', '0'], ['--churn', 'weibull'], ['--median-session', 'soon'], ['--latency', 'lognormal:x'], ['--loss', '2']]) {
    const h = harness();
    await assert.rejects(h.program.parseAsync(['sim', ...args], { from: 'user' }), (e: unknown) => e instanceof CommanderError && e.exitCode !== 0, args.join(' '));
  }
});
