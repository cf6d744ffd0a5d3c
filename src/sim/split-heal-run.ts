/**
 * The split/heal scenario of issue 15: `nodes` peers on a simulated network cut in two halves
 * from the start, so each half builds its own ring of the same overlay (boxes booted apart, a long
 * network split); values are stored on both sides; the split lasts `splitMs`; then the network
 * heals and a "LAN" (as multicast bootstrap, RFC 6940 §11.4, would) offers each peer a few random
 * members of the other half as candidates. Measured: the virtual time until the peers' successor
 * pointers form one ring (judged by the ring oracle over all peers), and the values that cannot be
 * fetched afterwards from a random peer (must be 0). Sans-I/O: a ManualClock and seeded randoms.
 */
import { ManualClock } from '../lib/manual-clock.js';
import { SeededRandom } from '../lib/random.js';
import type { LinkEndpoint } from '../reload/link/link-driver.js';
import { RingOracle, toHex } from './ring-oracle.js';
import { SimNetwork } from './sim-network.js';
import type { SimPeer, SimPeerFactory } from './sim-peer.js';
import { bytesEqual } from '../lib/bytes.js';

export interface SplitHealOptions {
  /** Peers, split in two halves of (nearly) equal size. */
  readonly nodes: number;
  readonly seed: number;
  /** Joins per second in each half while building. */
  readonly joinRatePerSec: number;
  /** A join not done by then counts as a failure. */
  readonly joinTimeoutMs: number;
  /** Quiet time after the last join, before the values are stored. */
  readonly stabilizeMs: number;
  /** Values stored while split, half from each side (dictionary entries of SIP-REGISTRATION). */
  readonly values: number;
  /** How long the network stays split after the rings are built (the values are stored at its start). */
  readonly splitMs: number;
  /** Candidates of the other half offered to each peer after the heal. */
  readonly candidatesPerPeer: number;
  /** Peers (of the first half, then the second, alternating) that get offers; default all. */
  readonly offeredPeers: number;
  /** The offers are spread uniformly over this window after the heal. */
  readonly offerSpreadMs: number;
  /** Give up waiting for one ring after this long. */
  readonly maxConvergeMs: number;
  /** Quiet time after one ring before the final audit (data migration, replicas). */
  readonly settleAfterMs: number;
  /** See SimRunOptions.settleQuantumMs (0 = exact). */
  readonly settleQuantumMs: number;
  /** Writers store their values again once the rings merged (default true). */
  readonly restoreAfterMerge: boolean;
}

export const DEFAULT_SPLIT_HEAL_OPTIONS: SplitHealOptions = {
  nodes: 1000,
  seed: 1,
  joinRatePerSec: 10,
  joinTimeoutMs: 120_000,
  stabilizeMs: 30_000,
  values: 200,
  splitMs: 600_000,
  candidatesPerPeer: 3,
  offeredPeers: Infinity,
  offerSpreadMs: 10_000,
  maxConvergeMs: 600_000,
  settleAfterMs: 120_000,
  settleQuantumMs: 0,
  restoreAfterMerge: true,
};

export interface SplitHealStats {
  nodes: number;
  halves: [number, number];
  joinFailures: number;
  /** Whether each half formed one ring of its own before the heal. */
  halvesWereRings: boolean;
  valuesStored: number;
  storeFailures: number;
  /** Virtual ms from the heal to one ring (every successor pointer right); null = not within maxConvergeMs. */
  oneRingAfterMs: number | null;
  /** Peers whose successor pointer was wrong when the wait ended (0 when one ring). */
  wrongSuccessors: number;
  /** Outcomes of the candidate offers (mergeThrough). */
  offers: Record<string, number>;
  /** Values not fetchable after the merge and the data migration alone (before the writers' re-store). */
  lostByMigration: number;
  /** Values stored again by their writers after the merge. */
  restores: number;
  /** Values stored while split and not fetchable at the end (name list capped at 20). */
  lost: number;
  lostNames: string[];
  /** For the first lost values: the peer responsible in the merged ring and who holds a copy (replica number). */
  lostDetail: { name: string; responsible: string; holders: { node: string; replica: number; after: number }[]; answer: string }[];
  /** Fetches that failed outright (counted in lost too). */
  fetchFailures: number;
  virtualTotalS: number;
}

export interface SplitHealDeps {
  /** Lets promise continuations run (one macrotask turn). */
  settle(): Promise<void>;
}

interface Member {
  readonly peer: SimPeer;
  readonly hex: string;
  readonly side: 0 | 1;
  joined: boolean;
}

/** Runs the scenario on a fresh network and virtual clock. */
export async function runSplitHeal(options: Partial<SplitHealOptions>, factory: SimPeerFactory, deps: SplitHealDeps): Promise<SplitHealStats> {
  const o = { ...DEFAULT_SPLIT_HEAL_OPTIONS, ...options };
  if (o.nodes < 2) throw new RangeError('split/heal needs at least 2 peers');
  const clock = new ManualClock();
  const master = new SeededRandom(o.seed);
  const net = new SimNetwork(clock, { crashMode: 'reset', seed: master.u32() });
  const pick = new SeededRandom(master.u32());
  const members: Member[] = [];
  const sides: [Member[], Member[]] = [[], []];
  const hosts: [string[], string[]] = [[], []];
  for (let i = 0; i < o.nodes; i++) {
    const side: 0 | 1 = i < Math.ceil(o.nodes / 2) ? 0 : 1;
    const host = net.addHost();
    hosts[side].push(host);
    const peer = factory({ index: i, host, driver: net.driverFor(host), clock, random: new SeededRandom(master.u32()), storage: { replication: true } });
    const m: Member = { peer, hex: toHex(peer.nodeId), side, joined: false };
    members.push(m);
    sides[side].push(m);
  }
  net.partition(hosts);

  const runUntil = async (until: number, done?: () => boolean): Promise<void> => {
    await deps.settle();
    for (;;) {
      if (done?.()) return;
      const next = clock.nextTimerAt();
      if (next === undefined || next > until) break;
      clock.advanceTo(Math.min(until, next + o.settleQuantumMs));
      await deps.settle();
    }
    if (clock.now() < until) clock.advanceTo(until);
    await deps.settle();
  };

  // Build: each half founds its own ring (its first peer starts alone), the others join through joined peers of their half.
  let pending = 0;
  let joinFailures = 0;
  const start = (m: Member, bootstrap: LinkEndpoint[]): void => {
    pending++;
    let done = false;
    const timer = clock.setTimer(o.joinTimeoutMs, () => finish(false));
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      timer.cancel();
      pending--;
      if (ok) m.joined = true;
      else joinFailures++;
    };
    m.peer.start(bootstrap).then(
      () => finish(true),
      () => finish(false),
    );
  };
  const gap = 1000 / o.joinRatePerSec;
  for (const side of sides) {
    side.forEach((m, i) => {
      clock.setTimer(i * gap, () => {
        const joined = side.filter((x) => x.joined);
        const boot: LinkEndpoint[] = [];
        for (let k = 0; k < 3 && joined.length > 0; k++) boot.push(joined[Math.floor(pick.float() * joined.length)]!.peer.endpoint());
        start(m, i === 0 ? [] : boot);
      });
    });
  }
  const builtBy = Math.max(sides[0].length, sides[1].length) * gap + o.joinTimeoutMs;
  await runUntil(builtBy, () => pending === 0 && members.filter((m) => m.joined).length + joinFailures === o.nodes);
  await runUntil(clock.now() + o.stabilizeMs);
  const live = members.filter((m) => m.joined);
  const halvesWereRings = sides.every((side) => wrongSuccessors(side.filter((m) => m.joined), ringOf(side.filter((m) => m.joined))) === 0);

  // Store while split: half the values from each side.
  const splitEnd = clock.now() + o.splitMs;
  const stored: { name: string; value: Uint8Array; writer: NonNullable<SimPeer['storage']> }[] = [];
  let storeFailures = 0;
  const stores: Promise<void>[] = [];
  for (let i = 0; i < o.values; i++) {
    const side = sides[i % 2]!.filter((m) => m.joined);
    const w = side[Math.floor(pick.float() * side.length)];
    if (w?.peer.storage === undefined) continue;
    const name = `split-heal-${i}`;
    const value = new TextEncoder().encode(`value ${i} from side ${i % 2}`);
    const st = w.peer.storage;
    stores.push(
      new Promise<void>((r) => clock.setTimer(i * 20, r)).then(() =>
        st.store(name, value, 3600).then((res) => {
          if (res.ok) stored.push({ name, value, writer: st });
          else storeFailures++;
        }),
      ),
    );
  }
  let storesDone = false;
  void Promise.all(stores).then(() => {
    storesDone = true;
  });
  await runUntil(splitEnd, () => false);
  await runUntil(clock.now() + 60_000, () => storesDone);

  // Heal; the LAN offers candidates of the other half.
  net.heal();
  const healedAt = clock.now();
  const offers: Record<string, number> = {};
  const offered: Member[] = [];
  for (let i = 0; offered.length < Math.min(o.offeredPeers, live.length); i++) {
    const side = sides[i % 2]!.filter((x) => x.joined);
    const m = side[Math.floor(i / 2)];
    if (m !== undefined) offered.push(m);
    if (Math.floor(i / 2) > live.length) break;
  }
  for (const m of offered) {
    const others = sides[m.side === 0 ? 1 : 0].filter((x) => x.joined);
    const picks: SimPeer[] = [];
    for (let k = 0; k < o.candidatesPerPeer && others.length > 0; k++) picks.push(others[Math.floor(pick.float() * others.length)]!.peer);
    clock.setTimer(Math.floor(pick.float() * o.offerSpreadMs), () => {
      void (async () => {
        for (const c of picks) {
          const r = (await m.peer.mergeThrough?.(c.endpoint())) ?? 'unsupported';
          offers[r] = (offers[r] ?? 0) + 1;
          if (r === 'merged' || r === 'same-ring') return;
        }
      })();
    });
  }
  const full = ringOf(live);
  let oneRingAt: number | undefined;
  const deadline = healedAt + o.maxConvergeMs;
  while (clock.now() < deadline) {
    await runUntil(Math.min(deadline, clock.now() + 1000));
    if (wrongSuccessors(live, full) === 0) {
      oneRingAt = clock.now();
      break;
    }
  }
  const wrong = wrongSuccessors(live, full);
  await runUntil(clock.now() + o.settleAfterMs);

  // Audit: every value stored while split, fetched from a random peer of the merged ring.
  const audit = async (): Promise<{ lost: number; fetchFailures: number; lostNames: string[]; lostDetail: SplitHealStats['lostDetail'] }> => {
    const a = { lost: 0, fetchFailures: 0, lostNames: [] as string[], lostDetail: [] as SplitHealStats['lostDetail'] };
    const checks = stored.map(async ({ name, value }) => {
      const r = live[Math.floor(pick.float() * live.length)]!;
      const got = await r.peer.storage!.fetch(name);
      const ok = got.ok && got.values.some((v) => bytesEqual(v, value));
      if (!got.ok) a.fetchFailures++;
      if (ok) return;
      a.lost++;
      if (a.lostNames.length < 20) a.lostNames.push(name);
      if (a.lostDetail.length < 5) {
        const rid = r.peer.storage!.resourceId(name);
        const owner = full.responsible(toHex(rid)) ?? '';
        const sorted = live.map((x) => x.hex).sort();
        const holders: { node: string; replica: number; after: number }[] = [];
        for (const x of live) {
          const n = x.peer.storage!.replicaNumber(rid);
          if (n !== undefined) holders.push({ node: x.hex.slice(0, 8), replica: n, after: (sorted.indexOf(x.hex) - sorted.indexOf(owner) + sorted.length) % sorted.length });
        }
        const answer = got.ok ? `${got.values.length} values from ${got.responder === undefined ? '?' : toHex(got.responder).slice(0, 8)}` : got.reason;
        a.lostDetail.push({ name, responsible: owner.slice(0, 8), holders, answer });
      }
    });
    let audited = false;
    void Promise.all(checks).then(() => {
      audited = true;
    });
    await runUntil(clock.now() + 120_000, () => audited);
    return a;
  };
  const byMigration = await audit();
  // Writers store their values again after the merge (as the SIP usage re-stores its registrations):
  // a value whose holders a long stretch of the other ring separated from its new responsible peer
  // (more than the neighbour table reaches) is back at once, not at its writer's next refresh.
  let restores = 0;
  if (o.restoreAfterMerge) {
    let left = stored.length;
    for (const v of stored) {
      clock.setTimer(Math.floor(pick.float() * 10_000), () => {
        void v.writer.store(v.name, v.value, 3600).then((r) => {
          if (r.ok) restores++;
          left--;
        });
      });
    }
    await runUntil(clock.now() + 60_000, () => left === 0);
    await runUntil(clock.now() + 10_000);
  }
  const final = o.restoreAfterMerge ? await audit() : byMigration;
  const { lost, fetchFailures, lostNames, lostDetail } = final;
  for (const m of members) m.peer.crash();
  return {
    nodes: o.nodes,
    halves: [sides[0].length, sides[1].length],
    joinFailures,
    halvesWereRings,
    valuesStored: stored.length,
    storeFailures,
    oneRingAfterMs: oneRingAt === undefined ? null : oneRingAt - healedAt,
    wrongSuccessors: wrong,
    offers,
    lostByMigration: byMigration.lost,
    restores,
    lost,
    lostNames,
    lostDetail,
    fetchFailures,
    virtualTotalS: clock.now() / 1000,
  };
}

/** The ring the oracle says these peers form. */
function ringOf(ms: readonly Member[]): RingOracle {
  const r = new RingOracle();
  for (const m of ms) r.add(m.hex);
  return r;
}

/** Peers whose first successor is not the next peer of `ring` clockwise. */
function wrongSuccessors(ms: readonly Member[], ring: RingOracle): number {
  let wrong = 0;
  for (const m of ms) {
    const want = ring.size <= 1 ? undefined : ring.responsible(nextHex(m.hex));
    const got = m.peer.successors?.()[0];
    const gotHex = got === undefined ? undefined : toHex(got);
    if (gotHex !== want) wrong++;
  }
  return wrong;
}

/** hex + 1 on the ring (same length, wraps). */
function nextHex(hex: string): string {
  const n = (BigInt(`0x${hex}`) + 1n) % (1n << BigInt(hex.length * 4));
  return n.toString(16).padStart(hex.length, '0');
}
