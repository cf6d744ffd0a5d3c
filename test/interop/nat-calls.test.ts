/**
 * Issue 12: phones behind NATs call each other through their peers. In the NAT lab, peers (all with
 * `--ice`) on the public segment and behind full-cone, port-restricted and symmetric routers and a
 * home LAN; one phone (harness/dialog-phone.ts, UDP) registered at each peer; from every site a phone
 * calls every other site's phone 100 times (INVITE, ACK, BYE) after one MESSAGE, each call given the
 * 32 s of an INVITE transaction (Timer B) as a SIP phone does; calls slower than 5 s are counted and shown. The SIP between
 * peers crosses the NATs inside the ICE/DTLS channels AppAttach opens (usages/sip/sip-channels.ts).
 * Then a callee's peer is killed (kill -9): a call to it gets a final answer (480/408 with a reason),
 * never silence — 408 at Timer B while the caller's peer still holds a channel to it.
 * The test phone retransmits its 2xx until the ACK and re-ACKs a retransmitted 2xx, as real phones do
 * (a 200 once dropped at a TURN relay's bandwidth limit cost a whole call when it did not).
 * Phones behind the UDP-blocked router: nat-blocked.test.ts; real softphones: nat-softphones.test.ts.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isRoot, requireTools } from '../../harness/require-tools.js';
import { withScope } from '../../harness/process-scope.js';
import { NatLab, startLabPeer, LAB_SIP_PORT } from '../../harness/nat-lab/index.js';
import type { LabHost, LabPeer } from '../../harness/nat-lab/index.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { until } from './helpers/lab-until.js';

const PHONE = join(REPO_ROOT, 'harness', 'nat-lab', 'lab-phone.ts');
const DOMAIN = 'p2psip.local';
const CALLS = 100;

interface CallSummary {
  registered: number;
  message: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  ringMsMedian: number;
  finalMsMedian: number;
  slow: number;
  firstFailure?: string;
}


describe('calls across NATs (NAT lab)', { timeout: 600_000 }, () => {
  test(`phones at 5 sites call each other ${CALLS} times per pair; a vanished peer gets a final answer`, async (t) => {
    if (!requireTools(t, ['ip', 'nft'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    await withScope(async (scope) => {
      const lab = await NatLab.builder(scope)
        .publicHost('boot')
        .site('fc', 'full-cone', ['fc1'])
        .site('pr', 'port-restricted', ['pr1'])
        .site('sym', 'symmetric', ['sym1'])
        .site('home', 'port-restricted', ['lan1', 'lan2'])
        .build();
      const boot = await startLabPeer(lab.host('boot'));
      const names = ['fc1', 'pr1', 'sym1', 'lan1', 'lan2'];
      const others = await Promise.all(names.map((n) => startLabPeer(lab.host(n), { bootstrap: boot.overlayAddress })));
      const peers: LabPeer[] = [boot, ...others];
      await until('all joined', 120_000, async () => {
        const s = await Promise.all(peers.map((p) => p.status()));
        return s.every((x) => x.state === 'joined') ? s : s.map((x) => String(x.state)).join();
      });
      const sites = ['boot', 'fc1', 'pr1', 'sym1', 'lan1'];
      const phoneProc = (host: LabHost, args: string[]) =>
        host.spawn({ command: process.execPath, args: ['--import', 'tsx', PHONE, ...args], cwd: REPO_ROOT, lifetimeMs: 300_000, name: `phone@${host.name}` });
      // one answering phone per site
      const answering = new Map<string, ReturnType<typeof phoneProc>>();
      for (const s of sites) {
        const h = lab.host(s);
        const p = phoneProc(h, ['answer', h.address, `u-${s}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, '240']);
        answering.set(s, p);
      }
      for (const [s, p] of answering) assert.equal(await p.waitForLine(/^registered /, { timeoutMs: 30_000 }), 'registered 200', `phone at ${s}`);
      // every site calls every other site
      const pairs: Array<[string, string]> = [];
      for (const a of sites) for (const b of sites) if (a !== b) pairs.push([a, b]);
      const t0 = Date.now();
      const results = await Promise.all(
        pairs.map(async ([a, b]) => {
          const h = lab.host(a);
          const p = phoneProc(h, ['call', h.address, `c-${a}-${b}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, `sip:u-${b}@${DOMAIN}`, String(CALLS), '32000']);
          const line = await p.waitForLine(/^\{/, { timeoutMs: 280_000 });
          return { a, b, r: JSON.parse(line) as CallSummary };
        }),
      );
      t.diagnostic(`${pairs.length} pairs × ${CALLS} calls in ${Date.now() - t0} ms`);
      const natOf = (s: string): string => lab.host(s).nat;
      for (const { a, b, r } of results) t.diagnostic(`${a} (${natOf(a)}) → ${b} (${natOf(b)}): MESSAGE ${r.message}, calls ok ${r.ok} failed ${r.failed}, INVITE→180 median ${r.ringMsMedian} ms, →200 ${r.finalMsMedian} ms, ${r.slow} over 5 s ${r.firstFailure ?? ''}`);
      const st = await Promise.all(peers.map((p) => p.status()));
      st.forEach((s, i) => {
        const nat = s.nat as { sipChannels?: { sip?: unknown; recentFailures?: unknown[]; links?: Array<{ phase: string; pair?: string; remote?: string; setupMs?: number }> } } | null;
        t.diagnostic(`${peers[i]!.host.name}: SIP channels ${JSON.stringify(nat?.sipChannels?.sip)} ${JSON.stringify((nat?.sipChannels?.links ?? []).filter((l) => l.phase === 'open').map((l) => `${l.pair}→${l.remote} in ${Math.round(l.setupMs ?? 0)} ms`))} failures ${JSON.stringify(nat?.sipChannels?.recentFailures ?? []).slice(0, 400)}`);
      });
      const turn = (st[0]!.nat as { turn?: { offered?: { droppedBandwidth?: number; relayedToPeer?: number; relayedToClient?: number } } } | null)?.turn?.offered;
      t.diagnostic(`TURN at the public peer: relayed ${turn?.relayedToPeer} to peers, ${turn?.relayedToClient} to clients, ${turn?.droppedBandwidth} dropped over the bandwidth limit`);
      for (const { a, b, r } of results) {
        assert.equal(r.message, 200, `MESSAGE ${a} → ${b}`);
        assert.equal(r.failed, 0, `${a} → ${b}: ${r.firstFailure}`);
        assert.equal(r.ok, CALLS);
      }
      // a vanished peer: kill -9 of sym1's peer; a call to its phone gets a final answer, not silence
      const victim = peers.find((p) => p.host.name === 'sym1')!;
      victim.proc.killNow();
      await victim.proc.exited;
      const h = lab.host('pr1');
      // the caller's peer still holds a channel to the dead peer (ICE consent notices in 30 s): the
      // INVITE's transaction answers 408 at Timer B (32 s), as a SIP phone waits
      const t1 = Date.now();
      const p = phoneProc(h, ['call', h.address, 'c-late', DOMAIN, `${h.address}:${LAB_SIP_PORT}`, `sip:u-sym1@${DOMAIN}`, '1', '40000']);
      const r = JSON.parse(await p.waitForLine(/^\{/, { timeoutMs: 60_000 })) as CallSummary;
      t.diagnostic(`final answer after ${Date.now() - t1} ms`);
      t.diagnostic(`call to the vanished peer's phone: ${JSON.stringify(r.statuses)} ${r.firstFailure ?? ''}`);
      const final = Number(Object.keys(r.statuses)[0]);
      assert.ok(final === 480 || final === 408 || final === 404, `a final answer with a reason, got ${JSON.stringify(r)}`);
    });
  });
});
