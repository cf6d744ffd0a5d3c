/**
 * A NAT benchmark run summed up against its physical bounds (nat-bounds.ts): per peer (join, Fetch)
 * and per pair (first call, calls on the open channel, the SIP channel). Pure.
 */
import { spread } from '../sip/rate-search.js';
import type { Spread } from '../sip/rate-search.js';
import type { BoundHost } from './nat-bounds.js';
import { fetchBound, firstCallBound, joinBound, laterCallBound, pathRtts } from './nat-bounds.js';
import type { NatBenchResult } from './nat-bench.js';

export interface JoinRow {
  readonly peer: string;
  readonly nat: string;
  readonly total: Spread;
  readonly beforeJoining: Spread;
  readonly joining: Spread;
  readonly n: number;
  readonly boundMs: number;
  readonly boundJoiningMs: number;
  readonly counted: string;
}

export interface FetchRow {
  readonly peer: string;
  readonly nat: string;
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  /** Median of the per-Fetch bounds, ms. */
  readonly boundMedian: number;
  /** Median of (time − its bound), ms. */
  readonly excessMedian: number;
  /** Fetches whose responsible peer is the requester or on its LAN (bound 0). */
  readonly local: number;
  /** Overlay hops of Pings to random Resource-IDs (median, max, n), as /api/overlay/lookup reports them. */
  readonly hops: { readonly median: number; readonly max: number; readonly n: number; readonly pingMedianMs: number };
}

export interface CallRow {
  readonly pair: string;
  readonly caller: string;
  readonly callee: string;
  /** The shortest path the two NATs allow, in RTTs. */
  readonly pathRtts: number;
  readonly first: Spread & { readonly n: number };
  readonly firstBound: Spread;
  readonly firstCounted: string;
  readonly later: Spread & { readonly n: number; readonly p90: number };
  readonly laterBound: Spread;
  readonly laterCounted: string;
  readonly failed: number;
  /** Candidate pairs the SIP channels used (ours→theirs), with counts. */
  readonly channelPairs: string;
  readonly setup: Spread & { readonly n: number };
  readonly checkRtt: Spread;
  /** Per round: first − median of that round's later calls − setup (≈ AppAttach and the locator), ms. */
  readonly appAttachEstimate: Spread;
}

export interface NatSummary {
  readonly rttMs: number;
  readonly joins: readonly JoinRow[];
  readonly fetches: readonly FetchRow[];
  readonly calls: readonly CallRow[];
  /** pr↔pr minus public↔public, medians, in RTTs (first calls, later calls) and what the bounds differ by. */
  readonly target: { readonly firstRtts: number; readonly laterRtts: number; readonly firstBoundRtts: number; readonly laterBoundRtts: number } | undefined;
}

export function summarise(r: NatBenchResult): NatSummary {
  const rtt = 2 * r.options.delayMs;
  const host = (name: string): BoundHost => {
    const h = r.hosts.find((x) => x.name === name);
    if (h === undefined) throw new Error(`unknown host ${name}`);
    return h;
  };
  const joins: JoinRow[] = r.hosts
    .filter((h) => h.name !== 'boot')
    .map((h) => {
      // restarts (all the others joined) when there are some, else whatever there is
      const all = r.joins.filter((j) => j.peer === h.name);
      const full = all.filter((j) => j.round > 1);
      const xs = full.length > 0 ? full : all;
      const b = joinBound(h);
      return {
        peer: h.name,
        nat: h.nat,
        total: spread(xs.map((j) => j.totalMs)),
        beforeJoining: spread(xs.map((j) => j.beforeJoiningMs)),
        joining: spread(xs.map((j) => j.joiningMs)),
        n: xs.length,
        boundMs: (b.beforeJoining.rtts + b.joining.rtts) * rtt,
        boundJoiningMs: b.joining.rtts * rtt,
        counted: `${b.beforeJoining.counted}; ${b.joining.counted}`,
      };
    });
  const fetches: FetchRow[] = r.hosts.map((h) => {
    const xs = r.fetches.filter((f) => f.peer === h.name);
    const bounds = xs.map((f) => fetchBound(h, host(f.responsible === '?' ? h.name : f.responsible)).rtts * rtt);
    return {
      peer: h.name,
      nat: h.nat,
      n: xs.length,
      median: spread(xs.map((f) => f.ms)).median,
      p90: percentile(xs.map((f) => f.ms), 0.9),
      boundMedian: spread(bounds).median,
      excessMedian: spread(xs.map((f, i) => f.ms - (bounds[i] ?? 0))).median,
      local: bounds.filter((b) => b === 0).length,
      hops: (() => {
        const mine = r.hops.filter((x) => x.peer === h.name);
        const hs = mine.map((x) => x.hops);
        return { median: spread(hs).median, max: hs.length === 0 ? 0 : Math.max(...hs), n: hs.length, pingMedianMs: spread(mine.map((x) => x.ms)).median };
      })(),
    };
  });
  const calls: CallRow[] = r.pairs.map((p) => {
    const caller = host(p.caller);
    const callee = host(p.callee);
    const mine = r.calls.filter((c) => c.pair === p.label);
    const ok = (c: (typeof mine)[number]): boolean => c.status === 200 && c.ringMs !== undefined;
    const first = mine.filter((c) => c.first && ok(c));
    const later = mine.filter((c) => !c.first && ok(c));
    const chans = r.channels.filter((c) => c.pair === p.label);
    const pairCounts = new Map<string, number>();
    for (const c of chans) pairCounts.set(c.pairTypes ?? 'none', (pairCounts.get(c.pairTypes ?? 'none') ?? 0) + 1);
    const fb = first.map((c) => firstCallBound(caller, callee, host(c.aorHolder === '?' ? p.caller : c.aorHolder)));
    const lb = later.map((c) => laterCallBound(caller, callee, host(c.aorHolder === '?' ? p.caller : c.aorHolder)));
    const appAttach: number[] = [];
    for (const c of first) {
      const laterOfRound = later.filter((x) => x.round === c.round).map((x) => x.ringMs ?? 0);
      const setup = chans.find((x) => x.round === c.round)?.setupMs;
      if (laterOfRound.length > 0 && setup !== undefined) appAttach.push((c.ringMs ?? 0) - spread(laterOfRound).median - setup);
    }
    const setups = chans.map((c) => c.setupMs).filter((x): x is number => x !== undefined);
    const distinct = (xs: readonly string[]): string => [...new Set(xs)].join(' / ');
    return {
      pair: p.label,
      caller: p.caller,
      callee: p.callee,
      pathRtts: pathRtts(caller, callee),
      first: { ...spread(first.map((c) => c.ringMs ?? 0)), n: first.length },
      firstBound: spread(fb.map((b) => b.rtts * rtt)),
      firstCounted: distinct(fb.map((b) => b.counted)),
      later: { ...spread(later.map((c) => c.ringMs ?? 0)), n: later.length, p90: percentile(later.map((c) => c.ringMs ?? 0), 0.9) },
      laterBound: spread(lb.map((b) => b.rtts * rtt)),
      laterCounted: distinct(lb.map((b) => b.counted)),
      failed: mine.filter((c) => !ok(c)).length,
      channelPairs: [...pairCounts].map(([k, v]) => `${k} ×${v}`).join(', '),
      setup: { ...spread(setups), n: setups.length },
      checkRtt: spread(chans.map((c) => c.checkRttMs).filter((x): x is number => x !== undefined)),
      appAttachEstimate: spread(appAttach),
    };
  });
  const pub = calls.find((c) => c.caller === 'pub2' && c.callee === 'boot');
  const pr = calls.find((c) => c.caller === 'pr1' && c.callee === 'pr2');
  const target =
    pub === undefined || pr === undefined || pub.first.n === 0 || pr.first.n === 0
      ? undefined
      : {
          firstRtts: (pr.first.median - pub.first.median) / rtt,
          laterRtts: (pr.later.median - pub.later.median) / rtt,
          firstBoundRtts: (pr.firstBound.median - pub.firstBound.median) / rtt,
          laterBoundRtts: (pr.laterBound.median - pub.laterBound.median) / rtt,
        };
  return { rttMs: rtt, joins, fetches, calls, target };
}

/** Nearest-rank percentile (0 for no values). */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
}
