/**
 * The NAT lab (harness/nat-lab): one site per NAT type (full-cone, address-restricted,
 * port-restricted, symmetric, udp-blocked) plus a public host, in network namespaces.
 * coturn's turnutils_natdiscovery (RFC 5780) against the lab's coturn must see what each router is
 * meant to be; UDP must not cross the udp-blocked router while TCP does; two hosts of one LAN talk
 * directly; nftables loss cuts a WAN link (a delay on the kernel bridge is refused); nothing
 * routes out of the lab; dispose() leaves no namespace; a failed build and a dead run leave none either.
 * The delay line (delay-switch.py, the lab's public segment when it has a WAN delay): a UDP echo
 * across a 50 ms one-way segment takes ≈100 ms, site delays add on top, TCP and UDP checksums arrive
 * intact (offloads off), 100 % site loss cuts a site off, and the switch goes with the lab.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot, requireTools } from '../../harness/require-tools.js';
import { withScope } from '../../harness/process-scope.js';
import { runCommand, tryCommand } from '../../harness/nat-lab/lab-command.js';
import {
  echoProbe,
  expectedNatBehaviour,
  isStaleLabNamespace,
  listNamespaces,
  lossRuleset,
  NAT_LAB_NAME_PREFIX,
  NAT_TYPES,
  natBehaviourMismatch,
  NatLab,
  normalizeWan,
  parseNatDiscovery,
  planLab,
  probeNat,
  routerRuleset,
  startEchoServer,
  sweepStaleNatLabs,
  WanDelayUnavailableError,
} from '../../harness/nat-lab/index.js';
import type { EchoResult, EchoServer, LabHost, NatBehaviour, NatType } from '../../harness/nat-lab/index.js';
import { newLabPrefix } from '../../harness/nat-lab/lab-names.js';

const TEST_TIMEOUT_MS = 60_000;
const TOOLS = ['ip', 'nft', 'turnserver', 'turnutils_natdiscovery'];
/** Addresses outside the lab: a public resolver and this machine's real default gateway range. */
const OUTSIDE = ['8.8.8.8', '192.0.2.1', '10.255.255.1'];

describe('NAT lab: pure parts', () => {
  test('rulesets: snat / masquerade random, the fullcone map, filters only on the WAN interface', () => {
    const base = { wanInterface: 'wan', wanAddress: '203.0.113.11', lanSubnet: '10.0.1.0/24' };
    const rules = Object.fromEntries(NAT_TYPES.map((nat) => [nat, routerRuleset({ ...base, nat })])) as Record<NatType, string>;
    for (const text of Object.values(rules)) {
      assert.match(text, /^flush ruleset\n/);
      assert.match(text, /type nat hook prerouting priority dstnat/);
      for (const line of text.split('\n').filter((l) => /\b(drop|accept)$/.test(l.trim()) && !l.includes('policy'))) {
        assert.match(line, /[io]ifname "wan"/, `filter rule not bound to the WAN: ${line}`);
      }
    }
    assert.match(rules['full-cone'], /dnat ip to udp dport map @fullcone/);
    assert.match(rules['full-cone'], /update @fullcone \{ ct reply proto-dst : ct original ip saddr \. ct original proto-src \}/);
    assert.doesNotMatch(rules['full-cone'].slice(rules['full-cone'].indexOf('chain forward')), /drop/, 'full cone: no filtering');
    // unsolicited UDP to the router itself is dropped at input (its conntrack entry would clash with a later mapping)
    for (const text of Object.values(rules)) assert.match(text, /chain input \{\n.*\n\s+iifname "wan" meta l4proto udp ct state new drop/);
    assert.match(rules['address-restricted'], /@contacted accept/);
    assert.match(rules['port-restricted'], /iifname "wan" ct state established,related accept\n\s+iifname "wan" drop/);
    assert.doesNotMatch(rules['port-restricted'], /fullcone/);
    assert.match(rules.symmetric, /masquerade random/);
    assert.match(rules['udp-blocked'], /iifname "wan" meta l4proto udp drop/);
    assert.match(rules['udp-blocked'], /oifname "wan" meta l4proto udp drop/);
  });

  test('plans: names, addresses, validation', () => {
    const plan = planLab(
      {
        sites: [
          { name: 'a', nat: 'full-cone', hosts: ['a1', 'a2'] },
          { name: 'b', nat: 'symmetric', hosts: ['b1'], lanSubnet: '192.168.1.0/24' },
        ],
        publicHosts: ['boot', { name: 'multi', addresses: 2 }],
      },
      'p2psip-nl-1-2-3-',
    );
    assert.equal(plan.publicNamespace, 'p2psip-nl-1-2-3-pub');
    assert.deepEqual(plan.publicHosts.map((h) => [h.name, h.addresses]), [
      ['stun', ['203.0.113.2', '203.0.113.3']],
      ['boot', ['203.0.113.100']],
      ['multi', ['203.0.113.101', '203.0.113.102']],
    ]);
    assert.deepEqual(plan.sites.map((s) => [s.wanAddress, s.lanSubnet, s.gateway, s.hosts.map((h) => h.address)]), [
      ['203.0.113.11', '10.0.1.0/24', '10.0.1.1', ['10.0.1.10', '10.0.1.11']],
      ['203.0.113.12', '192.168.1.0/24', '192.168.1.1', ['192.168.1.10']],
    ]);
    assert.throws(() => planLab({ sites: [{ name: 'a', nat: 'full-cone', hosts: ['x'] }], publicHosts: ['x'] }, 'p-'), /used twice/);
    assert.throws(() => planLab({ sites: [{ name: 'Bad', nat: 'full-cone', hosts: ['x'] }] }, 'p-'), /must match/);
    assert.throws(() => planLab({ sites: [{ name: 'a', nat: 'full-cone', hosts: ['x'], wanAddress: '198.51.100.1' }] }, 'p-'), /outside/);
    assert.throws(() => planLab({ sites: [{ name: 'a', nat: 'full-cone', hosts: ['x'], lanSubnet: '10.0.0.0/16' }] }, 'p-'), /\/24/);
    assert.throws(() => planLab({ sites: [{ name: 'a', nat: 'full-cone', hosts: [] }] }, 'p-'), /at least one host/);
  });

  test('WAN conditions: the delay line for delay, nftables for loss on the bridge', () => {
    assert.deepEqual(normalizeWan({}), { delayMs: 0, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(normalizeWan({ delayMs: 50, jitterMs: 5, lossPercent: 1 }), { delayMs: 50, jitterMs: 5, lossPercent: 1 });
    assert.throws(() => normalizeWan({ jitterMs: 5 }), /delayMs/);
    assert.throws(() => normalizeWan({ lossPercent: 101 }), RangeError);
    // which segment a spec gets
    const site = { name: 'a', nat: 'full-cone' as const, hosts: ['a1'] };
    assert.equal(planLab({ sites: [site] }, 'p-').segment, 'bridge');
    assert.equal(planLab({ sites: [{ ...site, wan: { lossPercent: 5 } }] }, 'p-').segment, 'bridge');
    assert.equal(planLab({ sites: [{ ...site, wan: { delayMs: 10 } }] }, 'p-').segment, 'delay-line');
    const seg = planLab({ sites: [site], wan: { delayMs: 50 } }, 'p-');
    assert.deepEqual([seg.segment, seg.wan, seg.seed], ['delay-line', { delayMs: 50 }, 1]);
    assert.equal(planLab({ sites: [site], segment: 'delay-line' }, 'p-').segment, 'delay-line');
    assert.throws(() => planLab({ sites: [site], wan: { delayMs: 50 }, segment: 'bridge' }, 'p-'), /delay-line/);
    const loss = lossRuleset('s0', 1.5);
    assert.match(loss, /^table bridge natlab_wan_s0 \{\}\ndelete table bridge natlab_wan_s0\n/);
    assert.match(loss, /iifname "s0" numgen random mod 10000 < 150 drop/);
    assert.match(loss, /oifname "s0" numgen random mod 10000 < 150 drop/);
    assert.doesNotMatch(lossRuleset('s0', 0), /drop/);
    assert.match(lossRuleset('s0', 100), /iifname "s0" drop/);
  });

  test('turnutils_natdiscovery output is parsed into verdicts', () => {
    const cone = parseNatDiscovery(
      [
        '0: : IPv4. UDP reflexive addr: 203.0.113.11:43445',
        'NAT with Endpoint Independent Mapping!',
        '-= Filtering Behavior Discovery =-',
        '0: : IPv4. UDP reflexive addr: 203.0.113.11:34800',
        'NAT with Endpoint Independent Filtering!',
      ].join('\n'),
    );
    assert.deepEqual([cone.udp, cone.natDetected, cone.mapping, cone.filtering], [true, true, 'endpoint-independent', 'endpoint-independent']);
    assert.deepEqual(cone.reflexiveAddresses, ['203.0.113.11:43445', '203.0.113.11:34800']);
    const blocked = parseNatDiscovery('-= Mapping Behavior Discovery =-\nSTUN receive timeout..\n-= Filtering Behavior Discovery =-\nSTUN receive timeout..\n');
    assert.deepEqual([blocked.udp, blocked.mapping, blocked.filtering], [false, undefined, undefined]);
    assert.equal(natBehaviourMismatch('udp-blocked', blocked), undefined);
    assert.match(natBehaviourMismatch('full-cone', blocked) ?? '', /expected mapping endpoint-independent/);
    const open = parseNatDiscovery('UDP reflexive addr: 203.0.113.2:5000\nNo NAT! (Endpoint Independent Mapping)\nNAT with Address Dependent Filtering!');
    assert.deepEqual([open.natDetected, open.mapping, open.filtering], [false, 'endpoint-independent', 'address-dependent']);
    assert.equal(natBehaviourMismatch('none', open), undefined);
    // natdiscovery binds 0.0.0.0 and calls a public host "Endpoint Independent Mapping"; its own address says no NAT.
    const pub = parseNatDiscovery('UDP reflexive addr: 203.0.113.100:5000\nNAT with Endpoint Independent Mapping!', ['203.0.113.100']);
    assert.equal(pub.natDetected, false);
    assert.equal(parseNatDiscovery('UDP reflexive addr: 203.0.113.11:5000\nNAT with Endpoint Independent Mapping!', ['10.0.1.10']).natDetected, true);
  });

  test('lab names: a live owner is not stale, a dead one is', () => {
    assert.equal(isStaleLabNamespace(`${NAT_LAB_NAME_PREFIX}${process.pid}-0-1-pub`), true, 'same pid, other start time: a reused pid');
    assert.equal(isStaleLabNamespace('some-other-namespace'), false);
    assert.equal(isStaleLabNamespace(`${NAT_LAB_NAME_PREFIX}${deadPid()}-123-1-pub`), true);
  });
});

describe('NAT lab in network namespaces', () => {
  test('each NAT type verified with RFC 5780 discovery; LAN, TCP, WAN loss/delay, isolation and teardown', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireTools(t, TOOLS)) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    const started = Date.now();
    await withScope(async (scope) => {
      const lab = await NatLab.builder(scope)
        .site('cone', 'full-cone', ['cone1'])
        .site('home', 'port-restricted', ['home1', 'home2'])
        .site('addr', 'address-restricted', ['addr1'])
        .site('sym', 'symmetric', ['sym1'])
        .site('noudp', 'udp-blocked', ['noudp1'])
        .publicHost('pub')
        .build();
      const built = Date.now();
      t.diagnostic(`lab of ${lab.namespaces.length} namespaces built in ${built - started} ms`);
      const present = new Set(await listNamespaces());
      for (const ns of lab.namespaces) assert.ok(present.has(ns), `${ns} missing`);

      // Sealed: veths only between lab namespaces, no route out, nothing outside reachable.
      assert.deepEqual(await lab.isolationProblems(), []);
      const gatewayOf = new Map(lab.sites.flatMap((s) => s.hosts.map((h) => [h.namespace, s.gateway] as const)));
      for (const ns of lab.namespaces) {
        for (const addr of OUTSIDE) {
          const r = await tryCommand('ip', ['-n', ns, 'route', 'get', addr]);
          // A LAN host hands everything to its router (checked below to have no route out).
          const gw = gatewayOf.get(ns);
          if (gw === undefined) assert.notEqual(r.code, 0, `${ns} has a route to ${addr}: ${r.stdout}`);
          else assert.match(r.stdout, new RegExp(`^${addr.replaceAll('.', '\\.')} via ${gw.replaceAll('.', '\\.')} dev eth0`), ns);
        }
      }
      for (const site of lab.sites) {
        assert.deepEqual(await mainRoutes(site.router.namespace), [lab.publicSubnet, site.lanSubnet].sort(), `router of ${site.name}`);
        for (const h of site.hosts) assert.deepEqual(await mainRoutes(h.namespace), [`default via ${site.gateway}`, site.lanSubnet].sort(), h.name);
        // A LAN host's default route ends at its router, which has none: nothing outside is reachable.
        const viaRouter = await site.router.tryRun('ip', ['route', 'get', '8.8.8.8']);
        assert.notEqual(viaRouter.code, 0);
      }
      for (const h of lab.hosts.filter((x) => x.kind === 'public')) assert.deepEqual(await mainRoutes(h.namespace), [lab.publicSubnet], h.name);

      // RFC 5780 behaviour discovery from each site and from the public host, in parallel.
      const probes = await Promise.all([...lab.sites.map((s) => s.hosts[0]?.name ?? ''), 'pub'].map(async (name) => [name, await probeNat(lab, name)] as const));
      const verdict = new Map<string, NatBehaviour>(probes);
      for (const [name, b] of probes) t.diagnostic(`${name} (${lab.host(name).nat}): ${b.udp ? `mapping ${String(b.mapping)}, filtering ${String(b.filtering)}` : 'no UDP answer'}; reflexive ${b.reflexiveAddresses.join(' ')}`);
      const cone = must(verdict.get('cone1'));
      assert.equal(cone.mapping, 'endpoint-independent', cone.output);
      assert.equal(cone.filtering, 'endpoint-independent', cone.output);
      const home = must(verdict.get('home1'));
      assert.equal(home.mapping, 'endpoint-independent', home.output);
      assert.equal(home.filtering, 'address-and-port-dependent', home.output);
      const addr = must(verdict.get('addr1'));
      assert.equal(addr.mapping, 'endpoint-independent', addr.output);
      assert.equal(addr.filtering, 'address-dependent', addr.output);
      const sym = must(verdict.get('sym1'));
      assert.ok(sym.mapping === 'address-and-port-dependent' || sym.mapping === 'address-dependent', sym.output);
      assert.ok(new Set(sym.reflexiveAddresses).size > 1, `symmetric NAT showed one mapping only: ${sym.output}`);
      const noudp = must(verdict.get('noudp1'));
      assert.equal(noudp.udp, false, noudp.output);
      assert.deepEqual(noudp.reflexiveAddresses, []);
      const pub = must(verdict.get('pub'));
      assert.equal(pub.natDetected, false, pub.output);
      for (const site of lab.sites) {
        const b = must(verdict.get(site.hosts[0]?.name ?? ''));
        assert.equal(natBehaviourMismatch(site.nat, b), undefined);
        for (const r of b.reflexiveAddresses) assert.equal(r.split(':')[0], site.wanAddress, `${site.name}: mapped to the WAN address`);
        assert.equal(expectedNatBehaviour(site.nat).udp, b.udp);
      }
      const probed = Date.now();
      t.diagnostic(`natdiscovery on ${probes.length} hosts in ${probed - built} ms`);

      // udp-blocked: no UDP through it, TCP NATed to its WAN address.
      const pubEcho = await startEchoServer(lab.host('pub'), { udpPort: 7000, tcpPort: 7001 });
      const noUdp = await echoProbe(lab.host('noudp1'), pubEcho, 'udp', { timeoutMs: 1500 });
      assert.equal(noUdp.ok, false, JSON.stringify(noUdp));
      const tcp = await echoProbe(lab.host('noudp1'), pubEcho, 'tcp');
      assert.equal(tcp.ok, true, JSON.stringify(tcp));
      assert.equal(tcp.seenAs?.address, lab.site('noudp').wanAddress);

      // Two hosts of one LAN reach each other directly (private source address, no NAT).
      const lanEcho = await startEchoServer(lab.host('home1'), { udpPort: 7100, tcpPort: 7101 });
      for (const proto of ['udp', 'tcp'] as const) {
        const r = await echoProbe(lab.host('home2'), lanEcho, proto);
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.seenAs?.address, lab.host('home2').address, `${proto} across the LAN`);
      }
      // ...and a public host cannot reach into a LAN (private addresses do not route on the public side).
      const intoLan = await echoProbe(lab.host('pub'), lanEcho, 'udp', { timeoutMs: 500 });
      assert.equal(intoLan.ok, false);

      // WAN loss (nftables on the public bridge port): 100 % cuts the site off, {} restores it.
      await lab.site('cone').setWan({ lossPercent: 100 });
      const lost = await Promise.all([echoProbe(lab.host('cone1'), pubEcho, 'udp', { timeoutMs: 600 }), echoProbe(lab.host('cone1'), pubEcho, 'tcp', { timeoutMs: 600 })]);
      assert.deepEqual(lost.map((r) => r.ok), [false, false], JSON.stringify(lost));
      await lab.site('cone').setWan({});
      const back = await echoProbe(lab.host('cone1'), pubEcho, 'udp');
      assert.equal(back.ok, true, JSON.stringify(back));
      assert.equal(back.seenAs?.address, lab.site('cone').wanAddress);

      // A delay on the kernel bridge is refused with a clear error (the delay line test below delays).
      assert.equal(lab.segment, 'bridge');
      await assert.rejects(lab.site('cone').setWan({ delayMs: 25 }), WanDelayUnavailableError);
      await assert.rejects(lab.setWan({ delayMs: 25 }), WanDelayUnavailableError);

      // Resetting a router keeps its ruleset in force.
      const reset = await lab.site('home').resetNat();
      t.diagnostic(`resetNat: conntrack flushed = ${String(reset.conntrackFlushed)}`);
      assert.match(await lab.site('home').listRuleset(), /table ip natlab/);

      const names = [...lab.namespaces];
      const procs = [pubEcho.process, lanEcho.process];
      await lab.dispose();
      const left = (await listNamespaces()).filter((n) => n.startsWith(lab.prefix) || names.includes(n));
      assert.deepEqual(left, [], 'namespaces left after dispose()');
      for (const p of procs) assert.notEqual(p.exitInfo, undefined, `${p.name} still running after dispose()`);
      await lab.dispose(); // idempotent
      t.diagnostic(`whole lab test ${Date.now() - started} ms`);
    });
  });

  test('the delay line: 50 ms one-way across the public segment, site delay and loss on top, TCP and UDP intact', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireTools(t, ['ip', 'nft', 'python3'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    await withScope(async (scope) => {
      const lab = await NatLab.builder(scope)
        .options({ stunHost: false })
        .wan({ delayMs: 50 })
        .site('home', 'port-restricted', ['home1', 'home2'])
        .site('cone', 'full-cone', ['cone1'])
        .publicHost('pub')
        .publicHost('pub2')
        .build();
      assert.equal(lab.segment, 'delay-line');
      assert.deepEqual(await lab.isolationProblems(), []);
      const pubEcho = await startEchoServer(lab.host('pub'), { udpPort: 7000, tcpPort: 7001 });
      const lanEcho = await startEchoServer(lab.host('home1'), { udpPort: 7100 });
      // public ↔ public and site ↔ public: one crossing of the segment each way
      const [pubRtt, siteRtt, lanRtt] = await Promise.all([
        rtts(lab.host('pub2'), pubEcho, 7),
        rtts(lab.host('cone1'), pubEcho, 7),
        rtts(lab.host('home2'), lanEcho, 3),
      ]);
      t.diagnostic(`UDP echo RTT (ms), 50 ms one-way segment: public↔public ${fmtRtts(pubRtt)}; full-cone site↔public ${fmtRtts(siteRtt)}; within a LAN ${fmtRtts(lanRtt)}`);
      for (const [what, xs] of [['public↔public', pubRtt], ['site↔public', siteRtt]] as const) {
        assert.ok(median(xs) >= 100 && median(xs) < 150, `${what}: median RTT ${median(xs)} ms, expected 100–150 ms`);
      }
      assert.ok(median(lanRtt) < 50, `a LAN does not cross the segment: ${median(lanRtt)} ms`);
      // TCP (NATed by the router: its checksums recomputed by the kernel on the way out) and large UDP
      const tcp = await echoProbe(lab.host('home2'), pubEcho, 'tcp', { timeoutMs: 3000 });
      assert.equal(tcp.ok, true, JSON.stringify(tcp));
      assert.equal(tcp.seenAs?.address, lab.site('home').wanAddress);
      t.diagnostic(`TCP connect + echo from behind the port-restricted router: ${tcp.rttMs?.toFixed(1)} ms`);
      // a site's own delay adds on top (25 ms each way), and comes off again; then 100 % site loss cuts it off
      await lab.site('cone').setWan({ delayMs: 25 });
      const slower = await rtts(lab.host('cone1'), pubEcho, 3);
      assert.ok(median(slower) >= 150 && median(slower) < 200, `segment + site delay: ${fmtRtts(slower)}`);
      await lab.site('cone').setWan({ lossPercent: 100 });
      const cut = await echoProbe(lab.host('cone1'), pubEcho, 'udp', { timeoutMs: 800 });
      assert.equal(cut.ok, false, JSON.stringify(cut));
      await lab.site('cone').setWan({});
      // the segment's own delay can change at run time
      await lab.setWan({ delayMs: 10 });
      const faster = await rtts(lab.host('pub2'), pubEcho, 3);
      assert.ok(median(faster) >= 20 && median(faster) < 60, `segment at 10 ms: ${fmtRtts(faster)}`);
      t.diagnostic(`segment 50 ms + site 25 ms: ${fmtRtts(slower)}; segment 10 ms: ${fmtRtts(faster)}`);
      const counters = await lab.delayLineCounters();
      t.diagnostic(`delay line counters: ${JSON.stringify(counters)}`);
      assert.ok(counters !== undefined && counters.forwarded > 0);
      assert.equal(counters.badChecksums, 0, 'frames with a wrong IP/TCP/UDP checksum crossed the switch (an offload left on)');
      assert.equal(counters.sendErrors, 0);
      assert.equal(counters.droppedQueueFull, 0);
      assert.ok(counters.droppedLoss > 0, 'the 100 % loss dropped frames');
      const sw = lab.delayLine?.process;
      const names = [...lab.namespaces];
      await lab.dispose();
      assert.notEqual(sw?.exitInfo, undefined, 'delay switch still running after dispose()');
      assert.notEqual((await lab.delayLineCounters())?.received, undefined, 'the switch printed its counters at exit');
      assert.deepEqual((await listNamespaces()).filter((n) => names.includes(n)), []);
    });
  });

  test('a build that fails half-way deletes what it had created', { timeout: 20_000 }, async (t) => {
    if (!requireTools(t, ['ip', 'nft'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    const ours = async (): Promise<string[]> => (await listNamespaces()).filter((n) => n.startsWith(`${NAT_LAB_NAME_PREFIX}${process.pid}-`));
    const before = await ours();
    await withScope(async (scope) => {
      // The next lab's namespace for host a2 exists already: creating it fails after the public
      // namespace, the router and host a1 exist (the build deletes what it pushed, this one included).
      const next = newLabPrefix().replace(/-(\d+)-$/, (_m, n: string) => `-${Number(n) + 1}-`);
      await runCommand('ip', ['netns', 'add', `${next}h-a2`]);
      const spec = { stunHost: false, publicHosts: ['p'], sites: [{ name: 'a', nat: 'port-restricted' as const, hosts: ['a1', 'a2'] }], wan: { delayMs: 10 } };
      await assert.rejects(NatLab.build(scope, spec), /netns add|File exists|exists/i);
      await tryCommand('ip', ['netns', 'del', `${next}h-a2`]);
    });
    assert.deepEqual(await ours(), before);
  });

  test('the sweeper deletes namespaces of a lab whose owner died, not those of live labs', { timeout: 20_000 }, async (t) => {
    if (!requireTools(t, ['ip'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    const stale = `${NAT_LAB_NAME_PREFIX}${deadPid()}-1-1-pub`;
    await runCommand('ip', ['netns', 'add', stale]);
    try {
      await withScope(async (scope) => {
        const lab = await NatLab.build(scope, { stunHost: false, publicHosts: ['only'] });
        // build() swept the stale one; a second sweep must leave this live lab alone.
        assert.equal((await listNamespaces()).includes(stale), false, 'stale namespace survived build()');
        assert.deepEqual(await sweepStaleNatLabs(), []);
        for (const ns of lab.namespaces) assert.ok((await listNamespaces()).includes(ns));
        await assert.rejects(lab.stunServer(), /stunHost: false/);
      });
    } finally {
      await tryCommand('ip', ['netns', 'del', stale]);
    }
  });
});

/** `n` UDP echo RTTs from `from` to `server` (ms; one warm-up probe first, for ARP across the segment). */
async function rtts(from: LabHost, server: EchoServer, n: number): Promise<number[]> {
  const one = async (): Promise<EchoResult> => echoProbe(from, server, 'udp', { timeoutMs: 3000 });
  await one();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await one();
    assert.equal(r.ok, true, `${from.name} → ${server.host.name}: ${JSON.stringify(r)}`);
    out.push(r.rttMs ?? Number.NaN);
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function fmtRtts(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${median(s).toFixed(1)} (${s[0]?.toFixed(1)}–${s.at(-1)?.toFixed(1)}, n=${s.length})`;
}

/** Main-table IPv4 routes of a namespace, as `dst` or `default via gw`, sorted. */
async function mainRoutes(ns: string): Promise<string[]> {
  const routes = JSON.parse(await runCommand('ip', ['-n', ns, '-j', '-4', 'route', 'show'])) as Array<{ dst?: string; gateway?: string }>;
  return routes.map((r) => (r.dst === 'default' ? `default via ${String(r.gateway)}` : String(r.dst))).sort();
}

/** A pid no process has now. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

function must<T>(v: T | undefined): T {
  assert.ok(v !== undefined);
  return v;
}
