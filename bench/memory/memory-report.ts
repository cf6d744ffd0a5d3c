/**
 * Writing a memory benchmark run down: the JSON (bench/results/memory-<date>.json) and its section
 * of BENCHMARKS.md, replaced between its markers (other sections are left alone).
 */
import type { MachineInfo } from '../sip/system-info.js';
import { mib, PER_CALL_LIMIT_BYTES, RSS_LIMIT_BYTES, type MemoryBenchResult } from './memory-bench.js';

export const MEMORY_SECTION_START = '<!-- memory-bench:start (written by `npm run bench -- memory`; edits here are overwritten) -->';
export const MEMORY_SECTION_END = '<!-- memory-bench:end -->';

export interface MemoryReport {
  readonly benchmark: 'memory';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly load1Before: number;
  readonly load1After: number;
  readonly result: MemoryBenchResult;
}

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

/** The markdown section for a report. */
export function renderMemorySection(report: MemoryReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const o = r.options;
  const f = r.inFlight;
  const s = r.sustained;
  const lines: string[] = [];
  lines.push('## Memory: a peer holding 10,000 registrations, in-flight calls and sustained calls/s');
  lines.push('');
  const short = o.durationS < 600 ? ` **A shortened run: ${o.durationS} s of sustained calls, not the 10 minutes of the target.**` : '';
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.${short}`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores, ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ${m.tools['sipp'] ?? '?'}. ` +
      `Load average (1 min): ${report.load1Before.toFixed(2)} before, ${report.load1After.toFixed(2)} after (the SIPp processes and the two other peers share the machine).`,
  );
  lines.push('');
  lines.push(
    `Method (\`bench/memory/\`): a \`p2psip up\` peer (open overlay, LMDB data directory, node's inspector on loopback) in an ` +
      `overlay of three on 127.0.0.1; SIPp registers ${o.registrations} distinct AoRs at it (${o.registerRate}/s), every binding ` +
      `pointing at a SIPp UAS. "Live" readings come after two forced full collections (the inspector's ` +
      `\`HeapProfiler.collectGarbage\`), so they count live objects, not garbage; RSS is VmRSS. Baseline: the peer holding the ` +
      `registrations, idle. In-flight: ${o.held} calls set up at ${o.heldRate}/s and held ${o.holdS} s before the BYE; read once all ` +
      `are up (their INVITE transactions are in Accepted, Timer L/M = 32 s, RFC 6026) and again after Timer L/M (the proxy keeps ` +
      `no dialog state, RFC 3261 §16). Sustained: ${o.rate} calls/s (INVITE/100/180/200/ACK/BYE, no hold) for ${o.durationS} s, ` +
      `RSS from /proc and V8 heap in use from \`/metrics\` every ${o.sampleS} s, and one live reading halfway.`,
  );
  lines.push('');
  lines.push('| measure | value | target (issue 18) |');
  lines.push('|---|---:|---:|');
  lines.push(`| REGISTERs answered 200 | ${r.register.succeeded} of ${o.registrations} (peer has bindings for ${r.registeredAors} AoRs) | |`);
  lines.push(`| baseline, live: RSS / heap in use | ${mib(r.baseline.rssBytes)} / ${mib(r.baseline.heapUsedBytes)} | |`);
  lines.push(`| per in-flight call, Timer L/M running: heap / RSS | **${kib(f.heapPerCall)}** / ${kib(f.rssPerCall)} | ≤ ${kib(PER_CALL_LIMIT_BYTES)} |`);
  lines.push(`| per in-flight call after Timer L/M: heap / RSS | ${kib(f.heapPerCallAfterTimers)} / ${kib(f.rssPerCallAfterTimers)} | |`);
  lines.push(`| held calls that failed | ${f.calls.failed} of ${o.held} ${causes(f.calls.failureCauses)} | |`);
  lines.push(`| sustained: max RSS (samples) | **${mib(s.maxRssBytes)}** | < ${mib(RSS_LIMIT_BYTES)} |`);
  lines.push(`| sustained: RSS at the end | ${mib(s.endRssBytes)} | |`);
  lines.push(`| peak RSS of the whole run (VmHWM, registrations included) | ${mib(s.peakRssBytes)} | |`);
  lines.push(`| sustained: live heap halfway, and per call of the last 32 s | ${mib(s.midLive.heapUsedBytes)}, ${kib(s.heapPerRecentCall)} | |`);
  lines.push(`| sustained calls that failed | ${s.calls.failed} of ${o.rate * o.durationS} ${causes(s.calls.failureCauses)} | |`);
  lines.push('');
  const every = Math.max(1, Math.ceil(s.samples.length / 12));
  const picked = s.samples.filter((_, i) => i % every === 0 || i === s.samples.length - 1);
  lines.push(`RSS over the sustained phase (MiB): ${picked.map((x) => `${x.t} s: ${(x.rssBytes / 1048576).toFixed(0)}`).join(', ')}.`);
  return lines.join('\n');
}

function causes(c: Readonly<Record<string, number>>): string {
  const e = Object.entries(c);
  return e.length === 0 ? '' : `(${e.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}
