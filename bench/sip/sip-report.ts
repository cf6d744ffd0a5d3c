/**
 * Writing a SIP benchmark run down: the full JSON (bench/results/sip-<date>.json) and the
 * SIP section of BENCHMARKS.md, which is replaced between its markers (other sections of
 * the file are left alone).
 */
import { resultFileName as benchResultFileName } from '../bench-files.js';
import { spliceMarkedBlock } from '../marked-section.js';
import type { SipBenchResult, SutResult, WorkloadResult } from './sip-bench.js';
import type { Workload } from './sip-trial.js';
import type { MachineInfo } from './system-info.js';

export const SECTION_START = '<!-- sip-bench:start (written by `npm run bench -- sip`; edits here are overwritten) -->';
export const SECTION_END = '<!-- sip-bench:end -->';

export interface SipReport {
  readonly benchmark: 'sip';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly result: SipBenchResult;
}

/** bench/results/sip-YYYY-MM-DD.json for the run's start date (UTC). */
export function resultFileName(startedAt: string): string {
  return benchResultFileName('sip', startedAt);
}

/** `text` with the block between the markers replaced, or the block appended. */
export function replaceSection(text: string, block: string): string {
  return spliceMarkedBlock(text, SECTION_START, SECTION_END, block);
}

const LABEL: Readonly<Record<Workload, string>> = {
  register: 'REGISTER/s',
  calls: 'calls/s (INVITE/100/180/200/ACK/BYE)',
};

/** The markdown section for a report. */
export function renderSection(report: SipReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const lines: string[] = [];
  lines.push('## SIP front: REGISTER/s and calls/s (SIPp), p2psip vs Kamailio');
  lines.push('');
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ` +
      `${m.tools['sipp'] ?? '?'}, ${m.tools['kamailio'] ?? '?'}; net.core.rmem_max ${String(m.rmemMax)} B, ` +
      `rmem_default ${String(m.rmemDefault)} B. Load average (1 min) ${r.load1Before.toFixed(2)} before, ${r.load1After.toFixed(2)} after.`,
  );
  lines.push('');
  lines.push(
    `Method: the SIPp generator, the SIPp UAS (calls) and the server share the machine's cores on loopback. ` +
      `Each trial offers a fixed rate for ${r.durationS} s (\`-m rate×${r.durationS} -r rate\`, SIPp buffers 4 MiB, ` +
      `a REGISTER or call unanswered for 2 s counts as failed). A trial passes with < ${r.criteria.maxFailureRatio * 100} % ` +
      `failed and SIPp creating its calls at ≥ ${r.criteria.minPaceRatio * 100} % of the offered pace (a server that queues ` +
      `instead of answering throttles SIPp's 1-second window of outstanding calls; so does SIPp running out of CPU). ` +
      `After a trial that overloaded the server (failures, retransmissions or dropped datagrams) the server is restarted, ` +
      `so that the next trial does not inherit its backlog of transactions. The first repetition doubles the rate ` +
      `until a trial fails and bisects twice (resolution ×1.19); the others step ×1.19 up or down from it. ` +
      `Numbers are the median of ${r.reps} repetitions of the highest passing offered rate, with min–max ` +
      `(fewer repetitions, shown as "(n reps)", when the ${r.budgetS} s time budget ran out).`,
  );
  lines.push('');
  lines.push('| server | workload | median max rate | min–max | spread | next step up failed by | UDP rcvbuf errors (all trials) | SIPp retransmissions at max |');
  lines.push('|---|---|---:|---:|---:|---|---:|---:|');
  for (const s of r.suts) {
    if (s.error !== undefined) {
      lines.push(`| ${s.sut} | — | not measured: ${escapeCell(s.error.split('\n')[0] ?? '')} | | | | | |`);
      if (s.workloads.length === 0) continue;
    }
    for (const w of s.workloads) {
      lines.push(
        `| ${s.sut} | ${LABEL[w.workload]} | ${fmt(w.maxRate.median)}${w.repetitions.length < r.reps ? ` (${w.repetitions.length} reps)` : ''} | ` +
          `${fmt(w.maxRate.min)}–${fmt(w.maxRate.max)} | ` +
          `${(w.maxRate.relative * 100).toFixed(0)} % | ${limits(w)} | ${w.rcvbufErrors === undefined ? 'n/a' : String(w.rcvbufErrors)} | ` +
          `${w.retransmissionsAtBest.join(', ')} |`,
      );
    }
  }
  lines.push('');
  const ratios = ratioLines(r.suts);
  if (ratios.length > 0) {
    lines.push('Ratio p2psip / Kamailio (medians):');
    lines.push('');
    for (const l of ratios) lines.push(`- ${l}`);
    lines.push('');
  }
  lines.push(
    'Noise: every process runs on the same few cores, so the SIPp generator and UAS compete with the server (at the ' +
      'Kamailio rates SIPp needs about a core of its own); UdpRcvbufErrors is a machine-wide counter, so other work on the machine shows up in it; ' +
      'a load average well above 0 before the run means other work was competing. Treat differences within the spread ' +
      'column as noise.',
  );
  return lines.join('\n');
}

const LIMIT_TEXT = {
  failures: '≥ 1 % failed',
  pace: 'SIPp fell behind the pace',
  'search-cap': 'nothing failed (search ended: bound or step limit)',
} as const;

function limits(w: WorkloadResult): string {
  const counts = new Map<string, number>();
  for (const r of w.repetitions) counts.set(LIMIT_TEXT[r.limit], (counts.get(LIMIT_TEXT[r.limit]) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n === w.repetitions.length ? k : `${k} ×${n}`)).join(', ');
}

function ratioLines(suts: readonly SutResult[]): string[] {
  const p = suts.find((s) => s.sut === 'p2psip');
  const k = suts.find((s) => s.sut === 'kamailio');
  if (p === undefined || k === undefined) return [];
  const out: string[] = [];
  for (const w of p.workloads) {
    const kw: WorkloadResult | undefined = k.workloads.find((x) => x.workload === w.workload);
    if (kw === undefined || kw.maxRate.median === 0) continue;
    out.push(`${LABEL[w.workload]}: ${(w.maxRate.median / kw.maxRate.median).toFixed(2)} (${fmt(w.maxRate.median)} / ${fmt(kw.maxRate.median)})`);
  }
  return out;
}

function fmt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}
