/**
 * Issue 12: an operator's coturn as the TURN server, and an operator's STUN server, in the NAT lab.
 * coturn's `turnserver` (long-term credentials) runs on the public host `turn`, bound to its lab
 * address only; the lab's RFC 5780 coturn on the public host `stun` is the configured STUN server.
 * A public p2psip peer `boot` (it offers TURN itself) is the bootstrap peer; peers behind a symmetric
 * and a port-restricted router start with `--turn-server <coturn> --turn-credentials … --stun-server
 * <stun>`, a third (behind another port-restricted router) with a wrong coturn password. Shown through
 * /api/status and calls:
 * - the configured STUN server answered (its mapped address is in `nat.role.stunServers` and a
 *   server-reflexive candidate names it), and it counted toward the role (`nat`);
 * - the symmetric and port-restricted peers' relayed candidates (overlay port and SIP channels' port) are
 *   coturn's relay addresses; boot's TURN allocated nothing for them (the operator's server comes first);
 * - their SIP channel and their overlay link run through coturn (a relay pair);
 * - Fetches from both succeed, and CALLS calls each way between their phones, none failing;
 * - the peer with the wrong password says why coturn gave it nothing and took its relays from boot (the
 *   overlay fallback);
 * - a peer behind a UDP-blocked router (a client over TLS) holds its two relays at coturn, over TCP.
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
const CALLS = 20;
const COTURN_PORT = 3478;
const COTURN_USER = 'operator';
const COTURN_PASSWORD = 'coturn-secret-7';

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

interface Relay {
  server?: string;
  relayed?: string | null;
  state?: string;
  transport?: string;
}
interface Link {
  id: string;
  phase: string;
  pair?: string;
  local?: string;
  remote?: string;
  base?: string;
  setupMs?: number;
}
interface NatStatus {
  role?: { role: string; reason: string; stunServers?: Array<{ server: string; mapped: string | null }> };
  candidates?: Array<{ type: string; address: string; base: string }>;
  turn?: { offered?: { allocations?: number; allocationsCreated?: number; bandwidth?: unknown } | null; relay?: Relay | null; sipRelay?: Relay | null; operatorServer?: { server: string; problem: string | null } };
  iceLinks?: { links?: Link[] } | null;
  sipPort?: { candidates?: Array<{ type: string; address: string; base: string }> } | null;
  sipChannels?: { channels?: Array<{ id: string; node: string; open: boolean }>; links?: Link[] } | null;
}

const natOf = (s: Record<string, unknown>): NatStatus => (s.nat ?? {}) as NatStatus;
const hostOf = (a: string | null | undefined): string => (a ?? '').replace(/:\d+$/, '');

describe("an operator's coturn (TURN) and STUN server in the NAT lab", { timeout: 180_000 }, () => {
  test(`symmetric ↔ port-restricted through coturn's relay: status, Fetches, ${CALLS} calls each way`, async (t) => {
    if (!requireTools(t, ['ip', 'nft', 'turnserver', 'ss'])) return;
    if (!isRoot()) {
      t.skip('network namespaces need root');
      return;
    }
    await withScope(async (scope) => {
      const t0 = Date.now();
      const lab = await NatLab.builder(scope)
        .publicHost('boot')
        .publicHost('turn')
        .site('sym', 'symmetric', ['sym1'])
        .site('pr', 'port-restricted', ['pr1'])
        .site('fb', 'port-restricted', ['fb1'])
        .site('blk', 'udp-blocked', ['blk1'])
        .build();
      const turnHost = lab.host('turn');
      const coturn = await startCoturn(turnHost, scope.tempDir('p2psip-coturn-'));
      const stun = await lab.stunServer();
      const coturnAddr = `${turnHost.address}:${COTURN_PORT}`;
      const stunAddr = `${stun.primary}:${stun.port}`;
      const boot = await startLabPeer(lab.host('boot'), { lifetimeMs: 150_000 });
      const operatorArgs = (password: string): string[] => ['--turn-server', coturnAddr, '--turn-credentials', `${COTURN_USER}:${password}`, '--stun-server', stunAddr];
      const [sym1, pr1, fb1, blk1] = await Promise.all([
        startLabPeer(lab.host('sym1'), { bootstrap: boot.overlayAddress, lifetimeMs: 150_000, extraArgs: operatorArgs(COTURN_PASSWORD) }),
        startLabPeer(lab.host('pr1'), { bootstrap: boot.overlayAddress, lifetimeMs: 150_000, extraArgs: operatorArgs(COTURN_PASSWORD) }),
        startLabPeer(lab.host('fb1'), { bootstrap: boot.overlayAddress, lifetimeMs: 150_000, extraArgs: operatorArgs('wrong-password') }),
        startLabPeer(lab.host('blk1'), { bootstrap: boot.overlayAddress, lifetimeMs: 150_000, extraArgs: operatorArgs(COTURN_PASSWORD) }),
      ]);
      const peers: LabPeer[] = [boot, sym1!, pr1!, fb1!, blk1!];
      const st = await until('all joined, the UDP-blocked peer with its relays', 60_000, async () => {
        const s = await Promise.all(peers.map((p) => p.status()));
        const blk = natOf(s[4]!).turn;
        return s.every((x) => x.state === 'joined') && blk?.relay?.state === 'allocated' && blk.sipRelay?.state === 'allocated' ? s : `${s.map((x) => String(x.state)).join()} blk1 ${JSON.stringify(blk)}`;
      });
      t.diagnostic(`lab, coturn and ${peers.length} peers up in ${Date.now() - t0} ms`);

      // 1. the configured STUN server was asked and answered; the role counts it
      for (const [name, s] of [['sym1', st[1]!], ['pr1', st[2]!]] as const) {
        const nat = natOf(s);
        t.diagnostic(`${name}: role ${JSON.stringify(nat.role)}; relay ${JSON.stringify(nat.turn?.relay)}; SIP relay ${JSON.stringify(nat.turn?.sipRelay)}; operator ${JSON.stringify(nat.turn?.operatorServer)}`);
        assert.equal(nat.role?.role, 'nat', name);
        assert.match(nat.role?.reason ?? '', /1 STUN server\(s\)/, `${name}: the STUN server's answer counted`);
        assert.equal(nat.role?.stunServers?.length, 1);
        assert.equal(nat.role?.stunServers?.[0]?.server, stunAddr);
        assert.equal(hostOf(nat.role?.stunServers?.[0]?.mapped), lab.host(name).publicAddress, `${name}: the STUN server saw the router's address`);
        assert.ok((nat.candidates ?? []).some((c) => c.type === 'srflx' && c.address === nat.role?.stunServers?.[0]?.mapped), `${name}: a server-reflexive candidate from the STUN server`);
        // 2. relays at coturn, on both ports, and nowhere else
        for (const r of [nat.turn?.relay, nat.turn?.sipRelay]) {
          assert.equal(r?.server, coturnAddr, `${name}: relay at coturn`);
          assert.equal(r?.state, 'allocated');
          assert.equal(hostOf(r?.relayed), turnHost.address, `${name}: coturn's relay address`);
        }
        assert.equal(nat.turn?.operatorServer?.problem, null);
        assert.ok((nat.candidates ?? []).some((c) => c.type === 'relay' && hostOf(c.address) === turnHost.address), `${name}: relayed candidate on the overlay port`);
        assert.ok((nat.sipPort?.candidates ?? []).some((c) => c.type === 'relay' && hostOf(c.address) === turnHost.address), `${name}: relayed candidate on the SIP port`);
      }
      assert.match(natOf(st[1]!).role?.reason ?? '', /mapping differs per destination/, 'symmetric: the bootstrap peer and the STUN server saw different ports');
      // the wrong password: coturn refused, the relays came from boot (the overlay fallback)
      const fb = natOf(st[3]!);
      t.diagnostic(`fb1: operator ${JSON.stringify(fb.turn?.operatorServer)}; relay ${JSON.stringify(fb.turn?.relay)}`);
      assert.match(fb.turn?.operatorServer?.problem ?? '', new RegExp(`Allocate at ${coturnAddr.replaceAll('.', '\\.')} over udp: .*401`));
      assert.equal(fb.turn?.relay?.server, boot.overlayAddress, 'fb1: relay from the bootstrap peer');
      assert.equal(fb.turn?.sipRelay?.server, boot.overlayAddress);

      // the UDP-blocked peer (a client over TLS) holds its relays at coturn too, over TCP
      const blk = natOf(st[4]!);
      t.diagnostic(`blk1: role ${JSON.stringify(blk.role)}; relay ${JSON.stringify(blk.turn?.relay)}; SIP relay ${JSON.stringify(blk.turn?.sipRelay)}`);
      assert.equal(blk.role?.role, 'no-udp');
      for (const r of [blk.turn?.relay, blk.turn?.sipRelay]) {
        assert.equal(r?.server, coturnAddr, 'blk1: relay at coturn');
        assert.equal(r?.transport, 'tcp');
        assert.equal(hostOf(r?.relayed), turnHost.address);
      }

      // 3. Fetches across the overlay
      for (const p of [sym1!, pr1!]) {
        const f = await p.fetchRandom(20, `coturn-${p.host.name}`);
        t.diagnostic(`${p.host.name}: ${f.ok} Fetches ok, ${f.failed} failed, median ${f.medianMs} ms ${f.errors.slice(0, 2).join('; ')}`);
        assert.equal(f.failed, 0);
        assert.equal(f.ok, 20);
      }

      // 4. calls both ways between the symmetric and the port-restricted site
      const phoneProc = (host: LabHost, args: string[]) =>
        host.spawn({ command: process.execPath, args: ['--import', 'tsx', PHONE, ...args], cwd: REPO_ROOT, lifetimeMs: 90_000, name: `phone@${host.name}` });
      const answering = ['sym1', 'pr1'].map((s) => {
        const h = lab.host(s);
        return { s, p: phoneProc(h, ['answer', h.address, `u-${s}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, '60']) };
      });
      for (const { s, p } of answering) assert.equal(await p.waitForLine(/^registered /, { timeoutMs: 30_000 }), 'registered 200', `phone at ${s}`);
      const t1 = Date.now();
      const results = await Promise.all(
        [
          ['sym1', 'pr1'],
          ['pr1', 'sym1'],
        ].map(async ([a, b]) => {
          const h = lab.host(a!);
          const p = phoneProc(h, ['call', h.address, `c-${a}-${b}`, DOMAIN, `${h.address}:${LAB_SIP_PORT}`, `sip:u-${b}@${DOMAIN}`, String(CALLS), '32000']);
          return { a: a!, b: b!, r: JSON.parse(await p.waitForLine(/^\{/, { timeoutMs: 80_000 })) as CallSummary };
        }),
      );
      t.diagnostic(`2 directions × ${CALLS} calls in ${Date.now() - t1} ms`);
      for (const { a, b, r } of results) t.diagnostic(`${a} → ${b}: MESSAGE ${r.message}, ok ${r.ok} failed ${r.failed}, INVITE→180 median ${r.ringMsMedian} ms, →200 ${r.finalMsMedian} ms ${r.firstFailure ?? ''}`);
      for (const { a, b, r } of results) {
        assert.equal(r.message, 200, `MESSAGE ${a} → ${b}`);
        assert.equal(r.failed, 0, `${a} → ${b}: ${r.firstFailure}`);
        assert.equal(r.ok, CALLS, `${a} → ${b}`);
      }

      // 5. the symmetric ↔ port-restricted SIP channel and overlay link run through coturn's relay: ours
      // (local = our relayed address, base relay:n) or theirs (remote = their relayed address)
      const after = await Promise.all(peers.map((p) => p.status()));
      const show = (ls: Link[]): string => JSON.stringify(ls.map((l) => `${l.pair} ${l.local}→${l.remote} via ${l.base} in ${Math.round(l.setupMs ?? 0)} ms`));
      for (const [me, other] of [
        [1, 2],
        [2, 1],
      ] as const) {
        const name = peers[me]!.host.name;
        const mine = natOf(after[me]!);
        const theirs = natOf(after[other]!);
        const otherWan = peers[other]!.host.publicAddress;
        const throughCoturn = (l: Link, ours: Relay | null | undefined, their: Relay | null | undefined): boolean =>
          (l.local === ours?.relayed && (l.base ?? '').startsWith('relay:')) || l.remote === their?.relayed;
        // SIP channels: the ones AppAttach opened to the other peer (by Node-ID)
        const channelIds = new Set((mine.sipChannels?.channels ?? []).filter((c) => c.open && c.node === String(after[other]!.nodeId)).map((c) => c.id));
        const sipLinks = (mine.sipChannels?.links ?? []).filter((l) => l.phase === 'open' && channelIds.has(l.id));
        // overlay links: to the other peer's router address or to its relayed address
        const overlayLinks = (mine.iceLinks?.links ?? []).filter((l) => l.phase === 'open' && (hostOf(l.remote) === otherWan || l.remote === theirs.turn?.relay?.relayed));
        t.diagnostic(`${name}: SIP channel(s) to ${peers[other]!.host.name} ${show(sipLinks)}; overlay link(s) ${show(overlayLinks)}`);
        assert.ok(sipLinks.length >= 1, `${name}: a SIP channel to the other peer (${JSON.stringify(mine.sipChannels?.channels)})`);
        for (const l of sipLinks) {
          assert.match(l.pair ?? '', /relay/, `${name}: SIP channel ${JSON.stringify(l)} is a relay pair`);
          assert.ok(throughCoturn(l, mine.turn?.sipRelay, theirs.turn?.sipRelay), `${name}: SIP channel ${JSON.stringify(l)} through coturn`);
        }
        assert.ok(overlayLinks.length >= 1, `${name}: an overlay link to the other peer (${show(mine.iceLinks?.links ?? [])})`);
        for (const l of overlayLinks) {
          assert.match(l.pair ?? '', /relay/, `${name}: overlay link ${JSON.stringify(l)} is a relay pair`);
          assert.ok(throughCoturn(l, mine.turn?.relay, theirs.turn?.relay), `${name}: overlay link ${JSON.stringify(l)} through coturn`);
        }
      }
      const offered = natOf(after[0]!).turn?.offered;
      t.diagnostic(`boot's TURN: ${JSON.stringify({ allocationsCreated: offered?.allocationsCreated, bandwidth: offered?.bandwidth })}`);
      assert.deepEqual(offered?.bandwidth, { perAllocationBytesPerS: 512_000, totalBytesPerS: 4_000_000 });
      assert.equal(offered?.allocationsCreated, 2, "boot relays only for fb1 (its two ports): sym1 and pr1 took coturn's");
      const log = coturn.lines().filter((l) => /ALLOCATE/.test(l) && /success/.test(l));
      t.diagnostic(`coturn logged ${log.length} successful ALLOCATEs`);
      assert.ok(log.length >= 6, `coturn allocated for sym1, pr1 and blk1 (both ports):\n${coturn.tail(20)}`);
      t.diagnostic(`whole test ${Date.now() - t0} ms`);
    });
  });
});

/** coturn with long-term credentials, bound to the host's lab address only (listening and relaying). */
async function startCoturn(host: LabHost, dir: string) {
  const proc = host.spawn({
    command: 'turnserver',
    name: `${host.name}:coturn`,
    lifetimeMs: 170_000,
    args: [
      '-n',
      `--listening-ip=${host.address}`,
      `--listening-port=${COTURN_PORT}`,
      `--relay-ip=${host.address}`,
      '--min-port=49152',
      '--max-port=49407',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--lt-cred-mech',
      `--user=${COTURN_USER}:${COTURN_PASSWORD}`,
      '--realm=operator.test',
      '--fingerprint',
      // as an operator's coturn on the Internet is configured (coturn's security advice): no relaying to
      // private addresses. Here it also matters otherwise: the lab has no route to them, and coturn 4.6
      // closes an allocation whose relay socket gets ENETUNREACH (the ICE checks to host candidates)
      '--denied-peer-ip=10.0.0.0-10.255.255.255',
      '--denied-peer-ip=172.16.0.0-172.31.255.255',
      '--denied-peer-ip=192.168.0.0-192.168.255.255',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
      '-v', // logs each request's outcome (ALLOCATE … success)
    ],
  });
  const want = `${host.address}:${COTURN_PORT}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitInfo !== undefined) throw new Error(`turnserver exited before listening:\n${proc.tail()}`);
    const r = await host.tryRun('ss', ['-Hlun']);
    if (r.stdout.split('\n').some((line) => line.trim().split(/\s+/)[3] === want)) return proc;
    if (Date.now() > deadline) throw new Error(`turnserver not listening on ${want}:\n${proc.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
