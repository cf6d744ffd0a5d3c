/**
 * What the media tests and the media benchmark read about a running media relay: the `media` part of a
 * p2psip peer's GET /api/status, the resident memory of a process tree (/proc), the UDP sockets bound
 * in a port range and the processes owning them (`ss -uanp`), and the kernel's per-socket drop counts
 * (/proc/net/udp, the `drops` column).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** /api/status `media` (issue 13). Fields may be missing on a peer without the relay. */
export interface MediaStatus {
  readonly mode?: string;
  readonly activeSessions?: number;
  readonly sessionsTotal?: number;
  readonly relayedSessionsTotal?: number;
  readonly directSessionsTotal?: number;
  readonly portsInUse?: number;
  readonly packets?: {
    readonly fromPhones?: number;
    readonly toPhones?: number;
    readonly fromPeers?: number;
    readonly toPeers?: number;
    /** A number, or counts by reason (unlatched, unknownTag, rateLimited, …). */
    readonly dropped?: number | Readonly<Record<string, number>>;
  };
  /** Datagrams between peers that carried several frames, and the frames in them. */
  readonly bundles?: { readonly out?: number; readonly framesOut?: number; readonly in?: number; readonly framesIn?: number };
  /** Sessions or ports refused (limits reached). */
  readonly refused?: Readonly<Record<string, number>>;
  /** The relay's socket pool: pairs bound and kept ready for the next calls, and its trunk port. */
  readonly ports?: {
    readonly bound?: number;
    readonly ready?: number;
    readonly trunk?: { readonly host: string; readonly port: number };
  };
}

/** `packets.dropped` as one number (a sum when it comes by reason). */
export function droppedPackets(m: MediaStatus | undefined): number {
  const d = m?.packets?.dropped;
  if (typeof d === 'number') return d;
  if (d === undefined) return 0;
  return Object.values(d).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
}

/**
 * UDP sockets a peer's relay keeps bound with no call: its trunk port and the pairs kept ready for the
 * next calls (RTP + RTCP each).
 */
export function idleRelaySockets(m: MediaStatus | undefined): number {
  return (m?.ports?.trunk === undefined ? 0 : 1) + 2 * (m?.ports?.ready ?? 0);
}

export interface PeerStatusSample {
  readonly media: MediaStatus | undefined;
  /** The whole /api/status document (for reports). */
  readonly raw: Record<string, unknown>;
}

/** GET /api/status of the peer at 127.0.0.1:`httpPort` (bounded 5 s). */
export async function peerStatus(httpPort: number, token?: string): Promise<PeerStatusSample> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/status`, {
    signal: AbortSignal.timeout(5000),
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });
  if (!res.ok) throw new Error(`GET /api/status on ${httpPort}: ${res.status}`);
  const raw = (await res.json()) as Record<string, unknown>;
  const media = raw['media'];
  return { media: typeof media === 'object' && media !== null ? (media as MediaStatus) : undefined, raw };
}

/** Polls /api/status until `pred(media)` holds (bounded); resolves with the last sample. */
export async function untilMedia(httpPort: number, pred: (m: MediaStatus | undefined) => boolean, timeoutMs: number): Promise<PeerStatusSample> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await peerStatus(httpPort);
    if (pred(s.media) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `pid` and its descendants (from /proc/<pid>/task/<pid>/children), depth-first. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number, depth: number): void => {
    if (depth > 8) return;
    out.push(p);
    let children = '';
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8');
    } catch {
      return;
    }
    for (const c of children.trim().split(/\s+/).filter((s) => s !== '')) visit(Number(c), depth + 1);
  };
  visit(pid, 0);
  return out;
}

/** VmRSS of one process in bytes (undefined when it is gone). */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The process of the tree rooted at `pid` (a `timeout` wrapper, say) whose command line matches `re`;
 * wrappers (`timeout`, `taskset`) are passed over, their command lines name the program too.
 */
export function findInTree(pid: number, re: RegExp): number | undefined {
  for (const p of processTree(pid)) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)(timeout|taskset)$/.test(argv[0] ?? '')) continue;
      if (re.test(argv.join(' '))) return p;
    } catch {
      // gone
    }
  }
  return undefined;
}

export interface UdpSocketInfo {
  readonly localPort: number;
  readonly peer: string;
  /** `users:(("node",pid=…,fd=…))` as ss prints it; empty when ss could not tell. */
  readonly process: string;
}

/** UDP sockets (IPv4 and IPv6) bound to a local port in [lo, hi], from `ss -uanp`; only `pid`'s when given. */
export function udpSocketsInRange(lo: number, hi: number, pid?: number): UdpSocketInfo[] {
  let out = '';
  try {
    out = execFileSync('ss', ['-uanpH'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`ss -uanp failed: ${(err as Error).message}`);
  }
  const sockets: UdpSocketInfo[] = [];
  for (const line of out.split('\n')) {
    // State Recv-Q Send-Q Local:Port Peer:Port Process
    const cols = line.trim().split(/\s+/);
    const local = cols[3];
    if (local === undefined) continue;
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    const owner = cols.slice(5).join(' ');
    if (pid !== undefined && !owner.includes(`pid=${pid},`)) continue;
    if (port >= lo && port <= hi) sockets.push({ localPort: port, peer: cols[4] ?? '', process: owner });
  }
  return sockets;
}

/**
 * Sum of the kernel's `drops` counter over UDP sockets bound to a port in [lo, hi] (/proc/net/udp, udp6);
 * only over `pid`'s sockets when given (matched by inode, from /proc/<pid>/fd).
 */
export function udpDropsInRange(lo: number, hi: number, pid?: number): number {
  const inodes = pid === undefined ? undefined : socketInodes(pid);
  let total = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const drops = cols[12];
      if (local === undefined || drops === undefined) continue;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (inodes !== undefined && !inodes.has(cols[9] ?? '')) continue;
      if (port >= lo && port <= hi) total += Number(drops);
    }
  }
  return total;
}

/** User + system CPU time of a process (all its threads), seconds (undefined when it is gone). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name "(…)": state is field 3, utime 14, stime 15 (clock ticks, USER_HZ = 100)
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100;

/** Busy and total jiffies of one CPU since boot (/proc/stat; busy = all but idle and iowait). */
export function cpuJiffies(cpu: string): { readonly busy: number; readonly total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return undefined;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Inodes of the sockets `pid` holds open (/proc/<pid>/fd links "socket:[inode]"). */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined) out.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
