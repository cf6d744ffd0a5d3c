import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { simCommand, type SimCommandReport } from '../../src/cli/sim-command.js';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';

function harness(): { program: Command; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('p2psip').exitOverride();
  program.configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  simCommand(program, () => createOverlaySimPeerFactory(), { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { program, out, err };
}

test('p2psip sim --store-values reports the storage workload in the JSON', async () => {
  const h = harness();
  const args = ['sim', '--nodes', '12', '--duration', '5m', '--lookup-rate', '0.1', '--stabilize', '10s', '--churn', 'exponential', '--median-session', '5m'];
  await h.program.parseAsync([...args, '--store-values', '30', '--value-size', '120', '--value-lifetime', '10m', '--refresh', '4m', '--audit-every', '2m', '--audit-sample', '10', '--crash-mode', 'reset', '--json'], { from: 'user' });
  const r = JSON.parse(h.out.join('')) as SimCommandReport;
  const s = r.storage!;
  assert.equal(s.options.values, 30);
  assert.equal(s.options.valueSize, 120);
  assert.equal(s.options.lifetimeS, 600);
  assert.equal(s.options.refreshMs, 240_000);
  assert.equal(s.values, 30);
  assert.equal(s.audits.rounds, 2);
  assert.equal(s.audits.checks, 20);
  assert.equal(s.finalAudit.checks, 30);
  assert.equal(s.finalAudit.lost + s.audits.lost, s.losses.filter((l) => !l.reason.startsWith('unreachable')).length);
  for (const k of ['replication', 'workloadStore', 'audit'] as const) assert.equal(typeof s.bytesPerSecPerNode[k], 'number');
  assert.ok(s.refreshes > 0);
});

test('p2psip sim without --store-values has no storage section; --refresh must be shorter than the lifetime', async () => {
  const h = harness();
  await h.program.parseAsync(['sim', '--nodes', '8', '--duration', '30s', '--lookup-rate', '1', '--stabilize', '5s', '--json'], { from: 'user' });
  assert.equal((JSON.parse(h.out.join('')) as SimCommandReport).storage, undefined);
  await assert.rejects(harness().program.parseAsync(['sim', '--nodes', '8', '--store-values', '5', '--refresh', '2h', '--value-lifetime', '1h'], { from: 'user' }), /shorter/);
});
