/**
 * rtpengine-daemon (Debian's `rtpengine`) in userspace mode, as the media-relay reference: no kernel
 * forwarding table (`--table=-1`), in the foreground, on 127.0.0.1, controlled over its ng protocol
 * (rtpengine-ng.ts). Optionally pinned to CPU cores with `taskset` (every thread it starts inherits the
 * affinity). Started and stopped by PID through the ProcessScope (rtpengine runs under `timeout` in its
 * own process group, so nothing survives the run).
 */
import { join } from 'node:path';
import type { BoundedProcess } from './bounded-process.js';
import type { ProcessScope } from './process-scope.js';
import { NgClient } from './rtpengine-ng.js';

export interface RtpengineOptions {
  /** ng control port on 127.0.0.1 (UDP). */
  readonly ngPort: number;
  /** Media port range (inclusive). */
  readonly portMin: number;
  readonly portMax: number;
  /** Worker threads (`--num-threads`). Default 1. */
  readonly threads?: number;
  /** CPU list for `taskset -c` (e.g. "1"); undefined: not pinned. */
  readonly cpus?: string;
  readonly lifetimeMs: number;
  /** Seconds without media before a call is dropped (`--timeout`). Default 60. */
  readonly mediaTimeoutS?: number;
  /** Bound on the wait for the first ping answer. Default 10 s. */
  readonly readyTimeoutMs?: number;
}

export interface Rtpengine {
  readonly process: BoundedProcess;
  readonly ng: NgClient;
  /** The argument list (for reports). */
  readonly args: readonly string[];
  stop(): Promise<void>;
}

/** The rtpengine command line (without taskset). */
export function rtpengineArgs(opts: RtpengineOptions, pidFile: string): string[] {
  return [
    '--config-file=none',
    '--table=-1',
    '--foreground',
    '--log-stderr',
    '--log-level=4',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${opts.ngPort}`,
    `--port-min=${opts.portMin}`,
    `--port-max=${opts.portMax}`,
    `--num-threads=${opts.threads ?? 1}`,
    `--timeout=${opts.mediaTimeoutS ?? 60}`,
    '--delete-delay=0',
    `--pidfile=${pidFile}`,
  ];
}

/** Starts rtpengine and resolves once it answers an ng ping. */
export async function startRtpengine(scope: ProcessScope, opts: RtpengineOptions): Promise<Rtpengine> {
  const dir = scope.tempDir('rtpengine-');
  const args = rtpengineArgs(opts, join(dir, 'rtpengine.pid'));
  const proc = scope.spawn({
    command: opts.cpus === undefined ? 'rtpengine' : 'taskset',
    args: opts.cpus === undefined ? args : ['-c', opts.cpus, 'rtpengine', ...args],
    name: `rtpengine:${opts.ngPort}`,
    lifetimeMs: opts.lifetimeMs,
    maxLines: 2000,
  });
  const ng = await NgClient.open({ host: '127.0.0.1', port: opts.ngPort, timeoutMs: 1000 });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (proc.exitInfo !== undefined) {
      ng.close();
      throw new Error(`rtpengine exited while starting:\n${proc.tail()}`);
    }
    try {
      await ng.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        ng.close();
        await proc.stop();
        throw new Error(`rtpengine did not answer ng ping on 127.0.0.1:${opts.ngPort}: ${(err as Error).message}\n${proc.tail()}`);
      }
    }
  }
  return {
    process: proc,
    ng,
    args,
    async stop() {
      ng.close();
      await proc.stop('SIGTERM', 3000);
    },
  };
}
