/**
 * Overload as the platform sees it. The signal that matters for a UDP proxy is the backlog of
 * datagrams waiting in the kernel for our sockets: while it stays near zero the peer keeps up,
 * however busy it is; when it grows, every queued request ages towards its client's
 * retransmission timer and the load snowballs. Linux reports it per socket in /proc/net/udp
 * (rx_queue); elsewhere that file is absent and only the heap guard applies.
 * Hysteresis keeps the state from flapping.
 */
import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import type { LoadMonitor } from '../sip/core/admission-policy.js';
import type { Lifecycle } from '../lib/lifecycle.js';

export interface LoadMonitorOptions {
  /** Sampling interval, ms (default 50). */
  intervalMs?: number;
  /** Queued bytes on our UDP sockets at which new work is refused (default 3 MiB of kernel buffer, about 2,000 datagrams or 0.2–0.4 s of work: bursts and GC pauses stay below it, retransmission timers (T1 = 0.5 s) do not). */
  enterBacklogBytes?: number;
  /** Queued bytes below which it is accepted again (default 1 MiB). */
  leaveBacklogBytes?: number;
  /** Fraction of the V8 heap limit past which new work is refused (default 0.7). */
  heapFraction?: number;
}

export class UdpBacklogLoadMonitor implements LoadMonitor, Lifecycle {
  private backlogged = false;
  private heavy = false;
  private readonly ports = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly heapLimit = getHeapStatistics().heap_size_limit;
  private readonly enter: number;
  private readonly leave: number;
  private readonly heapFraction: number;
  private procAvailable = true;
  /** Samples taken while overloaded (for /api/status). */
  overloadedSamples = 0;
  /** Largest backlog seen, bytes. */
  maxBacklogBytes = 0;

  constructor(options: LoadMonitorOptions = {}) {
    this.enter = options.enterBacklogBytes ?? 3 * 1024 * 1024;
    this.leave = options.leaveBacklogBytes ?? 1024 * 1024;
    this.heapFraction = options.heapFraction ?? 0.7;
    this.intervalMs = options.intervalMs ?? 50;
  }

  /** Samples the backlog every intervalMs until stop(). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Watches the UDP sockets bound to this port. */
  watchPort(port: number): void {
    this.ports.add(port.toString(16).toUpperCase().padStart(4, '0'));
  }

  overloaded(): boolean {
    return this.backlogged || this.heavy;
  }

  /** Bytes queued for our UDP sockets now, or undefined where the kernel does not say. */
  backlogBytes(): number | undefined {
    if (!this.procAvailable || this.ports.size === 0) return undefined;
    let total = 0;
    for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string;
      try {
        text = readFileSync(file, 'latin1');
      } catch {
        if (file === '/proc/net/udp') this.procAvailable = false;
        continue;
      }
      total += sumRxQueue(text, this.ports);
    }
    return this.procAvailable ? total : undefined;
  }

  private sample(): void {
    const backlog = this.backlogBytes();
    if (backlog !== undefined) {
      this.maxBacklogBytes = Math.max(this.maxBacklogBytes, backlog);
      this.backlogged = this.backlogged ? backlog > this.leave : backlog >= this.enter;
    }
    this.heavy = getHeapStatistics().used_heap_size > this.heapFraction * this.heapLimit;
    if (this.overloaded()) this.overloadedSamples++;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Sum of rx_queue over the lines of /proc/net/udp{,6} whose local port is one of `ports` (hex). */
export function sumRxQueue(text: string, ports: ReadonlySet<string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const queues = f[4];
    if (local === undefined || queues === undefined || !queues.includes(':')) continue;
    const port = local.slice(local.lastIndexOf(':') + 1);
    if (!ports.has(port)) continue;
    total += parseInt(queues.slice(queues.indexOf(':') + 1), 16) || 0;
  }
  return total;
}
