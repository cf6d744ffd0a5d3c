/**
 * Issue 12: phones behind a router that blocks UDP call and are called. In the NAT lab, a public
 * peer (it offers TURN, over UDP and — on its TLS port — over TCP), peers behind full-cone,
 * port-restricted and symmetric routers, and a peer behind the UDP-blocked router: it finds no STUN
 * answer (role no-udp), joins as a client over TLS, and allocates a UDP relay at the public peer over
 * TCP (RFC 8656 §3.1), which its SIP channels offer as their relayed candidate. One phone
 * (harness/nat-lab/lab-phone.ts, UDP) at each site; the blocked site's phone calls every other site's
 * phone CALLS times (after one MESSAGE) and every other site's phone calls it as often, all at once.
 * The candidate pairs the SIP channels chose are printed. Then: without a TURN peer (the public peer
 * listens on a wildcard, so it offers none) calls to and from the blocked site get a final answer with
 * a reason, promptly.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isRoot, requireTools } from '../../harness/require-tools.js';
import { withScope } from '../../harness/process-scope.js';
import { NatLab, startLabPeer, LAB_OVERLAY_PORT, LAB_SIP_PORT } from '../../harness/nat-lab/index.js';
import type { LabHost, LabPeer } from '../../harness/nat-lab/index.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { until } from './helpers/lab-until.js';

const PHONE = join(REPO_ROOT, 'harness', 'nat-lab', 'lab-phone.ts');
const DOMAIN = 'p2psip.local';
const CALLS = 20;

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

interface NatStatus {
  role?: { role: string; reason: string };
  turn?: { offered?: { tcp?: unknown; clients?: Array<{ transport: string }> } | null; sipRelay?: { transport?: string; relayed?: string | null; server?: string; state?: string } | null; sipRelayKeeper?: { problem: string | null } };
  sipChannels?: { sip?: unknown; links?: Array<{ phase: string; pair?: string; local?: string; remote?: string; base?: string; setupMs?: number }> };
}

const natOf = (s: Record<string, unknown>): NatStatus => (s.nat ?? {}) as NatStatus;

async function labPhones(scope: Parameters<Parameters<typeof withScope>[0]>[0], lab: NatLab, sites: readonly string[]) {
  const phoneProc = (host: LabHost, args: string[]) =>
    host.spawn({ command: process.execPath, args: ['--import', 'tsx', PHONE, ...args], cwd: REPO_ROOT, lifetimeMs: 120_000, name: `phone@${host.name}` });
  void scope;
  const answering = new Map<string, ReturnType<typeof phoneProc>>();
  for (const s of sites) {
    const h = lab.host(s);
    answering.set(s, phoneProc(h, ['answer', h.address, `u-${s}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, '90']));
  }
  for (const [s, p] of answering) assert.equal(await p.waitForLine(/^registered /, { timeoutMs: 30_000 }), 'registered 200', `phone at ${s}`);
  const call = async (a: string, b: string, calls: number, timeoutMs: number): Promise<CallSummary> => {
    const h = lab.host(a);
    const p = phoneProc(h, ['call', h.address, `c-${a}-${b}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, `sip:u-${b}@${DOMAIN}`, String(calls), String(timeoutMs)]);
    return JSON.parse(await p.waitForLine(/^\{/, { timeoutMs: 100_000 })) as CallSummary;
  };
  return { call };
}

describe('calls to and from a UDP-blocked site (NAT lab, TURN over TCP)', { timeout: 240_000 }, () => {
  test(`the blocked site's phone calls and is called by phones at 4 sites, ${CALLS} calls each way`, async (t) => {
    if (!requireTools(t, ['ip', 'nft'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    await withScope(async (scope) => {
      const t0 = Date.now();
      const lab = await NatLab.builder(scope)
        .publicHost('boot')
        .site('blk', 'udp-blocked', ['blk1'])
        .site('fc', 'full-cone', ['fc1'])
        .site('pr', 'port-restricted', ['pr1'])
        .site('sym', 'symmetric', ['sym1'])
        .build();
      const boot = await startLabPeer(lab.host('boot'), { lifetimeMs: 180_000 });
      const names = ['blk1', 'fc1', 'pr1', 'sym1'];
      const others = await Promise.all(names.map((n) => startLabPeer(lab.host(n), { bootstrap: boot.overlayAddress, lifetimeMs: 180_000 })));
      const peers: LabPeer[] = [boot, ...others];
      const blk = others[0]!;
      await until('all joined, the blocked peer with a relay over TCP', 60_000, async () => {
        const s = await Promise.all(peers.map((p) => p.status()));
        const relay = natOf(s[1]!).turn?.sipRelay;
        return s.every((x) => x.state === 'joined') && relay?.state === 'allocated' ? s : `${s.map((x) => String(x.state)).join()} relay ${JSON.stringify(relay)} ${JSON.stringify(natOf(s[1]!).turn?.sipRelayKeeper)}`;
      });
      const blkNat = natOf(await blk.status());
      t.diagnostic(`blk1: role ${JSON.stringify(blkNat.role)}; SIP relay ${JSON.stringify(blkNat.turn?.sipRelay)}`);
      assert.equal(blkNat.role?.role, 'no-udp');
      assert.equal(blkNat.turn?.sipRelay?.transport, 'tcp');
      assert.equal(blkNat.turn?.sipRelay?.server, `${lab.host('boot').address}:${LAB_OVERLAY_PORT}`);
      t.diagnostic(`lab and peers up in ${Date.now() - t0} ms`);

      const sites = ['blk1', 'boot', 'fc1', 'pr1', 'sym1'];
      const phones = await labPhones(scope, lab, sites);
      const pairs: Array<[string, string]> = [];
      for (const o of sites.slice(1)) pairs.push(['blk1', o], [o, 'blk1']);
      const t1 = Date.now();
      const results = await Promise.all(pairs.map(async ([a, b]) => ({ a, b, r: await phones.call(a, b, CALLS, 32_000) })));
      t.diagnostic(`${pairs.length} directions × ${CALLS} calls in ${Date.now() - t1} ms`);
      const nat = (s: string): string => lab.host(s).nat;
      for (const { a, b, r } of results) t.diagnostic(`${a} (${nat(a)}) → ${b} (${nat(b)}): MESSAGE ${r.message}, ok ${r.ok} failed ${r.failed}, INVITE→180 median ${r.ringMsMedian} ms, →200 ${r.finalMsMedian} ms, ${r.slow} over 5 s ${r.firstFailure ?? ''}`);
      const st = await Promise.all(peers.map((p) => p.status()));
      st.forEach((s, i) => {
        const links = (natOf(s).sipChannels?.links ?? []).filter((l) => l.phase === 'open');
        t.diagnostic(`${peers[i]!.host.name} SIP channels: ${JSON.stringify(links.map((l) => `${l.pair} ${l.local}→${l.remote} via ${l.base} in ${Math.round(l.setupMs ?? 0)} ms`))}`);
      });
      const offered = natOf(st[0]!).turn?.offered;
      t.diagnostic(`TURN at boot: tcp ${JSON.stringify(offered?.tcp)}; allocations ${JSON.stringify(offered?.clients)}`);
      for (const { a, b, r } of results) {
        assert.equal(r.message, 200, `MESSAGE ${a} → ${b}`);
        assert.equal(r.failed, 0, `${a} → ${b}: ${r.firstFailure}`);
        assert.equal(r.ok, CALLS, `${a} → ${b}`);
      }
      // the blocked peer's channels run through its relay (base relay:n) and nothing else reaches it
      const blkLinks = (natOf(st[1]!).sipChannels?.links ?? []).filter((l) => l.phase === 'open');
      assert.ok(blkLinks.length >= 1, 'the blocked peer has SIP channels');
      for (const l of blkLinks) assert.match(l.base ?? '', /^relay:/, `channel ${JSON.stringify(l)} goes through the TCP relay`);
      assert.ok((offered?.clients ?? []).some((c) => c.transport === 'tcp'), 'boot holds a TCP allocation');
    });
  });

  test('without a TURN peer, calls to and from the blocked site get a final answer with a reason', async (t) => {
    if (!requireTools(t, ['ip', 'nft'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    await withScope(async (scope) => {
      const lab = await NatLab.builder(scope).publicHost('boot').site('blk', 'udp-blocked', ['blk1']).site('fc', 'full-cone', ['fc1']).build();
      // listening on the wildcard the public peer does not know its public address: it offers no TURN
      const boot = await startLabPeer(lab.host('boot'), { lifetimeMs: 120_000, extraArgs: ['--listen', `0.0.0.0:${LAB_OVERLAY_PORT}`] });
      const bootAddr = `${lab.host('boot').address}:${LAB_OVERLAY_PORT}`;
      const others = await Promise.all(['blk1', 'fc1'].map((n) => startLabPeer(lab.host(n), { bootstrap: bootAddr, lifetimeMs: 120_000 })));
      const peers: LabPeer[] = [boot, ...others];
      const blkStatus = await until('all joined', 60_000, async () => {
        const s = await Promise.all(peers.map((p) => p.status()));
        return s.every((x) => x.state === 'joined') ? s[1]! : s.map((x) => String(x.state)).join();
      });
      const blkNat = natOf(blkStatus);
      t.diagnostic(`blk1: role ${JSON.stringify(blkNat.role)}; relay ${JSON.stringify(blkNat.turn?.sipRelay)}; keeper ${JSON.stringify(blkNat.turn?.sipRelayKeeper)}`);
      assert.equal(blkNat.turn?.sipRelay, null);
      assert.ok((blkNat.turn?.sipRelayKeeper?.problem ?? '').length > 0, 'the status says why there is no relay');
      const phones = await labPhones(scope, lab, ['blk1', 'fc1']);
      for (const [a, b] of [
        ['blk1', 'fc1'],
        ['fc1', 'blk1'],
      ] as const) {
        const t1 = Date.now();
        const r = await phones.call(a, b, 1, 32_000);
        t.diagnostic(`${a} → ${b}: ${JSON.stringify(r.statuses)} after ${Date.now() - t1} ms: ${r.firstFailure ?? ''}`);
        assert.equal(r.ok, 0);
        assert.ok(r.statuses['480'] === 1, `480, got ${JSON.stringify(r)}`);
      }
    });
  });
});
