/**
 * Two homes with one address plan: a phone and its peer at 192.168.1.10 behind one port-restricted
 * router, another phone and peer at 192.168.1.10 behind another. Each peer announces the same private
 * SIP address; the SIP channel between them carries it as the other's alias, and both Record-Route the
 * calls at "192.168.1.10:5060". The instance tag in each Record-Route (`p2psip-i`) tells the two apart:
 * without it a peer took the other's Route for its own, popped both, and every in-dialog request (ACK,
 * BYE) went nowhere (seen: INVITE 200, BYE without an answer, 5 of 5 calls).
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isRoot, requireTools } from '../../harness/require-tools.js';
import { withScope } from '../../harness/process-scope.js';
import { NatLab, startLabPeer, LAB_SIP_PORT } from '../../harness/nat-lab/index.js';
import type { LabHost } from '../../harness/nat-lab/index.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { until } from './helpers/lab-until.js';

const PHONE = join(REPO_ROOT, 'harness', 'nat-lab', 'lab-phone.ts');
const CALLS = 20;

test(`two homes with the same private address plan call each other (${CALLS} calls each way, MESSAGE)`, { timeout: 180_000 }, async (t) => {
  if (!requireTools(t, ['ip', 'nft'])) return;
  if (!isRoot()) {
    t.skip('network namespaces need root');
    return;
  }
  await withScope(async (scope) => {
    const lab = await NatLab.builder(scope)
      .publicHost('boot')
      .site('h1', 'port-restricted', ['a1'], { lanSubnet: '192.168.1.0/24' })
      .site('h2', 'port-restricted', ['b1'], { lanSubnet: '192.168.1.0/24' })
      .build();
    assert.equal(lab.host('a1').address, lab.host('b1').address, 'the same private address at both homes');
    const boot = await startLabPeer(lab.host('boot'));
    const peers = await Promise.all(['a1', 'b1'].map((n) => startLabPeer(lab.host(n), { bootstrap: boot.overlayAddress })));
    await until('joined', 60_000, async () => ((await Promise.all(peers.map((p) => p.status()))).every((s) => s.state === 'joined') ? true : 'not yet'));
    const phone = (h: LabHost, args: string[]) => h.spawn({ command: process.execPath, args: ['--import', 'tsx', PHONE, ...args], cwd: REPO_ROOT, lifetimeMs: 150_000, name: `phone@${h.name}` });
    const proxy = (h: LabHost) => `${h.address}:${LAB_SIP_PORT}`;
    const a = lab.host('a1');
    const b = lab.host('b1');
    const answering = [phone(a, ['answer', a.address, 'u-a', 'p2psip.local', proxy(a), '120']), phone(b, ['answer', b.address, 'u-b', 'p2psip.local', proxy(b), '120'])];
    for (const p of answering) assert.equal(await p.waitForLine(/^registered /, { timeoutMs: 30_000 }), 'registered 200');
    const results = await Promise.all(
      [
        [a, 'sip:u-b@p2psip.local'],
        [b, 'sip:u-a@p2psip.local'],
      ].map(async ([h, target]) => {
        const host = h as LabHost;
        const p = phone(host, ['call', host.address, `c-${host.name}`, 'p2psip.local', proxy(host), target as string, String(CALLS), '32000']);
        return { from: host.name, r: JSON.parse(await p.waitForLine(/^\{/, { timeoutMs: 150_000 })) as { message: number; ok: number; failed: number; firstFailure?: string; ringMsMedian: number } };
      }),
    );
    for (const { from, r } of results) {
      t.diagnostic(`${from}: MESSAGE ${r.message}, calls ok ${r.ok} failed ${r.failed}, INVITE→180 median ${r.ringMsMedian} ms ${r.firstFailure ?? ''}`);
      assert.equal(r.message, 200, `MESSAGE from ${from}`);
      assert.equal(r.failed, 0, `${from}: ${r.firstFailure}`);
      assert.equal(r.ok, CALLS);
    }
  });
});
