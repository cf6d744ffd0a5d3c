/**
 * Namespace names of NAT labs: `p2psip-nl-<pid>-<start>-<n>-<role>`, where <pid> and <start> (its
 * start time in clock ticks since boot, /proc/<pid>/stat field 22) identify the process that built
 * the lab. Parallel runs never collide, and a lab whose owner process is gone is stale: the sweeper
 * deletes its namespaces.
 */
import { readFileSync } from 'node:fs';
import { runCommand, tryCommand } from './lab-command.js';

export const NAT_LAB_NAME_PREFIX = 'p2psip-nl-';

const OWNER_RE = /^p2psip-nl-(\d+)-(\d+)-\d+-/;

let labCounter = 0;

/** Start time (clock ticks since boot) of a live process; undefined when it does not exist or is a zombie. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** A fresh prefix for one lab of this process (ends with '-'). */
export function newLabPrefix(): string {
  labCounter++;
  return `${NAT_LAB_NAME_PREFIX}${process.pid}-${processStartTime(process.pid) ?? '0'}-${labCounter}-`;
}

/** Names of every network namespace (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await runCommand('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** True when the namespace belongs to a lab whose owner process no longer runs. */
export function isStaleLabNamespace(name: string): boolean {
  const m = OWNER_RE.exec(name);
  if (m === null) return false;
  const pid = Number(m[1]);
  const start = m[2];
  return processStartTime(pid) !== start;
}

/**
 * Deletes the namespaces of labs whose owner process is gone (a crashed or killed run); returns
 * their names. Labs of live processes (parallel runs) are left alone. Processes still running in a
 * stale namespace are not signalled (their own `timeout` bound ends them).
 */
export async function sweepStaleNatLabs(): Promise<string[]> {
  const stale = (await listNamespaces()).filter(isStaleLabNamespace);
  for (const name of stale) await tryCommand('ip', ['netns', 'del', name]);
  return stale;
}
