/**
 * The presence benchmark's arithmetic, pure: a fan-out round's latencies summed up (median, the
 * last watcher reached), the rounds summed up (medians over rounds and their spread), per-second
 * rates from counters sampled once a second, and CPU time from /proc/<pid>/stat lines.
 */
import { spread, type Spread } from '../sip/rate-search.js';

/** One watcher's latency in a fan-out round: ms from the PUBLISH sent to its first NOTIFY with the new state. */
export interface WatcherLatency {
  /** The watcher subscribed through the peer where the presentity publishes (no overlay in between). */
  readonly samePeer: boolean;
  /** undefined: no NOTIFY with the new state within the round's bound. */
  readonly ms: number | undefined;
}

export interface RoundSummary {
  readonly watchers: number;
  readonly reached: number;
  /** Median over the watchers reached (0 when none). */
  readonly medianMs: number;
  /** When the last watcher was reached; undefined when some were not. */
  readonly lastMs: number | undefined;
  /** Medians of the watchers at the presentity's own peer and of the others (undefined: none of that kind). */
  readonly samePeerMedianMs: number | undefined;
  readonly otherPeersMedianMs: number | undefined;
}

export function summariseRound(latencies: readonly WatcherLatency[]): RoundSummary {
  const reached = latencies.filter((l): l is { samePeer: boolean; ms: number } => l.ms !== undefined);
  const ms = reached.map((l) => l.ms);
  const med = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : spread(xs).median);
  return {
    watchers: latencies.length,
    reached: reached.length,
    medianMs: med(ms) ?? 0,
    lastMs: reached.length === latencies.length && reached.length > 0 ? Math.max(...ms) : undefined,
    samePeerMedianMs: med(reached.filter((l) => l.samePeer).map((l) => l.ms)),
    otherPeersMedianMs: med(reached.filter((l) => !l.samePeer).map((l) => l.ms)),
  };
}

export interface RoundsSummary {
  readonly rounds: number;
  /** Rounds where every watcher was reached. */
  readonly complete: number;
  /** Over rounds: each round's median. */
  readonly median: Spread;
  /** Over complete rounds: each round's last watcher. */
  readonly last: Spread;
  readonly samePeerMedian: Spread | undefined;
  readonly otherPeersMedian: Spread | undefined;
  /** Watchers never reached, all rounds together. */
  readonly missed: number;
}

export function summariseRounds(rounds: readonly RoundSummary[]): RoundsSummary {
  const defined = (xs: ReadonlyArray<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);
  const withReached = rounds.filter((r) => r.reached > 0);
  const same = defined(rounds.map((r) => r.samePeerMedianMs));
  const other = defined(rounds.map((r) => r.otherPeersMedianMs));
  return {
    rounds: rounds.length,
    complete: rounds.filter((r) => r.lastMs !== undefined).length,
    median: spread(withReached.map((r) => r.medianMs)),
    last: spread(defined(rounds.map((r) => r.lastMs))),
    samePeerMedian: same.length === 0 ? undefined : spread(same),
    otherPeersMedian: other.length === 0 ? undefined : spread(other),
    missed: rounds.reduce((a, r) => a + r.watchers - r.reached, 0),
  };
}

/** A counter read at known times (ms, any monotonic clock). */
export interface CounterSample {
  readonly atMs: number;
  readonly value: number;
}

/** The rate between consecutive samples, per second (samples in time order; intervals of 0 ms left out). */
export function ratesPerSecond(samples: readonly CounterSample[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = b.atMs - a.atMs;
    if (dt > 0) out.push(((b.value - a.value) * 1000) / dt);
  }
  return out;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
export const CLOCK_TICKS_PER_S = 100;

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** Process group. */
  readonly pgrp: number;
  /** utime + stime, ms. */
  readonly cpuMs: number;
}

/** One /proc/<pid>/stat line (the command name, field 2, is in parentheses and may hold spaces); undefined if unreadable. */
export function parseProcStat(line: string): ProcStat | undefined {
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(line.slice(0, open));
  // fields after ')' start with field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15
  const f = line.slice(close + 2).split(' ');
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (![pid, ppid, pgrp, utime, stime].every(Number.isFinite) || f[12] === undefined) return undefined;
  return { pid, ppid, pgrp, cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_S };
}

/** CPU time of every process of the given process groups together, ms. */
export function groupsCpuMs(stats: readonly ProcStat[], groups: ReadonlySet<number>): number {
  let ms = 0;
  for (const s of stats) if (groups.has(s.pgrp)) ms += s.cpuMs;
  return ms;
}

export interface StepResult {
  /** Repetition of the rate ladder (1, 2, …). */
  readonly rep: number;
  /** PUBLISH/s offered (slots of the schedule, round-robin over the presentities). */
  readonly rate: number;
  readonly durationS: number;
  readonly offered: number;
  readonly sent: number;
  /** Slots skipped because the presentity's previous PUBLISH was still unanswered. */
  readonly skippedBusy: number;
  readonly ok: number;
  /** Final statuses other than 200 (408: no answer in time). */
  readonly failed: Readonly<Record<string, number>>;
  /** ok / durationS, and over the step's 1-second samples. */
  readonly okPerS: number;
  readonly okPerSecond: Spread;
  /** PUBLISH → 200, ms. */
  readonly publishMs: Spread;
  readonly publishP90Ms: number;
  /** NOTIFYs received during the step, per second (in order, retransmissions left out), and over its 1-second samples. */
  readonly notifiesPerS: number;
  readonly notifiesPerSecond: Spread;
  /** New NOTIFYs from the step's start to the end of the settling, per PUBLISH answered 200 and watcher of its presentity (1: none coalesced). */
  readonly notifiesPerChange: number;
  /** Watchers on their presentity's last state (answered 200) at the end of the settling, and how long after the last answer all were (undefined: not within settleMs). */
  readonly converged: number;
  readonly convergedAfterMs: number | undefined;
  /** CPU of the servers (all their processes) and of this process during the step, in cores (1 = one core busy). */
  readonly serverCores: number;
  readonly generatorCores: number;
  /** This process's event-loop delay during the step, ms (its timers and datagrams wait that long). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Machine-wide UdpRcvbufErrors during the step (undefined: nstat missing). */
  readonly udpRcvbufErrors: number | undefined;
}

/** The repetitions of one offered rate summed up: medians with min–max, totals, the worst convergence. */
export interface RateSummary {
  readonly rate: number;
  readonly reps: number;
  readonly okPerS: Spread;
  readonly notifiesPerS: Spread;
  /** Each repetition's median and p90 PUBLISH → 200, ms. */
  readonly publishMedianMs: Spread;
  readonly publishP90Ms: Spread;
  readonly notifiesPerChange: Spread;
  readonly offered: number;
  readonly skippedBusy: number;
  /** Failed PUBLISHes by status, all repetitions. */
  readonly failed: Readonly<Record<string, number>>;
  /** The fewest watchers on the last state after a repetition, and the repetitions where all were (their times, ms). */
  readonly convergedMin: number;
  readonly convergedAfterMs: Spread | undefined;
  readonly notConverged: number;
  readonly serverCores: Spread;
  readonly generatorCores: Spread;
  /** Largest p99 event-loop delay of the generator over the repetitions, ms. */
  readonly loopDelayP99MaxMs: number;
  /** UDP receive-buffer drops, all repetitions (undefined: not read). */
  readonly udpRcvbufErrors: number | undefined;
}

/** One summary per offered rate, in the order the rates first appear. */
export function summariseSteps(steps: readonly StepResult[]): RateSummary[] {
  const rates = [...new Set(steps.map((s) => s.rate))];
  return rates.map((rate) => {
    const xs = steps.filter((s) => s.rate === rate);
    const failed: Record<string, number> = {};
    for (const x of xs) for (const [status, n] of Object.entries(x.failed)) failed[status] = (failed[status] ?? 0) + n;
    const converged = xs.map((x) => x.convergedAfterMs).filter((v): v is number => v !== undefined);
    const udp = xs.map((x) => x.udpRcvbufErrors);
    return {
      rate,
      reps: xs.length,
      okPerS: spread(xs.map((x) => x.okPerS)),
      notifiesPerS: spread(xs.map((x) => x.notifiesPerS)),
      publishMedianMs: spread(xs.filter((x) => x.ok > 0).map((x) => x.publishMs.median)),
      publishP90Ms: spread(xs.filter((x) => x.ok > 0).map((x) => x.publishP90Ms)),
      notifiesPerChange: spread(xs.map((x) => x.notifiesPerChange)),
      offered: xs.reduce((a, x) => a + x.offered, 0),
      skippedBusy: xs.reduce((a, x) => a + x.skippedBusy, 0),
      failed,
      convergedMin: Math.min(...xs.map((x) => x.converged)),
      convergedAfterMs: converged.length === 0 ? undefined : spread(converged),
      notConverged: xs.length - converged.length,
      serverCores: spread(xs.map((x) => x.serverCores)),
      generatorCores: spread(xs.map((x) => x.generatorCores)),
      loopDelayP99MaxMs: Math.max(0, ...xs.map((x) => x.loopDelayP99Ms)),
      udpRcvbufErrors: udp.some((u) => u === undefined) ? undefined : udp.reduce((a: number, u) => a + (u ?? 0), 0),
    };
  });
}
