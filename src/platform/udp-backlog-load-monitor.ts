/**
 * Overload as the platform sees it. The signal that matters for a UDP proxy is the backlog of
 * datagrams waiting in the kernel for our sockets: while it stays near zero the peer keeps up,
 * however busy it is; when it grows, every queued request ages towards its client's
 * retransmission timer and the load snowballs. Linux reports it per socket in /proc/net/udp
 * (rx_queue); elsewhere that file is absent and only the heap guard applies.
 * Hysteresis keeps the state from flapping.
 *
 * The files are read only while the event loop is busy. Reading /proc/net/udp costs the kernel a
 * walk of the whole UDP hash table, whatever few sockets it holds: about 1.5 ms per file on the bench
 * machine, so two files 20 times a second took 5–7 % of a core in every peer, idle or not (profiles
 * of the SIPp-through-the-overlay test). But the loop blocks waiting for I/O only when no socket has
 * anything to read (libuv polls level-triggered), so a sampling interval in which the loop was idle
 * for a while (event-loop utilisation below `busyLoopFraction`) proves our sockets' queues were empty
 * within it: the backlog is counted as none without reading. When a file is read, the bytes go into
 * one reused buffer and are scanned in place (reading them as strings and splitting every line made
 * about 0.8 MB of garbage a second, a young-generation GC each second).
 *
 * A busy loop is also when reads cost most: the table holds every UDP socket of the network
 * namespace, and a peer relaying 200 calls beside SIPp had over 1,000 of them — reading twice every
 * 50 ms then took about 5 % of the peer's CPU (profile of the media-load test) in the very moments it
 * had none to spare. So the reads keep to a budget, `maxReadFraction` of the wall-clock time: after a
 * read that took d ms, the next waits at least d ÷ maxReadFraction ms (1.5 ms → 75 ms, 5 ms → 250 ms),
 * and the samples in between keep the last backlog read.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
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
  /**
   * Event-loop utilisation over a sampling interval at or above which the kernel's queues are read
   * (default 0.9: below it the loop waited for I/O at least 5 ms of the 50, so our sockets' queues
   * were empty then and whatever arrived since is far below the limits).
   */
  busyLoopFraction?: number;
  /** Event-loop utilisation since the previous call (default: node's performance.eventLoopUtilization; injected by tests). */
  loopUtilization?: () => number;
  /**
   * Share of wall-clock time the reads of the kernel's queues may take (default 0.02): after a read of
   * d ms the next one waits d ÷ maxReadFraction ms at least.
   */
  maxReadFraction?: number;
  /** Monotonic milliseconds (default performance.now; injected by tests). */
  now?: () => number;
  /** Bytes queued for the watched ports (default: read from /proc/net/udp{,6}; injected by tests). */
  readBacklog?: () => number | undefined;
}

/** Event-loop utilisation of this thread since the previous call (the first call: since the loop started). */
function eventLoopUtilizationMeter(): () => number {
  let last: EventLoopUtilization | undefined;
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = last === undefined ? now : performance.eventLoopUtilization(now, last);
    last = now;
    return delta.utilization;
  };
}

export class UdpBacklogLoadMonitor implements LoadMonitor, Lifecycle {
  private backlogged = false;
  private heavy = false;
  private readonly ports = new Set<number>();
  /** Reused for every read of /proc/net/udp{,6}; grows to the largest file seen (see readProcFile). */
  private buf: Buffer = Buffer.allocUnsafe(INITIAL_PROC_BUFFER_BYTES);
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly heapLimit = getHeapStatistics().heap_size_limit;
  private readonly enter: number;
  private readonly leave: number;
  private readonly heapFraction: number;
  private procAvailable = true;
  private readonly busyLoop: number;
  private readonly loopUtilization: () => number;
  private readonly maxReadFraction: number;
  private readonly now: () => number;
  private readonly readBacklog: () => number | undefined;
  /** When the kernel's queues may be read again (the read budget), and what the last read found. */
  private nextReadAt = -Infinity;
  private lastBacklog: number | undefined;
  /** Samples taken while overloaded (for /api/status). */
  overloadedSamples = 0;
  /** Samples that read the kernel's queues (the others found the event loop idle for a while, or the read budget spent). */
  procSamples = 0;
  /** Samples of a busy loop that kept the last backlog read (the read budget was spent). */
  budgetSkips = 0;
  /** Largest backlog seen, bytes. */
  maxBacklogBytes = 0;

  constructor(options: LoadMonitorOptions = {}) {
    this.enter = options.enterBacklogBytes ?? 3 * 1024 * 1024;
    this.leave = options.leaveBacklogBytes ?? 1024 * 1024;
    this.heapFraction = options.heapFraction ?? 0.7;
    this.intervalMs = options.intervalMs ?? 50;
    this.busyLoop = options.busyLoopFraction ?? 0.9;
    this.loopUtilization = options.loopUtilization ?? eventLoopUtilizationMeter();
    this.maxReadFraction = options.maxReadFraction ?? 0.02;
    if (!(this.maxReadFraction > 0 && this.maxReadFraction <= 1)) throw new RangeError(`maxReadFraction must be in (0, 1]: ${this.maxReadFraction}`);
    this.now = options.now ?? (() => performance.now());
    this.readBacklog = options.readBacklog ?? (() => this.backlogBytes());
  }

  /** Samples the backlog every intervalMs until stop(). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Watches the UDP sockets bound to this port. */
  watchPort(port: number): void {
    this.ports.add(port);
  }

  overloaded(): boolean {
    return this.backlogged || this.heavy;
  }

  /** Bytes queued for our UDP sockets now, or undefined where the kernel does not say. */
  backlogBytes(): number | undefined {
    if (!this.procAvailable || this.ports.size === 0) return undefined;
    let total = 0;
    for (const file of PROC_FILES) {
      const read = readWholeFile(file, this.buf);
      if (read === undefined) {
        if (file === PROC_FILES[0]) this.procAvailable = false;
        continue;
      }
      this.buf = read.buf;
      total += sumRxQueueBytes(read.buf, read.length, this.ports);
    }
    return this.procAvailable ? total : undefined;
  }

  /** One sample (the timer's work; public for tests). */
  sample(): void {
    // An idle moment in the interval: our queues were empty then (see the file's header).
    const busy = this.loopUtilization() >= this.busyLoop;
    let backlog: number | undefined;
    if (!busy) backlog = this.procAvailable && this.ports.size > 0 ? 0 : undefined;
    else if (this.now() < this.nextReadAt) {
      this.budgetSkips++;
      backlog = this.lastBacklog;
    } else {
      this.procSamples++;
      const t0 = this.now();
      backlog = this.readBacklog();
      const t1 = this.now();
      this.nextReadAt = t1 + (t1 - t0) / this.maxReadFraction;
    }
    this.lastBacklog = backlog;
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

const PROC_FILES = ['/proc/net/udp', '/proc/net/udp6'] as const;

/**
 * Reads `path` whole into `buf`, or into a buffer twice as large (and so on) when it does not fit;
 * the buffer used (to keep for the next read) and the length read, or undefined when the file cannot
 * be read. /proc files report no size, so the read goes on until it returns 0 bytes.
 */
export function readWholeFile(path: string, buf: Buffer): { buf: Buffer; length: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(1, buf.length * 2));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) return { buf, length };
      length += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
/** First size of the read buffer: 128-byte lines (udp6: 168), so about 60 sockets before it grows. */
const INITIAL_PROC_BUFFER_BYTES = 8192;

/** Sum of rx_queue over the lines of /proc/net/udp{,6} whose local port is one of `ports` (hex, as the file writes them). */
export function sumRxQueue(text: string, ports: ReadonlySet<string>): number {
  const bytes = Buffer.from(text, 'latin1');
  return sumRxQueueBytes(bytes, bytes.length, new Set([...ports].map((p) => parseInt(p, 16))));
}

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const COLON = 0x3a;

/** The value of hex digit `c`, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * {@link sumRxQueue} over the first `length` bytes of `bytes`, scanned in place (no allocation).
 * Each line: `sl local_address rem_address st tx_queue:rx_queue ...`; local_address is
 * `<hex address>:<hex port>`. Lines that do not have that shape (the header, anything else) add nothing.
 */
export function sumRxQueueBytes(bytes: Uint8Array, length: number, ports: ReadonlySet<number>): number {
  let total = 0;
  let i = 0;
  while (i < length) {
    let end = i;
    while (end < length && bytes[end] !== NEWLINE) end++;
    total += lineRxQueue(bytes, i, end, ports);
    i = end + 1;
  }
  return total;
}

/** rx_queue of the line bytes[start, end) when its local port is watched, else 0. */
function lineRxQueue(bytes: Uint8Array, start: number, end: number, ports: ReadonlySet<number>): number {
  let port = -1;
  let rx = 0;
  let field = -1;
  let i = start;
  while (i < end && field < 4) {
    while (i < end && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
    if (i === end) break;
    field++;
    const from = i;
    while (i < end && bytes[i] !== SPACE && bytes[i] !== TAB) i++;
    if (field === 1) {
      // local_address: the port is the hex after its last colon
      let colon = i - 1;
      while (colon > from && bytes[colon] !== COLON) colon--;
      if (colon === from) return 0;
      port = 0;
      for (let k = colon + 1; k < i; k++) {
        const d = hexDigit(bytes[k]!);
        if (d < 0) return 0;
        port = port * 16 + d;
      }
      if (!ports.has(port)) return 0;
    } else if (field === 4) {
      // tx_queue:rx_queue
      let colon = from;
      while (colon < i && bytes[colon] !== COLON) colon++;
      if (colon === i) return 0;
      for (let k = colon + 1; k < i; k++) {
        const d = hexDigit(bytes[k]!);
        if (d < 0) return 0;
        rx = rx * 16 + d;
      }
      return port >= 0 ? rx : 0;
    }
  }
  return 0;
}
