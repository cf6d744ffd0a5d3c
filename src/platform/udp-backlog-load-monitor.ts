/**
 * Overload as the platform sees it. The signal that matters for a UDP proxy is the backlog of
 * datagrams waiting in the kernel for our sockets: while it stays near zero the peer keeps up,
 * however busy it is; when it grows, every queued request ages towards its client's
 * retransmission timer and the load snowballs. Linux reports it per socket in /proc/net/udp
 * (rx_queue); elsewhere that file is absent and only the heap guard applies.
 * Hysteresis keeps the state from flapping.
 *
 * The backlog is judged in time as well as in bytes: the datagrams queued (rx_queue counts each
 * datagram's kernel truesize, 1,280 bytes for a SIP message up to about 700 bytes, 2,304 up to 1.7 KB)
 * divided by the rate the peer is reading them (`noteReceived`, one per datagram read on the watched
 * sockets) is how long a request arriving now waits before it is even parsed. 3 MiB is 0.4 s of
 * REGISTER refreshes but 3 s of new REGISTERs (each an overlay Store) — past every phone's patience,
 * so a peer shedding on bytes alone spent its CPU on requests whose senders had given up. Overloaded
 * when the wait passes `maxDrainMs` in two samples running while the process keeps a core busy
 * (`busyFraction`: a peer behind because other programs take the CPU is starved, not overloaded by
 * its requests, and refusing them would not give it the CPU) (with at least `minBacklogBytes` queued: a
 * few datagrams while the rate is still unknown are not a backlog, and one stall of the event loop
 * leaves a queue a peer with spare capacity has read by the next sample), or the bytes pass
 * `enterBacklogBytes`.
 *
 * The files are read 20 times a second, idle or not, so a sample allocates nothing per line: the
 * bytes go into one reused buffer and are scanned in place (reading them as strings and splitting
 * every line made about 0.8 MB of garbage a second on an idle peer, a young-generation GC each second).
 */
import { closeSync, openSync, readSync } from 'node:fs';
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
  /** Wait of a datagram arriving now (queued datagrams ÷ read rate), ms, from which new work is refused (default 1,000); accepted again below half of it. */
  maxDrainMs?: number;
  /** Queued bytes below which the wait is not judged (default 256 KiB, about 200 datagrams). */
  minBacklogBytes?: number;
  /** Milliseconds now (default performance.now). */
  now?: () => number;
  /** CPU time this process has used, ms (default process.cpuUsage, user + system). */
  cpuMs?: () => number;
  /** Share of one core the process must have used since the last sample for a wait to count (default 0.8). */
  busyFraction?: number;
}

/** Kernel truesize of one queued SIP datagram of up to about 700 bytes (measured on Linux 6, loopback and Ethernet alike). */
export const QUEUED_DATAGRAM_BYTES = 1280;

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
  private readonly maxDrainMs: number;
  private readonly minBacklog: number;
  private readonly now: () => number;
  /** Datagrams read since the last sample, and the smoothed read rate (datagrams/s). */
  private readSinceSample = 0;
  private readRate = 0;
  private sampledAt: number | undefined;
  private readonly cpuMs: () => number;
  private readonly busyFraction: number;
  private cpuAt = 0;
  /** CPU used since the last sample ÷ the time between them (1 = one core busy throughout). */
  busy = 0;
  /** Consecutive samples whose wait passed maxDrainMs (overloaded from the second). */
  private lateSamples = 0;
  /** The last wait estimate, ms (for /api/status and tests). */
  drainMs = 0;
  /** Samples taken while overloaded (for /api/status). */
  overloadedSamples = 0;
  /** Largest backlog seen, bytes. */
  maxBacklogBytes = 0;

  constructor(options: LoadMonitorOptions = {}) {
    this.enter = options.enterBacklogBytes ?? 3 * 1024 * 1024;
    this.leave = options.leaveBacklogBytes ?? 1024 * 1024;
    this.heapFraction = options.heapFraction ?? 0.7;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxDrainMs = options.maxDrainMs ?? 1000;
    this.minBacklog = options.minBacklogBytes ?? 256 * 1024;
    this.now = options.now ?? (() => performance.now());
    this.cpuMs = options.cpuMs ?? (() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    });
    this.busyFraction = options.busyFraction ?? 0.8;
    for (const [name, v] of [['intervalMs', this.intervalMs], ['busyFraction', this.busyFraction], ['maxDrainMs', this.maxDrainMs], ['minBacklogBytes', this.minBacklog], ['enterBacklogBytes', this.enter], ['leaveBacklogBytes', this.leave]] as const) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`load monitor: ${name} must be a positive number (got ${v})`);
    }
  }

  /** One datagram was read on a watched socket (the transport calls this for each). */
  noteReceived(): void {
    this.readSinceSample++;
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

  /** One sample: the backlog, the read rate since the last sample, the state (public for tests). */
  sample(backlog: number | undefined = this.backlogBytes()): void {
    const t = this.now();
    let rate = this.readRate;
    const cpu = this.cpuMs();
    if (this.sampledAt !== undefined && t > this.sampledAt) {
      this.busy = (cpu - this.cpuAt) / (t - this.sampledAt);
      const now = (this.readSinceSample * 1000) / (t - this.sampledAt);
      // smoothed over about four samples (0.2 s at the default interval); the last sample's own rate
      // when higher, so the first burst after a quiet time is not taken for a stuck peer
      this.readRate = this.readRate === 0 ? now : 0.75 * this.readRate + 0.25 * now;
      rate = Math.max(this.readRate, now);
    }
    this.sampledAt = t;
    this.cpuAt = cpu;
    this.readSinceSample = 0;
    if (backlog !== undefined) {
      this.maxBacklogBytes = Math.max(this.maxBacklogBytes, backlog);
      const queued = backlog / QUEUED_DATAGRAM_BYTES;
      this.drainMs = queued === 0 ? 0 : rate > 0 ? (queued * 1000) / rate : Infinity;
      const judged = backlog >= this.minBacklog;
      // late in two samples running: one stall of the event loop (a GC pause, a busy machine)
      // leaves a queue that a peer with capacity to spare has read by the next sample
      // and only while the peer itself is busy: a peer behind because the machine gives it little CPU
      // (other programs) has capacity it is not given, and refusing would not get it any
      this.lateSamples = judged && this.drainMs >= this.maxDrainMs && this.busy >= this.busyFraction ? this.lateSamples + 1 : 0;
      this.backlogged = this.backlogged
        ? backlog > this.leave || (judged && this.drainMs >= this.maxDrainMs / 2)
        : backlog >= this.enter || this.lateSamples >= 2;
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
