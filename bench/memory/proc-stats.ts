/**
 * What the memory and shutdown benchmarks read about a running process from /proc (Linux):
 * resident memory (VmRSS, VmHWM), CPU time (utime + stime) and the node process behind a
 * BoundedProcess (which runs its program under coreutils `timeout`, so the PID it knows is
 * that of `timeout`, the parent of the program).
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const CLOCK_TICKS_PER_S = 100;

export interface ProcMemory {
  /** Resident set size, bytes (VmRSS). */
  readonly rssBytes: number;
  /** Peak resident set size so far, bytes (VmHWM). */
  readonly hwmBytes: number;
}

/** VmRSS and VmHWM of `pid`, or undefined once it has gone. */
export function procMemory(pid: number): ProcMemory | undefined {
  const text = readOrEmpty(`/proc/${pid}/status`);
  const rss = kib(text, 'VmRSS');
  const hwm = kib(text, 'VmHWM');
  if (rss === undefined || hwm === undefined) return undefined;
  return { rssBytes: rss * 1024, hwmBytes: hwm * 1024 };
}

/** User + system CPU time `pid` has used, ms, or undefined once it has gone. */
export function procCpuMs(pid: number): number | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  // the command name (field 2) is in parentheses and may hold spaces: count fields after its ')'
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_S;
}

/** The PIDs whose parent is `ppid` (a scan of /proc; fine for the few processes of a benchmark). */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readOrEmpty(`/proc/${e}/stat`);
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const parent = Number(stat.slice(close + 2).split(' ')[1]);
    if (parent === ppid) out.push(Number(e));
  }
  return out;
}

/**
 * The program a BoundedProcess runs: the one child of its `timeout` process. Polls briefly (the
 * child exists as soon as `timeout` has forked, which is before the program prints anything).
 */
export async function programPid(timeoutPid: number, waitMs = 2000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const kids = childPids(timeoutPid);
    if (kids.length === 1) return kids[0]!;
    if (Date.now() > deadline) throw new Error(`process ${timeoutPid} has ${kids.length} children, expected 1`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function kib(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
