/**
 * The NAT lab's delay line: harness/nat-lab/delay-switch.py (python3, stdlib only) run inside the
 * public namespace as a lab process, switching frames between the public ends of the lab's veths
 * with the segment's and each port's delay, jitter and loss (see the script's header). Before it
 * starts, the offloads of every veth end attached to it are turned off (`offload-off`): frames
 * captured from a veth with offloads on can carry partial checksums or be GSO super-frames, which
 * the switch would pass on broken.
 */
import { fileURLToPath } from 'node:url';
import type { BoundedProcess } from '../bounded-process.js';
import type { LabNamespace } from './lab-namespace.js';
import type { WanConditions } from './lab-types.js';
import { normalizeWan } from './wan-link.js';

/** The switch script. */
export const DELAY_SWITCH_PATH = fileURLToPath(new URL('./delay-switch.py', import.meta.url));

/** What the switch counts (printed at exit, or asked with stats()). */
export interface DelayLineCounters {
  /** Frames read from the ports (outgoing copies not counted). */
  readonly received: number;
  /** Frame copies written to a port. */
  readonly forwarded: number;
  /** Frames sent to every other port (unknown unicast, broadcast, multicast). */
  readonly flooded: number;
  readonly droppedLoss: number;
  readonly droppedQueueFull: number;
  readonly sendErrors: number;
  /** IPv4 frames with a wrong IP, TCP or UDP checksum (an offload left on): must stay 0. */
  readonly badChecksums: number;
  /** Most frames waiting at once. */
  readonly maxQueue: number;
  /** Latest release after a frame's due time, in ms (the switch's own timing error). */
  readonly maxLatenessMs: number;
  /** Frames released more than 1 ms / 10 ms after their due time. */
  readonly late1ms: number;
  readonly late10ms: number;
  readonly queued: number;
  readonly macs: number;
}

export interface DelayLineOptions {
  /** Conditions of the segment (every frame crossing it). */
  readonly segment: WanConditions;
  /** Seed of the loss and jitter draws. Default 1. */
  readonly seed?: number;
  /** Most frames waiting at once; more are dropped and counted. Default 10,000. */
  readonly limit?: number;
  /** The switch's lifetime bound. Default 1 h (it also stops when this process goes: end of its stdin). */
  readonly lifetimeMs?: number;
  /**
   * Run the switch under SCHED_FIFO (priority 10; else nice -15), so that other work on the machine
   * does not delay its releases. Default true. Its work is a few frames per ms at most.
   */
  readonly realtime?: boolean;
}

const START_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 5_000;

/** Turns off tx checksum, SG, TSO, GSO and GRO on `ifnames` inside `ns`; throws if one stays on. */
export async function disableOffloads(ns: LabNamespace, ifnames: readonly string[]): Promise<void> {
  if (ifnames.length === 0) return;
  const r = await ns.tryRun('python3', [DELAY_SWITCH_PATH, 'offload-off', ...ifnames]);
  if (r.code !== 0) throw new Error(`offload-off ${ifnames.join(' ')} in ${ns.label}: exit ${String(r.code)}: ${r.stdout.trim()} ${r.stderr.trim()}`);
}

export class DelayLine {
  readonly process: BoundedProcess;
  readonly ports: readonly string[];
  /** How the switch is scheduled: `fifo-10`, `nice-15` or `normal`. */
  sched = 'normal';
  #nextId = 0;
  #final: DelayLineCounters | undefined;

  private constructor(proc: BoundedProcess, ports: readonly string[]) {
    this.process = proc;
    this.ports = [...ports];
    proc.onLine((line) => {
      if (line.startsWith('counters ')) this.#final = JSON.parse(line.slice('counters '.length)) as DelayLineCounters;
    });
  }

  /** Starts the switch on `ports` of `ns` (their offloads must be off already) and waits until it is ready. */
  static async start(ns: LabNamespace, ports: readonly string[], opts: DelayLineOptions): Promise<DelayLine> {
    const seg = normalizeWan(opts.segment);
    const proc = ns.spawn({
      command: 'python3',
      name: `${ns.label}:delay-switch`,
      args: [
        DELAY_SWITCH_PATH,
        'serve',
        '--ports',
        ports.join(','),
        '--delay-ms',
        String(seg.delayMs),
        '--jitter-ms',
        String(seg.jitterMs),
        '--loss-percent',
        String(seg.lossPercent),
        '--seed',
        String(opts.seed ?? 1),
        '--limit',
        String(opts.limit ?? 10_000),
        ...(opts.realtime === false ? [] : ['--realtime']),
      ],
      lifetimeMs: opts.lifetimeMs ?? 3_600_000,
    });
    const line = new DelayLine(proc, ports);
    try {
      const ready = await proc.waitForLine(/^ready /, { timeoutMs: START_TIMEOUT_MS });
      line.sched = (JSON.parse(ready.slice('ready '.length)) as { sched?: string }).sched ?? 'normal';
    } catch (err) {
      await proc.stop('SIGTERM', 1000);
      throw new Error(`delay line did not start: ${(err as Error).message}\n${proc.tail(10)}`);
    }
    return line;
  }

  /** Sets the conditions of one port (`'*'`: the segment); resolves once the switch applies them. */
  async configure(port: string, cond: WanConditions): Promise<void> {
    const n = normalizeWan(cond);
    if (port !== '*' && !this.ports.includes(port)) throw new RangeError(`the delay line has no port ${port}`);
    const reply = await this.#command({ port, ...n });
    if (!reply.startsWith('ok ')) throw new Error(`delay line: ${reply}`);
  }

  /** The switch's counters now. */
  async stats(): Promise<DelayLineCounters> {
    const reply = await this.#command({ stats: true });
    const m = /^stats \d+ (.*)$/.exec(reply);
    if (m?.[1] === undefined) throw new Error(`delay line: ${reply}`);
    return JSON.parse(m[1]) as DelayLineCounters;
  }

  /** The counters the switch printed when it stopped (undefined while it runs). */
  get finalCounters(): DelayLineCounters | undefined {
    return this.#final;
  }

  /** Stops the switch; resolves with its last counters. */
  async stop(): Promise<DelayLineCounters | undefined> {
    await this.process.stop('SIGTERM', 2000);
    return this.#final;
  }

  async #command(msg: Record<string, unknown>): Promise<string> {
    const id = ++this.#nextId;
    const since = this.process.lineCount();
    this.process.write(`${JSON.stringify({ id, ...msg })}\n`);
    return this.process.waitForLine(new RegExp(`^(ok|error|stats) ${id}\\b`), { timeoutMs: COMMAND_TIMEOUT_MS, since });
  }
}
