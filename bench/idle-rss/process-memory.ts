/**
 * What a process's resident memory is made of, from Linux's /proc/<pid>/smaps_rollup (totals) and
 * /proc/<pid>/smaps (one entry per mapping, to split the file-backed pages by file and the anonymous
 * pages into the malloc heap and the rest — V8's heap, thread stacks, large buffers).
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** Kilobytes, as /proc writes them. */
export interface MemoryBreakdown {
  /** Resident set (what `ps` calls RSS). */
  readonly rssKb: number;
  /** Anonymous pages (heap, stacks, buffers): this process's own. */
  readonly anonKb: number;
  /** Resident pages backed by files (the node executable, shared libraries, addons, mapped databases). */
  readonly fileKb: number;
  /** Proportional set: shared pages divided among the processes that map them. */
  readonly pssKb: number;
  /** Unique set (Private_Clean + Private_Dirty): what would be freed if the process exited. */
  readonly ussKb: number;
  /** File-backed pages of the node executable itself. */
  readonly nodeBinaryKb: number;
  /** File-backed pages of shared libraries (*.so*) other than node. */
  readonly sharedLibsKb: number;
  /** File-backed pages of native addons (*.node). */
  readonly addonsKb: number;
  /** Other file-backed pages (memory-mapped data files such as LMDB's). */
  readonly otherFilesKb: number;
  /** Anonymous pages of the brk heap (`[heap]`: malloc's main arena). */
  readonly mallocHeapKb: number;
  /** Other anonymous pages: V8's heap, mmap'd malloc arenas and large blocks, thread stacks. */
  readonly otherAnonKb: number;
  /** Threads of the process. */
  readonly threads: number;
}

/** Totals of an smaps_rollup text (kB). */
export function parseSmapsRollup(text: string): { rssKb: number; anonKb: number; pssKb: number; ussKb: number } {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]);
  };
  return { rssKb: field('Rss'), anonKb: field('Anonymous'), pssKb: field('Pss'), ussKb: field('Private_Clean') + field('Private_Dirty') };
}

/** Rss and Anonymous kB per mapping of an smaps text, summed by the mapping's name (`[anon]` for unnamed). */
export function parseSmapsByMapping(text: string): Map<string, { rssKb: number; anonKb: number }> {
  const out = new Map<string, { rssKb: number; anonKb: number }>();
  let current: { rssKb: number; anonKb: number } | undefined;
  for (const line of text.split('\n')) {
    // "7f...-7f... r-xp 00000000 08:01 1234   /usr/bin/node" (the name is absent for anonymous mappings)
    const header = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const name = header[1]!.trim() || '[anon]';
      current = out.get(name);
      if (current === undefined) {
        current = { rssKb: 0, anonKb: 0 };
        out.set(name, current);
      }
      continue;
    }
    if (current === undefined) continue;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) current.rssKb += Number(rss[1]);
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon !== null) current.anonKb += Number(anon[1]);
  }
  return out;
}

/** The breakdown from the texts of smaps_rollup and smaps; `executable` is the process's /proc/<pid>/exe target. */
export function memoryBreakdown(rollup: string, smaps: string, executable: string, threads: number): MemoryBreakdown {
  const totals = parseSmapsRollup(rollup);
  let nodeBinaryKb = 0;
  let sharedLibsKb = 0;
  let addonsKb = 0;
  let otherFilesKb = 0;
  let mallocHeapKb = 0;
  let otherAnonKb = 0;
  for (const [name, m] of parseSmapsByMapping(smaps)) {
    const fileKb = m.rssKb - m.anonKb;
    if (name === '[heap]') mallocHeapKb += m.anonKb;
    else otherAnonKb += m.anonKb;
    if (fileKb <= 0 || name.startsWith('[')) continue;
    if (name === executable) nodeBinaryKb += fileKb;
    else if (/\.node$/.test(name)) addonsKb += fileKb;
    else if (/\.so(\.|$)/.test(name)) sharedLibsKb += fileKb;
    else otherFilesKb += fileKb;
  }
  return {
    rssKb: totals.rssKb,
    anonKb: totals.anonKb,
    fileKb: totals.rssKb - totals.anonKb,
    pssKb: totals.pssKb,
    ussKb: totals.ussKb,
    nodeBinaryKb,
    sharedLibsKb,
    addonsKb,
    otherFilesKb,
    mallocHeapKb,
    otherAnonKb,
    threads,
  };
}

/** The breakdown of a live process, or undefined when it is gone (or /proc does not say). */
export function readMemory(pid: number): MemoryBreakdown | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    const executable = readlinkSync(`/proc/${pid}/exe`);
    const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return memoryBreakdown(rollup, smaps, executable, threads);
  } catch {
    return undefined;
  }
}

/** The middle value (the lower of the two middle ones for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
