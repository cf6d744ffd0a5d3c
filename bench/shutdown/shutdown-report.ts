/**
 * Writing a shutdown benchmark run down: the JSON (bench/results/shutdown-<date>.json) and its
 * section of BENCHMARKS.md, replaced between its markers (other sections are left alone).
 */
import type { MachineInfo } from '../sip/system-info.js';
import { SHUTDOWN_LIMIT_MS, type ShutdownBenchResult } from './shutdown-bench.js';

export const SHUTDOWN_SECTION_START = '<!-- shutdown-bench:start (written by `npm run bench -- shutdown`; edits here are overwritten) -->';
export const SHUTDOWN_SECTION_END = '<!-- shutdown-bench:end -->';

export interface ShutdownReport {
  readonly benchmark: 'shutdown';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly load1Before: number;
  readonly load1After: number;
  readonly result: ShutdownBenchResult;
}

/** The markdown section for a report. */
export function renderShutdownSection(report: ShutdownReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const o = r.options;
  const lines: string[] = [];
  lines.push('## Shutdown: SIGTERM to exit of a peer holding thousands of values, both neighbours just killed');
  lines.push('');
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores, ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ${m.tools['sipp'] ?? '?'}. ` +
      `Load average (1 min): ${report.load1Before.toFixed(2)} before, ${report.load1After.toFixed(2)} after.`,
  );
  lines.push('');
  lines.push(
    `Method (\`bench/shutdown/\`): each repetition starts a fresh overlay of three \`p2psip up\` processes on loopback ` +
      `(open overlay, LMDB data directories), registers ${o.values} distinct AoRs with SIPp at ${o.registerRate}/s ` +
      `${o.via === 'all' ? 'spread over the three peers' : 'all through the middle peer (its own registrations, withdrawn at stop: RFC 7904)'} ` +
      `(each a SIP-REGISTRATION value; with two replicas every peer of three holds nearly all of them; a peer signs at most ` +
      `5,000 resources at any one storing peer, the writer quota), waits until the middle peer holds them, ` +
      `\`kill -9\`s the other two and, after the delay given, sends ` +
      `SIGTERM to the middle one. Exit = SIGTERM to the process's end; CPU = its user + system time meanwhile (from ` +
      `/proc, 50 ms samples). Target (issue 18): exit within ${SHUTDOWN_LIMIT_MS / 1000} s whatever the neighbours' state.`,
  );
  lines.push('');
  lines.push('| repetition | SIGTERM after the kill -9 | values held | REGISTERs failed | exit after | exit code | CPU during the stop |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|');
  r.repetitions.forEach((x, i) => {
    const exit = x.exitMs === undefined ? `> ${o.giveUpMs / 1000} s (killed)` : `${(x.exitMs / 1000).toFixed(2)} s`;
    lines.push(`| ${i + 1} | ${x.delayMs} ms | ${x.heldValues} | ${x.registerFailures} | ${exit} | ${String(x.exitCode)} | ${(x.cpuMs / 1000).toFixed(2)} s |`);
  });
  lines.push('');
  const verdict = r.maxExitMs < SHUTDOWN_LIMIT_MS ? 'within' : 'over';
  lines.push(`**Maximum: ${(r.maxExitMs / 1000).toFixed(2)} s to exit (${verdict} the ${SHUTDOWN_LIMIT_MS / 1000} s target), ${(r.maxCpuMs / 1000).toFixed(2)} s of CPU.**`);
  return lines.join('\n');
}
