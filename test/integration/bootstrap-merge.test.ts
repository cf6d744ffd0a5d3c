/**
 * Issue 15 on real sockets (loopback): a peer never strands, two overlays formed apart merge, and a
 * restart of every peer at once finds one overlay again through the peer caches.
 * 1. In process: a peer whose --bootstrap is a dead port starts alone (its phones call each other),
 *    then the bootstrap peer comes up and the first joins it (/api/status `join` says so).
 * 2. In process: two 3-peer overlays formed apart; one peer of each is offered a member of the other
 *    (as LAN discovery does): one ring, and every AoR registered before is found from every peer.
 * 3. Processes: three peers, kill -9 of all, restarted together on their data directories with no
 *    --bootstrap: the peer caches bring them into one ring.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { statusBody } from '../../src/node/status-api.js';
import type { JoinStatus } from '../../src/node/bootstrap-manager.js';
import { freePort } from './helpers/free-port.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { untilWholeRing } from './helpers/ring.js';
import { SdpPhone } from './helpers/sdp-phone.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

describe('joining, never stranding, merging (issue 15)', { timeout: 240_000 }, () => {
  const peers: RunningPeer[] = [];
  const procs: PeerProcess[] = [];
  const dirs: string[] = [];
  const phones: SdpPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    await Promise.all(peers.map((p) => p.stop().catch(() => {})));
    await Promise.all(procs.map((p) => p.stop('SIGKILL', true)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>, listenPort = 0): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-merge-'));
    dirs.push(dataDir);
    const p = await startPeer(loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY }, { listen: { host: '127.0.0.1', port: listenPort } }), quiet);
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  const join_ = (p: RunningPeer): JoinStatus => p.overlay!.joinStatus();
  const id = (p: RunningPeer): string => p.overlay!.node.status().nodeId;
  const succ = (p: RunningPeer): string | undefined => p.overlay!.node.status().successors[0];

  /** undefined once the successor pointers of `ps` form one ring. */
  function ringProblem(ps: RunningPeer[]): string | undefined {
    const ids = ps.map(id).sort();
    const bad = ps.filter((p) => succ(p) !== ids[(ids.indexOf(id(p)) + 1) % ids.length]);
    return bad.length === 0 ? undefined : `${bad.length} successors wrong`;
  }

  async function call(from: SdpPhone, to: SdpPhone): Promise<void> {
    const callId = `merge-${from.name}-${to.name}-${Date.now()}`;
    const calling = from.invite(to.name, from.sdp(), callId);
    const invite = await to.waitRequest('INVITE', 20_000, callId);
    to.answer(invite, 200, 'OK', to.sdp());
    const { final } = await calling;
    assert.match(final, /^SIP\/2\.0 200/);
    from.inDialog('ACK', final);
    from.inDialog('BYE', final);
    to.answer(await to.waitRequest('BYE', 10_000, callId), 200);
  }

  test('bootstrap peer down: the peer starts alone, its phones call each other; it joins once the bootstrap peer is up', async () => {
    const deadPort = await freePort();
    const t0 = Date.now();
    const a = await peer([{ host: '127.0.0.1', port: deadPort }]);
    assert.ok(Date.now() - t0 < 15_000, `started in ${Date.now() - t0} ms`);
    const first = join_(a);
    assert.equal(first.state, 'alone');
    assert.match(first.reason, /no configured or cached peer answered/);
    assert.equal(a.overlay!.node.state, 'joined', 'a one-peer overlay');
    // /api/status carries it
    const body = statusBody({ overlay: OVERLAY, peer: a.sip, clock: { now: () => 0, setTimer: () => ({ cancel() {} }) }, startedAt: 0, http: undefined, registrations: () => [], overlayNode: a.overlay!.node, joinStatus: () => a.overlay!.joinStatus() }) as { join: JoinStatus };
    assert.equal(body.join.state, 'alone');
    assert.ok(body.join.candidates >= 1 && body.join.list[0]!.source === 'configured');

    const alice = await SdpPhone.open('alice', udp(a), OVERLAY);
    const bob = await SdpPhone.open('bob', udp(a), OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);
    assert.match(await bob.register(), /^SIP\/2\.0 200/);
    await call(bob, alice);

    // the bootstrap peer comes up (alone too: nothing configured), on the port the first one tries
    const b = await peer([], deadPort);
    assert.equal(join_(b).state, 'alone');
    await until('A joined B', 120_000, () => (join_(a).state === 'joined' && ringProblem([a, b]) === undefined ? undefined : `${join_(a).state}: ${join_(a).reason}`));
    assert.match(join_(a).reason, /(joined|merged with) the ring of 127\.0\.0\.1:\d+/);
    assert.equal(join_(a).lastAttempt?.result, 'merged');
    await until('B joined', 10_000, () => (join_(b).state === 'joined' ? undefined : join_(b).reason));
    // a phone at B reaches alice at A through the overlay (her registration found from B)
    const carol = await SdpPhone.open('carol', udp(b), OVERLAY);
    phones.push(carol);
    assert.match(await carol.register(), /^SIP\/2\.0 200/);
    await until('alice found from B', 30_000, async () => {
      const r = (await b.sipUsage!.describe(`sip:alice@${OVERLAY}`)) as { registrations: unknown[] };
      return r.registrations.length > 0 ? undefined : 'not yet';
    });
    await call(carol, alice);
    await Promise.all([a.stop(), b.stop()]);
    peers.length = 0;
  });

  test('two 3-peer overlays formed apart merge when offered a member of the other; every AoR found from every peer', async () => {
    const p1 = await peer([]);
    const p2 = await peer([p1.overlay!.listen!]);
    const p3 = await peer([p1.overlay!.listen!]);
    const q1 = await peer([]);
    const q2 = await peer([q1.overlay!.listen!]);
    const q3 = await peer([q1.overlay!.listen!]);
    const all = [p1, p2, p3, q1, q2, q3];
    await until('two rings', 30_000, () => ringProblem([p1, p2, p3]) ?? ringProblem([q1, q2, q3]));
    const names = ['u1', 'u2', 'u3', 'v1', 'v2', 'v3'];
    for (let i = 0; i < all.length; i++) {
      const ph = await SdpPhone.open(names[i]!, udp(all[i]!), OVERLAY);
      phones.push(ph);
      assert.match(await ph.register(), /^SIP\/2\.0 200/);
    }
    // LAN discovery's part: one peer of each ring hears of a member of the other
    p1.overlay!.candidates.offer({ ...q2.overlay!.listen!, source: 'multicast' });
    q3.overlay!.candidates.offer({ ...p3.overlay!.listen!, source: 'mdns' });
    const took = await until('one ring of 6', 60_000, () => ringProblem(all));
    await until('every AoR from every peer', 60_000, async () => {
      for (const p of all) {
        for (const n of names) {
          const r = (await p.sipUsage!.describe(`sip:${n}@${OVERLAY}`)) as { registrations: unknown[] };
          if (r.registrations.length === 0) return `${n} not found from ${id(p).slice(0, 8)}`;
        }
      }
      return undefined;
    });
    assert.ok(all.every((p) => join_(p).state === 'joined'));
    assert.ok(join_(p1).merges + join_(q3).merges >= 1);
    process.stdout.write(`# one ring ${took} ms after the offers\n`);
    await Promise.all(all.map((p) => p.stop()));
    peers.length = 0;
  });

  test('kill -9 of every peer, restarted together with their data directories: one overlay again (peer caches)', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const data = ports.map(() => mkdtempSync(join(tmpdir(), 'p2psip-cache-')));
    dirs.push(...data);
    const common = ['--overlay', OVERLAY, '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];
    const start = (i: number, boot: string[]): Promise<PeerProcess> => startPeerProcess([...common, '--listen', `127.0.0.1:${ports[i]}`, '--data-dir', data[i]!, ...boot]);
    const first = [await start(0, [])];
    first.push(await start(1, ['--bootstrap', `127.0.0.1:${ports[0]}`]), await start(2, ['--bootstrap', `127.0.0.1:${ports[0]}`]));
    procs.push(...first);
    await untilWholeRing(first);
    // every peer has cached the others it linked to
    await until('peer caches written', 40_000, () => {
      for (const d of data) {
        const f = join(d, 'peers.json');
        if (!existsSync(f)) return `${f} missing`;
        if ((JSON.parse(readFileSync(f, 'utf8')) as { peers: unknown[] }).peers.length < 1) return `${f} empty`;
      }
      return undefined;
    });
    await Promise.all(first.map((p) => p.stop('SIGKILL', false)));
    procs.length = 0;
    // all at once, nothing configured: each tries its cache; some may start alone, then merge
    const again = await Promise.all([start(0, []), start(1, []), start(2, [])]);
    procs.push(...again);
    const took = await untilWholeRing(again, 120_000);
    process.stdout.write(`# one ring ${took} ms after the restart\n`);
  });
});
