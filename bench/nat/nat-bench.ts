/**
 * The NAT benchmark (issue 12): join time, Fetch latency and call set-up delay (INVITE → 180) per
 * NAT pair, with a one-way delay on the lab's public segment (the delay line, harness/nat-lab),
 * against the physical bounds of nat-bounds.ts.
 *
 * Lab: a public bootstrap peer `boot` and a second public peer `pub2`; one peer behind a full-cone
 * router (fc1), two behind two different port-restricted routers (pr1, pr2), one behind a symmetric
 * router (sym1), and two on one home LAN behind a port-restricted router (lan1, lan2). Every peer
 * runs `p2psip up --ice`; next to each, an agent (nat-agent.ts: a phone registered at it and a client
 * of its API). Rounds: in round 1 the peers have just been started; before every later round every
 * peer but the bootstrap is stopped (SIGTERM: a clean Leave) and started again, one after the other
 * (a new Node-ID: its join is measured into an overlay of all the others, and no SIP channel is
 * left). In each round: Fetches of random Resource-IDs from every peer; one first call per pair
 * (AppAttach + ICE + DTLS of the SIP channel, then INVITE); the SIP channel each opened, from the
 * caller's peer's /api/status; then calls on the open channel.
 */
import { createHash } from 'node:crypto';
import type { BoundedProcess } from '../../harness/bounded-process.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { echoProbe, NatLab, startEchoServer, startLabPeer } from '../../harness/nat-lab/index.js';
import type { DelayLineCounters, LabHost, LabPeer } from '../../harness/nat-lab/index.js';
import { aorResourceId } from '../../src/usages/sip/aor-resource-id.js';
import { load1 } from '../sip/system-info.js';
import type { BoundHost, HostNat } from './nat-bounds.js';
import { responsibleFor } from './nat-bounds.js';

export const NAT_BENCH_DOMAIN = 'p2psip.local';
const AGENT = new URL('./nat-agent.ts', import.meta.url).pathname;

export interface NatBenchOptions {
  /** One-way delay of the public segment, ms. */
  readonly delayMs: number;
  readonly rounds: number;
  /** Calls on the open channel per pair and round. */
  readonly laterCalls: number;
  /** Fetches per peer and round. */
  readonly fetches: number;
  /**
   * Restart peers on the same overlay port (6084). Default false: each restart takes the next port
   * (6085, ...): behind a NAT the old port's mapping outlives the process (conntrack), and a TURN
   * allocation of the previous incarnation not deleted at its stop then refuses the new one (437
   * Allocation Mismatch): no relay, and calls that need one fail.
   */
  readonly samePort: boolean;
  readonly log: (line: string) => void;
}

/** The peers of the lab: name, where. */
export const NAT_BENCH_HOSTS: ReadonlyArray<{ readonly name: string; readonly nat: HostNat; readonly site: string | undefined }> = [
  { name: 'boot', nat: 'none', site: undefined },
  { name: 'pub2', nat: 'none', site: undefined },
  { name: 'fc1', nat: 'full-cone', site: 'fc' },
  { name: 'pr1', nat: 'port-restricted', site: 'pra' },
  { name: 'pr2', nat: 'port-restricted', site: 'prb' },
  { name: 'sym1', nat: 'symmetric', site: 'sym' },
  { name: 'lan1', nat: 'port-restricted', site: 'home' },
  { name: 'lan2', nat: 'port-restricted', site: 'home' },
];

/**
 * Caller → callee pairs. No two share their two peers (each first call is the first SIP between
 * them), and no peer calls twice (the caller's one controlling SIP channel of a round is the pair's).
 */
export const NAT_BENCH_PAIRS: ReadonlyArray<{ readonly label: string; readonly caller: string; readonly callee: string }> = [
  { label: 'public ↔ public', caller: 'pub2', callee: 'boot' },
  { label: 'port-restricted ↔ port-restricted', caller: 'pr1', callee: 'pr2' },
  { label: 'full-cone ↔ port-restricted', caller: 'fc1', callee: 'pr1' },
  { label: 'port-restricted ↔ symmetric', caller: 'pr2', callee: 'sym1' },
  { label: 'symmetric ↔ full-cone', caller: 'sym1', callee: 'fc1' },
  { label: 'home LAN ↔ public', caller: 'lan2', callee: 'pub2' },
  { label: 'LAN ↔ LAN (one home router)', caller: 'lan1', callee: 'lan2' },
];

export interface JoinSample {
  readonly peer: string;
  readonly round: number;
  /** Peers joined when it started (all the others on a restart). */
  readonly othersJoined: number;
  /** Spawn → state `joined` (the peer's log), ms. */
  readonly totalMs: number;
  /** Spawn → state `joining` (process start, identity, STUN), ms. */
  readonly beforeJoiningMs: number;
  /** `joining` → `joined`, ms. */
  readonly joiningMs: number;
}

export interface FetchSample {
  readonly peer: string;
  readonly round: number;
  readonly ms: number;
  /** The peer responsible for the Resource-ID (ring of the round). */
  readonly responsible: string;
}

/** A Ping routed to the peer responsible for a random Resource-ID: the overlay hops it took. */
export interface HopSample {
  readonly peer: string;
  readonly round: number;
  readonly hops: number;
  readonly ms: number;
}

export interface CallSample {
  readonly pair: string;
  readonly round: number;
  readonly first: boolean;
  readonly status: number;
  readonly ringMs: number | undefined;
  readonly finalMs: number;
  /** The peer holding the callee's registration (responsible for its AoR). */
  readonly aorHolder: string;
  /** The final answer's status line when the call failed. */
  readonly finalLine?: string;
}

/** The SIP channel a first call opened, as the caller's peer shows it. */
export interface ChannelSample {
  readonly pair: string;
  readonly round: number;
  readonly pairTypes: string | undefined;
  readonly remote: string | undefined;
  /** AppAttach answer → channel open (ICE + DTLS) at the caller's peer, ms. */
  readonly setupMs: number | undefined;
  readonly checkRttMs: number | undefined;
  /** SIP channel failures the caller's peer shows (ICE/DTLS), if any. */
  readonly failures?: string;
}

/** A peer's TURN relays in a round (from its /api/status): `allocated`, another state, or null (none). */
export interface RelaySample {
  readonly peer: string;
  readonly round: number;
  readonly overlay: string | null;
  readonly sip: string | null;
}

/**
 * The previous round's registrations of a restarted peer's phone, looked up after the restart: a
 * stopped peer withdraws its phones' registrations (clean stop); `stale` counts those still stored
 * under a Node-ID no longer in the ring.
 */
export interface StaleSample {
  readonly round: number;
  readonly aor: string;
  readonly registered: number;
  readonly stale: number;
}

export interface NatBenchResult {
  readonly startedAt: string;
  readonly wallMs: number;
  readonly options: Omit<NatBenchOptions, 'log'>;
  readonly load1Before: number;
  readonly load1After: number;
  readonly hosts: readonly BoundHost[];
  readonly pairs: typeof NAT_BENCH_PAIRS;
  readonly joins: readonly JoinSample[];
  readonly fetches: readonly FetchSample[];
  readonly fetchFailures: number;
  readonly hops: readonly HopSample[];
  readonly calls: readonly CallSample[];
  readonly channels: readonly ChannelSample[];
  readonly relays: readonly RelaySample[];
  readonly stale: readonly StaleSample[];
  /** The TURN server of `boot` after each round's (re)starts: allocations held, error answers so far. */
  readonly bootTurn: ReadonlyArray<{ readonly round: number; readonly allocations: number; readonly errors: Readonly<Record<string, number>> }>;
  /** Rounds whose ring had not converged when measured (the string says what was seen). */
  readonly ringProblems: readonly string[];
  readonly delayLine: DelayLineCounters | undefined;
  /** How the delay line was scheduled (fifo-10: real-time). */
  readonly delayLineSched: string | undefined;
  /** The echo RTT across the segment (UDP, median of a few), ms: the emulator's own check. */
  readonly echoRttMs: number | undefined;
}

/** A long-lived agent next to one peer (nat-agent.ts). */
class Agent {
  #id = 0;

  constructor(
    readonly host: LabHost,
    private readonly proc: BoundedProcess,
  ) {}

  async cmd<T>(op: string, extra: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.#id;
    const since = this.proc.lineCount();
    this.proc.write(`${JSON.stringify({ id, op, ...extra })}\n`);
    const line = await this.proc.waitForLine(new RegExp(`^reply ${id} `), { timeoutMs, since });
    const v = JSON.parse(line.slice(`reply ${id} `.length)) as T & { error?: string };
    if (typeof v === 'object' && v !== null && 'error' in v && typeof v.error === 'string') throw new Error(`${this.host.name} ${op}: ${v.error}`);
    return v;
  }
}

interface StatusView {
  nodeId: string;
  state: string;
  successors: string[];
  nat: {
    turn?: {
      relay?: { state?: string } | null;
      sipRelay?: { state?: string } | null;
      offered?: { allocations?: number; errors?: Record<string, number> } | null;
    };
    sipChannels?: {
      links?: Array<{ id: string; phase: string; role: string; pair?: string; remote?: string; setupMs?: number; checkRttMs?: number }>;
      recentFailures?: Array<{ id: string; reason: string; phase: string; after: number; pair?: string }>;
    };
  } | null;
}

const LIFETIME_MS = 30 * 60_000;

export async function runNatBench(opts: NatBenchOptions): Promise<NatBenchResult> {
  return withScope((scope) => run(scope, opts));
}

async function run(scope: ProcessScope, opts: NatBenchOptions): Promise<NatBenchResult> {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const load1Before = load1();
  const log = opts.log;
  const lab = await NatLab.builder(scope)
    .options({ stunHost: false })
    .wan({ delayMs: opts.delayMs })
    .publicHost('boot')
    .publicHost('pub2')
    .site('fc', 'full-cone', ['fc1'])
    .site('pra', 'port-restricted', ['pr1'])
    .site('prb', 'port-restricted', ['pr2'])
    .site('sym', 'symmetric', ['sym1'])
    .site('home', 'port-restricted', ['lan1', 'lan2'])
    .build();
  log(`lab built (${lab.namespaces.length} namespaces, public segment: ${lab.segment} scheduled ${lab.delayLine?.sched ?? '-'}, ${opts.delayMs} ms one way) in ${Date.now() - t0} ms`);
  const echoRttMs = await segmentEcho(lab);
  log(`UDP echo across the segment: ${echoRttMs?.toFixed(1) ?? '?'} ms RTT`);
  const hosts: BoundHost[] = NAT_BENCH_HOSTS.map((h) => ({ ...h }));
  const peers = new Map<string, LabPeer>();
  const agents = new Map<string, Agent>();
  const joins: JoinSample[] = [];
  const fetches: FetchSample[] = [];
  const hopSamples: HopSample[] = [];
  const calls: CallSample[] = [];
  const channels: ChannelSample[] = [];
  const relays: RelaySample[] = [];
  const stale: StaleSample[] = [];
  const bootTurn: Array<{ round: number; allocations: number; errors: Record<string, number> }> = [];
  const ringProblems: string[] = [];
  let fetchFailures = 0;

  const boot = await startLabPeer(lab.host('boot'), { lifetimeMs: LIFETIME_MS });
  peers.set('boot', boot);
  const startPeer = async (name: string, round: number): Promise<void> => {
    const othersJoined = [...peers.keys()].filter((n) => n !== name).length;
    const spawnAt = Date.now();
    const overlayPort = opts.samePort ? undefined : 6083 + round;
    const p = await startLabPeer(lab.host(name), { bootstrap: boot.overlayAddress, lifetimeMs: LIFETIME_MS, startTimeoutMs: 90_000, ...(overlayPort === undefined ? {} : { overlayPort }) });
    peers.set(name, p);
    const s = joinTimes(p.proc.lines());
    if (s === undefined) {
      log(`   ${name}: no joining/joined log lines`);
      return;
    }
    const sample: JoinSample = { peer: name, round, othersJoined, totalMs: s.joined - spawnAt, beforeJoiningMs: s.joining - spawnAt, joiningMs: s.joined - s.joining };
    joins.push(sample);
    log(`   ${name} joined in ${sample.totalMs} ms (before joining ${sample.beforeJoiningMs}, joining → joined ${sample.joiningMs}; ${othersJoined} others)`);
  };
  for (const h of hosts) if (h.name !== 'boot') await startPeer(h.name, 1);
  for (const h of hosts) {
    const host = lab.host(h.name);
    const proc = host.spawn({
      command: process.execPath,
      name: `agent@${h.name}`,
      args: ['--import', 'tsx', AGENT, host.address, userOf(h.name, 1), NAT_BENCH_DOMAIN, `${host.address}:5060`, '127.0.0.1:8060'],
      cwd: REPO_ROOT,
      lifetimeMs: LIFETIME_MS,
      maxLineLength: 4_000_000,
    });
    await proc.waitForLine(/^ready /, { timeoutMs: 30_000 });
    agents.set(h.name, new Agent(host, proc));
  }
  const agent = (name: string): Agent => {
    const a = agents.get(name);
    if (a === undefined) throw new Error(`no agent ${name}`);
    return a;
  };

  for (let round = 1; round <= opts.rounds; round++) {
    const r0 = Date.now();
    if (round > 1) {
      log(` round ${round}: restarting every peer but boot, one after the other`);
      for (const h of hosts) {
        if (h.name === 'boot') continue;
        const old = peers.get(h.name);
        peers.delete(h.name);
        await old?.proc.stop('SIGTERM', 12_000);
        await startPeer(h.name, round);
      }
    }
    // the ring of this round
    const ring = await converged(hosts.map((h) => agent(h.name)), 60_000).catch((e: unknown) => {
      ringProblems.push(`round ${round}: ${(e as Error).message}`);
      log(`   round ${round}: ${(e as Error).message}`);
      return undefined;
    });
    const statuses = ring ?? (await Promise.all(hosts.map((h) => agent(h.name).cmd<StatusView>('status'))));
    const ids = statuses.map((s, i) => ({ nodeId: BigInt(`0x${s.nodeId}`), name: hosts[i]!.name }));
    const offered = statuses[0]?.nat?.turn?.offered;
    bootTurn.push({ round, allocations: offered?.allocations ?? 0, errors: { ...(offered?.errors ?? {}) } });
    statuses.forEach((s, i) => {
      const h = hosts[i]!;
      if (h.nat === 'none') return;
      const sample = { peer: h.name, round, overlay: s.nat?.turn?.relay?.state ?? null, sip: s.nat?.turn?.sipRelay?.state ?? null };
      relays.push(sample);
      if (sample.overlay !== 'allocated' || sample.sip !== 'allocated') log(`   ${h.name}: TURN relay ${String(sample.overlay)}, SIP relay ${String(sample.sip)}`);
    });
    if (round > 1) {
      // did the stopped peers withdraw their phones' registrations? (looked up from boot, not restarted)
      const current = new Set(statuses.map((x) => x.nodeId));
      const looked = await Promise.all(
        hosts
          .filter((h) => h.name !== 'boot')
          .map(async (h) => {
            const aor = aorOf(h.name, round - 1);
            const r = await agent('boot').cmd<{ overlay?: { registrations?: Array<{ nodeId: string }> } | null }>('lookup', { aor }, 30_000).catch(() => ({ overlay: null }));
            const regs = r.overlay?.registrations ?? [];
            return { round, aor, registered: regs.length, stale: regs.filter((x) => !current.has(x.nodeId)).length };
          }),
      );
      stale.push(...looked);
      const left = looked.filter((x) => x.stale > 0);
      if (left.length > 0) log(`   registrations of stopped peers still in the overlay: ${left.map((x) => x.aor).join(', ')}`);
    }
    // phones register at their (new) peers, under this round's AoR (a stale registration of an
    // earlier round would make every call to the AoR wait for an AppAttach to a dead peer)
    for (const h of hosts) {
      let st = 0;
      for (let i = 0; i < 3 && st !== 200; i++) st = (await agent(h.name).cmd<{ status: number }>('register', { user: userOf(h.name, round) })).status;
      if (st !== 200) log(`   phone at ${h.name}: REGISTER ${st}`);
    }
    // Fetch latency from every peer at once
    const fr = await Promise.all(
      hosts.map(async (h) => {
        const rids = Array.from({ length: opts.fetches }, (_, i) => createHash('sha256').update(`nat-${round}-${h.name}-${i}`).digest('hex').slice(0, 32));
        const r = await agent(h.name).cmd<{ timesMs: number[]; failed: number; errors: string[] }>('fetch', { ids: rids }, 180_000);
        return { h, rids, r };
      }),
    );
    for (const { h, rids, r } of fr) {
      fetchFailures += r.failed;
      if (r.failed > 0) log(`   ${h.name}: ${r.failed} Fetches failed: ${r.errors.join(' | ')}`);
      // times are of the successful ones, in order; with failures the mapping to ids is lost: skip then
      if (r.failed === 0) r.timesMs.forEach((ms, i) => fetches.push({ peer: h.name, round, ms, responsible: responsibleFor(BigInt(`0x${rids[i]}`), ids) ?? '?' }));
    }
    // overlay hops to random Resource-IDs (a Ping routed like a Fetch), 5 per peer
    await Promise.all(
      hosts.map(async (h) => {
        const rids = Array.from({ length: 5 }, (_, i) => createHash('sha256').update(`hops-${round}-${h.name}-${i}`).digest('hex').slice(0, 32));
        const r = await agent(h.name).cmd<{ hops: number[]; ms: number[] }>('ping', { ids: rids }, 120_000);
        r.hops.forEach((x, i) => hopSamples.push({ peer: h.name, round, hops: x, ms: r.ms[i] ?? 0 }));
      }),
    );
    // first calls, one pair after the other
    const aorHolder = (callee: string): string => responsibleFor(BigInt(`0x${Buffer.from(aorResourceId(aorOf(callee, round))).toString('hex')}`), ids) ?? '?';
    const firstFailed = new Set<string>();
    for (const p of NAT_BENCH_PAIRS) {
      const r = await agent(p.caller).cmd<{ calls: Array<{ status: number; ringMs?: number; finalMs: number; finalLine: string }> }>('call', { target: aorOf(p.callee, round), count: 1, timeoutMs: 32_000 }, 90_000);
      const c = r.calls[0];
      if (c === undefined) continue;
      if (c.status !== 200) firstFailed.add(p.label);
      calls.push({ pair: p.label, round, first: true, status: c.status, ringMs: c.ringMs, finalMs: c.finalMs, aorHolder: aorHolder(p.callee), ...(c.status === 200 ? {} : { finalLine: c.finalLine }) });
      log(`   first call ${p.caller} → ${p.callee}: ${c.status} INVITE→180 ${c.ringMs?.toFixed(1) ?? '-'} ms${c.status === 200 ? '' : ` (after ${c.finalMs.toFixed(0)} ms: ${c.finalLine})`}`);
    }
    // the channel each first call opened: the caller's one controlling SIP channel
    await Promise.all(
      NAT_BENCH_PAIRS.map(async (p) => {
        const s = await agent(p.caller).cmd<StatusView>('status');
        const links = (s.nat?.sipChannels?.links ?? []).filter((l) => l.role === 'controlling');
        const l = links.find((x) => x.phase === 'open') ?? links[0];
        const failures = (s.nat?.sipChannels?.recentFailures ?? []).map((f) => `${f.id} ${f.phase} after ${f.after} ms: ${f.reason}${f.pair === undefined ? '' : ` (${f.pair})`}`).join('; ');
        channels.push({ pair: p.label, round, pairTypes: l?.pair, remote: l?.remote, setupMs: l?.setupMs, checkRttMs: l?.checkRttMs, ...(failures === '' ? {} : { failures }) });
        if (failures !== '') log(`   ${p.caller}: SIP channel failures: ${failures}`);
      }),
    );
    // calls on the open channels (2 only, to show what they get, when the first call failed)
    for (const p of NAT_BENCH_PAIRS) {
      const count = firstFailed.has(p.label) ? Math.min(2, opts.laterCalls) : opts.laterCalls;
      const r = await agent(p.caller).cmd<{ calls: Array<{ status: number; ringMs?: number; finalMs: number; finalLine: string }> }>('call', { target: aorOf(p.callee, round), count, timeoutMs: 32_000 }, 30_000 + count * 40_000);
      for (const c of r.calls) calls.push({ pair: p.label, round, first: false, status: c.status, ringMs: c.ringMs, finalMs: c.finalMs, aorHolder: aorHolder(p.callee), ...(c.status === 200 ? {} : { finalLine: c.finalLine }) });
      const bad = r.calls.filter((c) => c.status !== 200);
      if (bad.length > 0) log(`   ${p.caller} → ${p.callee}: ${bad.length} of ${r.calls.length} calls on the channel failed (${bad[0]?.finalLine ?? ''})`);
    }
    log(` round ${round} done in ${((Date.now() - r0) / 1000).toFixed(0)} s`);
  }
  const delayLine = await lab.delayLineCounters();
  return {
    startedAt,
    wallMs: Date.now() - t0,
    options: { delayMs: opts.delayMs, rounds: opts.rounds, laterCalls: opts.laterCalls, fetches: opts.fetches, samePort: opts.samePort },
    load1Before,
    load1After: load1(),
    hosts,
    pairs: NAT_BENCH_PAIRS,
    joins,
    fetches,
    fetchFailures,
    hops: hopSamples,
    calls,
    channels,
    relays,
    stale,
    bootTurn,
    ringProblems,
    delayLine,
    delayLineSched: lab.delayLine?.sched,
    echoRttMs,
  };

  /** Waits until every peer is joined and each one's first successor is the next Node-ID of the ring. */
  async function converged(all: readonly Agent[], limitMs: number): Promise<StatusView[]> {
    const tEnd = Date.now() + limitMs;
    let last = '';
    while (Date.now() < tEnd) {
      const s = await Promise.all(all.map((a) => a.cmd<StatusView>('status')));
      const sorted = s.map((x) => x.nodeId).sort();
      const bad = s.find((x) => x.state !== 'joined' || x.successors[0] !== sorted[(sorted.indexOf(x.nodeId) + 1) % sorted.length]);
      if (bad === undefined) return s;
      last = `${bad.nodeId.slice(0, 8)} ${bad.state} → ${bad.successors[0]?.slice(0, 8) ?? '-'}`;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`ring not converged within ${limitMs} ms (${last})`);
  }
}

/** The phone user of `host` in `round` (a new AoR each round). */
export function userOf(host: string, round: number): string {
  return `u-${host}-r${round}`;
}

export function aorOf(host: string, round: number): string {
  return `sip:${userOf(host, round)}@${NAT_BENCH_DOMAIN}`;
}

/** `joining` and `joined` times (epoch ms) from a peer's log (pino JSON lines, `overlay state`; `time` ISO 8601, or epoch ms from older peers). */
export function joinTimes(lines: readonly string[]): { joining: number; joined: number } | undefined {
  let joining: number | undefined;
  let joined: number | undefined;
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes('overlay state')) continue;
    try {
      const j = JSON.parse(line) as { state?: string; time?: number | string };
      const at = typeof j.time === 'string' ? Date.parse(j.time) : j.time;
      if (j.state === 'joining' && joining === undefined) joining = at;
      if (j.state === 'joined' && joined === undefined) joined = at;
    } catch {
      // not a log line
    }
  }
  return joining === undefined || joined === undefined ? undefined : { joining, joined };
}

/** Median UDP echo RTT between the two public hosts (the segment, crossed once each way), ms. */
async function segmentEcho(lab: NatLab): Promise<number | undefined> {
  const server = await startEchoServer(lab.host('boot'), { udpPort: 7000 });
  try {
    await echoProbe(lab.host('pub2'), server, 'udp', { timeoutMs: 3000 });
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await echoProbe(lab.host('pub2'), server, 'udp', { timeoutMs: 3000 });
      if (r.ok && r.rttMs !== undefined) xs.push(r.rttMs);
    }
    xs.sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  } finally {
    await server.stop();
  }
}
