/**
 * Drives bench/media/rtp-blast.c, the RTP generator and receiver of the media benchmark: compiles it
 * (cc -O2) once per run, starts one process per shard (calls split evenly, each shard pinned to its
 * own CPU with taskset), hands each its destinations and collects the counts. Endpoints 2i and 2i+1 of
 * a shard are the two phones of one call.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../harness/paths.js';
import type { BoundedProcess } from '../../harness/bounded-process.js';
import type { ProcessScope } from '../../harness/process-scope.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One shard's result line (see rtp-blast.c). */
export interface ShardResult {
  readonly endpoints: number;
  readonly ppsPerEndpoint: number;
  readonly payloadBytes: number;
  readonly measureMs: number;
  readonly warmupMs: number;
  /** Packets sent in the measurement window. */
  readonly sent: number;
  /** Of those, received by the other phone of their call. */
  readonly received: number;
  /** Every packet received (warm-up and drain included). */
  readonly receivedAll: number;
  readonly sendErrors: number;
  /** Received on another endpoint than the sender's call partner. */
  readonly misrouted: number;
  /** Not one of ours. */
  readonly foreign: number;
  readonly reordered: number;
  /** Measured packets that arrived, but later than lateMs after they were sent. */
  readonly late: number;
  readonly lateMs: number;
  /** Dropped by the kernel at the generator's own sockets (the receiver was the bottleneck). */
  readonly rxDropsAtGenerator: number;
  readonly streamsWithLoss: number;
  readonly worstStreamLoss: number;
  readonly sendsLateOver1ms: number;
  readonly maxSendLateUs: number;
  readonly cpuSeconds: number;
  /** One-way transit (send → kernel arrival at the receiving endpoint), µs. */
  readonly latencyUs: { readonly count: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number };
}

export interface BlastTotals {
  readonly calls: number;
  /** Offered packets per second (all endpoints, both directions). */
  readonly offeredPps: number;
  /** Sent in the window per second. */
  readonly achievedPps: number;
  readonly sent: number;
  readonly received: number;
  /** Measured packets that arrived later than TrafficOptions.lateMs. */
  readonly late: number;
  /** (sent - received + late) / sent: what a phone with a lateMs jitter buffer would miss. */
  readonly lossRatio: number;
  /** (sent - received) / sent: never arrived (within the 1 s drain). */
  readonly rawLossRatio: number;
  readonly sendErrors: number;
  readonly misrouted: number;
  readonly rxDropsAtGenerator: number;
  readonly sendsLateOver1ms: number;
  readonly streamsWithLoss: number;
  /** Worst shard's latency percentiles (µs). */
  readonly latencyUs: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
  readonly generatorCpuSeconds: number;
  readonly shards: readonly ShardResult[];
}

export interface TrafficOptions {
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Packets per second per endpoint (G.711 at 20 ms: 50). */
  readonly ppsPerEndpoint: number;
  /** RTP payload bytes (G.711 at 20 ms: 160, i.e. 172-byte RTP packets). */
  readonly payloadBytes: number;
  /** Connect each endpoint's socket to its destination (cheaper sends; only that address may answer). */
  readonly connect?: boolean;
  /** A packet arriving later than this after it was sent counts as late. Default 100 ms. */
  readonly lateMs?: number;
}

/** Compiles rtp-blast.c into `dir`; returns the binary's path. */
export function compileRtpBlast(dir: string): string {
  const out = join(dir, 'rtp-blast');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, join(REPO_ROOT, 'bench', 'media', 'rtp-blast.c')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return out;
}

interface Shard {
  readonly proc: BoundedProcess;
  readonly dir: string;
  readonly ports: readonly number[];
}

/** A set of bound generator endpoints for `calls` calls, waiting for their destinations. */
export class RtpBlast {
  private constructor(
    private readonly shards: readonly Shard[],
    readonly calls: number,
  ) {}

  /**
   * Starts the shards (calls spread over `cpus.length` processes, shard i pinned to cpus[i]; an empty
   * list: one unpinned shard) and waits until every endpoint is bound.
   */
  static async start(scope: ProcessScope, binary: string, calls: number, cpus: readonly string[], lifetimeMs: number): Promise<RtpBlast> {
    if (!(Number.isInteger(calls) && calls >= 1 && calls <= 9000)) throw new RangeError(`calls must be 1..9000, not ${calls}`);
    const n = Math.max(1, Math.min(cpus.length, calls));
    const shards: Shard[] = [];
    for (let s = 0; s < n; s++) {
      const shardCalls = Math.floor(calls / n) + (s < calls % n ? 1 : 0);
      const dir = scope.tempDir('rtp-blast-');
      const portsFile = join(dir, 'ports');
      const cpu = cpus[s];
      const args = [binary, String(shardCalls * 2), portsFile];
      const proc = scope.spawn({
        command: cpu === undefined ? binary : 'taskset',
        args: cpu === undefined ? args.slice(1) : ['-c', cpu, ...args],
        name: `rtp-blast:${s}`,
        lifetimeMs,
        maxLines: 200,
      });
      shards.push({ proc, dir, ports: [] });
    }
    const ready: Shard[] = [];
    for (const sh of shards) {
      await sh.proc.waitForLine(/^READY /, { timeoutMs: 20_000 });
      const ports = readFileSync(join(sh.dir, 'ports'), 'utf8').trim().split('\n').map(Number);
      ready.push({ ...sh, ports });
    }
    return new RtpBlast(ready, calls);
  }

  /** Every endpoint, shard by shard: endpoints 2i and 2i+1 are the caller and callee of call i. */
  endpoints(): HostPort[] {
    return this.shards.flatMap((s) => s.ports.map((port) => ({ host: '127.0.0.1', port })));
  }

  /**
   * Sends to `destinations` (one per endpoint, same order as endpoints()) with an even pace for
   * warm-up + measurement, and resolves with the counts of every shard. Can run once.
   */
  async run(destinations: readonly HostPort[], t: TrafficOptions): Promise<BlastTotals> {
    const total = this.shards.reduce((n, s) => n + s.ports.length, 0);
    if (destinations.length !== total) throw new Error(`${destinations.length} destinations for ${total} endpoints`);
    let offset = 0;
    const results = this.shards.map((sh) => {
      const mine = destinations.slice(offset, offset + sh.ports.length);
      offset += sh.ports.length;
      const destFile = join(sh.dir, 'dest');
      writeFileSync(destFile, mine.map((d) => `${d.host} ${d.port}\n`).join(''));
      const since = sh.proc.lineCount();
      sh.proc.write(`GO ${destFile} ${t.warmupMs} ${t.measureMs} ${t.ppsPerEndpoint} ${t.payloadBytes} ${t.connect === true ? 1 : 0} ${t.lateMs ?? 100}\n`);
      return sh.proc.waitForLine(/^RESULT /, { timeoutMs: t.warmupMs + t.measureMs + 20_000, since });
    });
    const shards = (await Promise.all(results)).map((line) => JSON.parse(line.slice('RESULT '.length)) as ShardResult);
    await Promise.all(this.shards.map((s) => s.proc.exited));
    const sum = (f: (r: ShardResult) => number): number => shards.reduce((n, r) => n + f(r), 0);
    const sent = sum((r) => r.sent);
    const received = sum((r) => r.received);
    const late = sum((r) => r.late);
    const worst = (f: (r: ShardResult) => number): number => Math.max(...shards.map(f));
    return {
      calls: this.calls,
      offeredPps: total * t.ppsPerEndpoint,
      achievedPps: sent / (t.measureMs / 1000),
      sent,
      received,
      late,
      lossRatio: sent === 0 ? 1 : Math.max(0, sent - received + late) / sent,
      rawLossRatio: sent === 0 ? 1 : Math.max(0, sent - received) / sent,
      sendErrors: sum((r) => r.sendErrors),
      misrouted: sum((r) => r.misrouted),
      rxDropsAtGenerator: sum((r) => r.rxDropsAtGenerator),
      sendsLateOver1ms: sum((r) => r.sendsLateOver1ms),
      streamsWithLoss: sum((r) => r.streamsWithLoss),
      latencyUs: {
        p50: worst((r) => r.latencyUs.p50),
        p99: worst((r) => r.latencyUs.p99),
        p999: worst((r) => r.latencyUs.p999),
        max: worst((r) => r.latencyUs.max),
      },
      generatorCpuSeconds: sum((r) => r.cpuSeconds),
      shards,
    };
  }

  /** Stops any shard still running. */
  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.proc.stop('SIGTERM', 1000)));
  }
}
