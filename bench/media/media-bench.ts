/**
 * `npm run bench -- media`: how many packets per second one media relay forwards on one CPU core with
 * less than 0.1 % loss — a p2psip peer with `--media relay` next to rtpengine-daemon in userspace —
 * under the same traffic: N concurrent G.711 calls, each 172-byte RTP packets at 50 pps in both
 * directions (100·N packets/s into the relay), paced evenly by bench/media/rtp-blast.c on the other
 * cores. N is searched upward (doubling, then bisecting) until loss exceeds 0.1 %; repeated, median and
 * spread. The generator's own ceiling (no relay) is measured in the same run.
 */
import { availableParallelism } from 'node:os';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { cpuJiffies } from '../../harness/rtp-relay-status.js';
import type { MediaStatus } from '../../harness/rtp-relay-status.js';
import { searchAround, searchMaxRate, spread } from '../sip/rate-search.js';
import type { Spread, TrialResult } from '../sip/rate-search.js';
import { load1 } from '../sip/system-info.js';
import { compileRtpBlast, RtpBlast } from './rtp-blast.js';
import type { BlastTotals, TrafficOptions } from './rtp-blast.js';
import { startSut } from './media-sut.js';
import type { MediaSut, SutKind } from './media-sut.js';

export interface MediaBenchOptions {
  readonly suts: readonly SutKind[];
  /** Seconds of measured traffic per trial (after a 1 s warm-up). */
  readonly durationS: number;
  readonly reps: number;
  /** Wall-clock budget; repetitions that would start past it are skipped. */
  readonly budgetS: number;
  /** CPU of the relay; default the last one. */
  readonly relayCpu?: string;
  /** CPUs of the generator shards; default every other CPU (at most 4). */
  readonly generatorCpus?: readonly string[];
  /** Highest call count tried. Default 4000 (400k packets/s; p2psip: what its port range holds). */
  readonly maxCalls?: number;
  readonly log: (line: string) => void;
}

/** < 0.1 % loss. */
export const MAX_LOSS = 0.001;
/** The generator must send at ≥ 99 % of the offered pace for a trial to say anything about the relay. */
export const MIN_PACE = 0.99;
/**
 * G.711 at 20 ms; sockets connected (symmetric RTP: a relay must answer from the port it is sent to);
 * a packet more than 100 ms late is as good as lost to a phone (its jitter buffer has moved on).
 */
export const TRAFFIC: Omit<TrafficOptions, 'measureMs'> = { warmupMs: 1000, ppsPerEndpoint: 50, payloadBytes: 160, connect: true, lateMs: 100 };
/**
 * Relay media ports. p2psip: below the harness's port ranges (20000-31999), above its four-digit SIP
 * ports, apart from the media-load test's (19000-19999). rtpengine takes 4 ports a call (an RTP/RTCP pair
 * per side) and goes further than that range holds, so it gets the ephemeral range (32768-60999 here):
 * it skips a port someone holds, and the kernel hands nobody a port rtpengine holds.
 */
export const RELAY_PORTS: Readonly<Record<'p2psip' | 'rtpengine', readonly [number, number]>> = {
  p2psip: [10000, 18999],
  rtpengine: [33000, 60999],
};
/** The calls a range holds at 4 ports a call (p2psip: two pairs; rtpengine: two pairs). */
export function maxCallsByPorts(range: readonly [number, number]): number {
  return Math.floor((range[1] - range[0] + 1 - 8) / 4);
}
/** How far the generator's own ceiling (no relay) is searched. */
export const DIRECT_MAX_CALLS = 4000;

export interface MediaTrial {
  readonly sut: SutKind;
  readonly calls: number;
  readonly offeredPps: number;
  readonly achievedPps: number;
  readonly sent: number;
  readonly received: number;
  /** Not delivered within TRAFFIC.lateMs (never, or late): what the pass rule judges. */
  readonly lossRatio: number;
  /** Never delivered (within the generator's 1 s drain). */
  readonly rawLossRatio: number;
  readonly late: number;
  readonly pass: boolean;
  /** Why it failed (or why it says nothing about the relay). */
  readonly note?: string;
  /** The generator could not keep the pace or dropped at its own sockets: not the relay's fault. */
  readonly generatorLimited: boolean;
  readonly misrouted: number;
  readonly rxDropsAtGenerator: number;
  /** Kernel drops at the relay's sockets during the trial. */
  readonly relaySocketDrops: number;
  /** Relay process CPU time (user + system) per second of the measurement window, fraction of one core. */
  readonly relayCpu: number | undefined;
  /** The relay's core busy in the measurement window (/proc/stat, softirq included: the kernel's packet work). */
  readonly relayCoreBusy: number | undefined;
  readonly generatorCpuSeconds: number;
  /** One-way transit generator → relay → generator, µs. */
  readonly latencyUs: BlastTotals['latencyUs'];
  readonly setupMs: number;
  readonly teardownMs: number;
  readonly teardownFailed: number;
  /** Relay ports still bound after the teardown (-1: not applicable). */
  readonly portsLeft: number;
  /** Relay RSS before the calls, and with them (the larger of: after the set-up, after the traffic), bytes. */
  readonly rssIdle: number | undefined;
  readonly rssWithCalls: number | undefined;
  /** p2psip /api/status media counters after the traffic (before the teardown). */
  readonly media?: MediaStatus;
  readonly wallMs: number;
}

export interface Repetition {
  readonly maxCalls: number;
  readonly maxPps: number;
  readonly limit: 'loss' | 'generator' | 'search-cap' | 'error';
  readonly trials: readonly MediaTrial[];
}

export interface SutResult {
  readonly sut: SutKind;
  readonly description: string;
  readonly repetitions: readonly Repetition[];
  readonly maxCalls: Spread;
  readonly maxPps: Spread;
  /** At the median's trial: relay CPU, latency, memory per call. */
  readonly atMax?: MediaTrial;
  readonly rssPerCallBytes?: number;
  readonly error?: string;
  readonly wallMs: number;
}

export interface MediaBenchResult {
  readonly startedAt: string;
  readonly durationS: number;
  readonly reps: number;
  readonly relayCpu: string;
  readonly generatorCpus: readonly string[];
  readonly maxLoss: number;
  readonly traffic: typeof TRAFFIC;
  readonly suts: readonly SutResult[];
  readonly load1Before: number;
  readonly load1After: number;
  readonly wallMs: number;
}

export async function runMediaBench(opts: MediaBenchOptions): Promise<MediaBenchResult> {
  const started = Date.now();
  const cpus = availableParallelism();
  const relayCpu = opts.relayCpu ?? String(cpus - 1);
  const generatorCpus =
    opts.generatorCpus ?? Array.from({ length: cpus }, (_, i) => String(i)).filter((c) => c !== relayCpu).slice(0, 4);
  if (generatorCpus.length === 0) throw new Error('no CPU left for the generator: the relay needs one core and the generator another');
  const load1Before = load1();
  const suts: SutResult[] = [];
  await withScope(async (scope) => {
    const binary = compileRtpBlast(scope.tempDir('rtp-blast-bin-'));
    for (const kind of opts.suts) {
      const budgetLeftS = opts.budgetS - (Date.now() - started) / 1000;
      suts.push(await benchSut(scope, kind, binary, relayCpu, generatorCpus, opts, budgetLeftS));
    }
  });
  return {
    startedAt: new Date(started).toISOString(),
    durationS: opts.durationS,
    reps: opts.reps,
    relayCpu,
    generatorCpus,
    maxLoss: MAX_LOSS,
    traffic: TRAFFIC,
    suts,
    load1Before,
    load1After: load1(),
    wallMs: Date.now() - started,
  };
}

async function benchSut(
  scope: ProcessScope,
  kind: SutKind,
  binary: string,
  relayCpu: string,
  generatorCpus: readonly string[],
  opts: MediaBenchOptions,
  budgetS: number,
): Promise<SutResult> {
  const started = Date.now();
  opts.log(`== ${kind}`);
  // the generator's ceiling is searched further than the relays' (4,000 calls: 8,000 sockets)
  const ports = kind === 'direct' ? RELAY_PORTS.p2psip : RELAY_PORTS[kind];
  const maxCalls = kind === 'direct' ? Math.max(opts.maxCalls ?? 4000, DIRECT_MAX_CALLS) : Math.min(opts.maxCalls ?? 4000, maxCallsByPorts(ports));
  let sut: MediaSut;
  try {
    sut = await startSut(scope, kind, { cpu: relayCpu, ports, lifetimeMs: (budgetS + 120) * 1000, log: opts.log });
  } catch (err) {
    const error = (err as Error).message;
    opts.log(`   could not start ${kind}: ${error.split('\n')[0] ?? ''}`);
    return { sut: kind, description: '', repetitions: [], maxCalls: spread([]), maxPps: spread([]), error, wallMs: Date.now() - started };
  }
  const repetitions: Repetition[] = [];
  let error: string | undefined;
  try {
    const all: MediaTrial[] = [];
    const runner = async (calls: number): Promise<TrialResult> => {
      const t = await runTrial(scope, sut, binary, calls, relayCpu, generatorCpus, opts.durationS);
      all.push(t);
      opts.log(
        `   ${kind} ${String(calls).padStart(5)} calls ${fmtPps(t.offeredPps)} pps: loss ${(t.lossRatio * 100).toFixed(3)} %` +
          `${t.pass ? ' pass' : ` FAIL (${t.note ?? ''})`}; relay CPU ${t.relayCpu === undefined ? '-' : `${Math.round(t.relayCpu * 100)} %`}` +
          ` (core ${t.relayCoreBusy === undefined ? '-' : `${Math.round(t.relayCoreBusy * 100)} %`})` +
          `, transit p50/p99 ${t.latencyUs.p50}/${t.latencyUs.p99} µs, relay socket drops ${t.relaySocketDrops}, ports left ${t.portsLeft}`,
      );
      return {
        rate: calls,
        attempted: t.sent,
        succeeded: t.received,
        failed: t.sent - t.received,
        failureRatio: t.lossRatio,
        achievedPerS: t.achievedPps / 100,
        retransmissions: 0,
        rcvbufErrors: t.relaySocketDrops,
        wallMs: t.wallMs,
        pass: t.pass,
        ...(t.note === undefined ? {} : { note: t.note }),
      };
    };
    let seed: number | undefined;
    // the generator's ceiling needs no spread: one search
    const reps = kind === 'direct' ? 1 : opts.reps;
    for (let rep = 0; rep < reps; rep++) {
      if (rep > 0 && (Date.now() - started) / 1000 > budgetS) {
        opts.log(`   budget spent: ${rep} repetition(s)`);
        break;
      }
      const before = all.length;
      const search =
        seed === undefined
          ? await searchMaxRate(runner, { start: 100, min: 10, max: maxCalls, refineSteps: 3, maxTrials: 12 })
          : await searchAround(runner, seed, { factor: 2 ** 0.125, maxSteps: 4, min: 10, max: maxCalls });
      const trials = all.slice(before);
      const best = search.best;
      const bestTrial = best === undefined ? undefined : trials.find((t) => t.calls === best.rate && t.pass);
      const failedAbove = trials.find((t) => !t.pass && t.calls > (best?.rate ?? 0));
      const limit: Repetition['limit'] =
        failedAbove === undefined ? 'search-cap' : failedAbove.generatorLimited ? 'generator' : 'loss';
      repetitions.push({ maxCalls: best?.rate ?? 0, maxPps: bestTrial?.offeredPps ?? 0, limit, trials });
      seed ??= best?.rate;
      if (seed === undefined) break;
    }
  } catch (err) {
    error = (err as Error).message;
    opts.log(`   ${kind} failed: ${error.split('\n')[0] ?? ''}`);
  } finally {
    await sut.stop();
  }
  const maxCallsSpread = spread(repetitions.map((r) => r.maxCalls));
  const medianRep = [...repetitions].sort((a, b) => a.maxCalls - b.maxCalls)[Math.floor((repetitions.length - 1) / 2)];
  const atMax = medianRep?.trials.find((t) => t.calls === medianRep.maxCalls && t.pass);
  const rssPerCall =
    atMax?.rssWithCalls !== undefined && atMax.rssIdle !== undefined && atMax.calls > 0 ? (atMax.rssWithCalls - atMax.rssIdle) / atMax.calls : undefined;
  return {
    sut: kind,
    description: sut.description,
    repetitions,
    maxCalls: maxCallsSpread,
    maxPps: spread(repetitions.map((r) => r.maxPps)),
    ...(atMax === undefined ? {} : { atMax }),
    ...(rssPerCall === undefined ? {} : { rssPerCallBytes: rssPerCall }),
    ...(error === undefined ? {} : { error }),
    wallMs: Date.now() - started,
  };
}

/** One trial: bind the generator's endpoints, set the calls up, blast, count, tear down. */
async function runTrial(
  scope: ProcessScope,
  sut: MediaSut,
  binary: string,
  calls: number,
  relayCpu: string,
  generatorCpus: readonly string[],
  durationS: number,
): Promise<MediaTrial> {
  const started = Date.now();
  const traffic: TrafficOptions = { ...TRAFFIC, measureMs: durationS * 1000 };
  const blast = await RtpBlast.start(scope, binary, calls, generatorCpus, (durationS + 60) * 1000);
  try {
    const rssIdle = sut.rssBytes();
    let set: Awaited<ReturnType<MediaSut['setup']>>;
    try {
      set = await sut.setup(blast.endpoints());
    } catch (err) {
      const down = await sut.teardown();
      return failedSetup(sut.kind, calls, `call setup failed: ${(err as Error).message.split('\n')[0] ?? ''}`, down.portsLeft, Date.now() - started);
    }
    const { destinations, setupMs } = set;
    const rssWithCalls = sut.rssBytes();
    const drops0 = sut.socketDrops();
    // relay CPU sampled inside the measurement window (from ~50 ms after the warm-up to ~80 ms before its end)
    const sample = (): { at: number; cpu: number | undefined; core: ReturnType<typeof cpuJiffies> } => ({
      at: performance.now(),
      cpu: sut.cpuSeconds(),
      core: sut.kind === 'direct' ? undefined : cpuJiffies(relayCpu),
    });
    const running = blast.run(destinations, traffic);
    running.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
    await sleep(traffic.warmupMs + 70);
    const s0 = sample();
    await sleep(Math.max(100, traffic.measureMs - 100));
    const s1 = sample();
    const totals = await running;
    const windowS = (s1.at - s0.at) / 1000;
    const relaySocketDrops = sut.socketDrops() - drops0;
    const rssAfterTraffic = sut.rssBytes();
    const media = await sut.mediaStatus();
    const down = await sut.teardown();
    const generatorLimited = totals.achievedPps < MIN_PACE * totals.offeredPps || totals.rxDropsAtGenerator > 0 || totals.sendErrors > 0;
    const lossOk = totals.lossRatio < MAX_LOSS;
    const pass = lossOk && !generatorLimited && totals.misrouted === 0;
    const note = pass
      ? undefined
      : [
          lossOk ? undefined : `lost or > ${TRAFFIC.lateMs ?? 100} ms late ${(totals.lossRatio * 100).toFixed(3)} % ≥ ${MAX_LOSS * 100} % (never arrived ${(totals.rawLossRatio * 100).toFixed(3)} %)`,
          totals.misrouted > 0 ? `${totals.misrouted} misrouted` : undefined,
          generatorLimited
            ? `generator limited: ${fmtPps(totals.achievedPps)} of ${fmtPps(totals.offeredPps)} pps sent, ${totals.rxDropsAtGenerator} dropped at its sockets, ${totals.sendErrors} send errors`
            : undefined,
        ]
          .filter((s) => s !== undefined)
          .join('; ');
    return {
      sut: sut.kind,
      calls,
      offeredPps: totals.offeredPps,
      achievedPps: totals.achievedPps,
      sent: totals.sent,
      received: totals.received,
      lossRatio: totals.lossRatio,
      rawLossRatio: totals.rawLossRatio,
      late: totals.late,
      pass,
      ...(note === undefined ? {} : { note }),
      generatorLimited,
      misrouted: totals.misrouted,
      rxDropsAtGenerator: totals.rxDropsAtGenerator,
      relaySocketDrops,
      relayCpu: s0.cpu === undefined || s1.cpu === undefined ? undefined : (s1.cpu - s0.cpu) / windowS,
      relayCoreBusy: s0.core === undefined || s1.core === undefined || s1.core.total === s0.core.total ? undefined : (s1.core.busy - s0.core.busy) / (s1.core.total - s0.core.total),
      generatorCpuSeconds: totals.generatorCpuSeconds,
      latencyUs: totals.latencyUs,
      setupMs: Math.round(setupMs),
      teardownMs: Math.round(down.teardownMs),
      teardownFailed: down.failed,
      portsLeft: down.portsLeft,
      rssIdle,
      rssWithCalls: rssAfterTraffic === undefined ? rssWithCalls : Math.max(rssAfterTraffic, rssWithCalls ?? 0),
      ...(media === undefined ? {} : { media }),
      wallMs: Date.now() - started,
    };
  } finally {
    await blast.stop();
  }
}

function failedSetup(sut: SutKind, calls: number, note: string, portsLeft: number, wallMs: number): MediaTrial {
  return {
    sut,
    calls,
    offeredPps: calls * 2 * TRAFFIC.ppsPerEndpoint,
    achievedPps: 0,
    sent: 0,
    received: 0,
    lossRatio: 1,
    rawLossRatio: 1,
    late: 0,
    pass: false,
    note,
    generatorLimited: false,
    misrouted: 0,
    rxDropsAtGenerator: 0,
    relaySocketDrops: 0,
    relayCpu: undefined,
    relayCoreBusy: undefined,
    generatorCpuSeconds: 0,
    latencyUs: { p50: -1, p99: -1, p999: -1, max: -1 },
    setupMs: 0,
    teardownMs: 0,
    teardownFailed: 0,
    portsLeft,
    rssIdle: undefined,
    rssWithCalls: undefined,
    wallMs,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function fmtPps(pps: number): string {
  return Math.round(pps).toLocaleString('en-US');
}
