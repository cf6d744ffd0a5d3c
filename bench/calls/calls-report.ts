/**
 * Writing a calls benchmark run down: the JSON (bench/results/calls-<date>.json) and the calls
 * section of BENCHMARKS.md, replaced between its markers (other sections are left alone).
 */
import { resultFileName } from '../bench-files.js';
import { replaceMarkedSection } from '../marked-section.js';
import type { WorkloadResult } from '../sip/sip-bench.js';
import type { MachineInfo } from '../sip/system-info.js';
import type { CallsBenchResult, CallsRateEntry } from './calls-bench.js';
import type { PddPath, PddPathResult } from './post-dial-delay.js';

export const CALLS_SECTION_START = '<!-- calls-bench:start (written by `npm run bench -- calls`; edits here are overwritten) -->';
export const CALLS_SECTION_END = '<!-- calls-bench:end -->';

export interface CallsReport {
  readonly benchmark: 'calls';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly result: CallsBenchResult;
}

/** bench/results/calls-YYYY-MM-DD.json for the run's start date (UTC). */
export function callsResultFileName(startedAt: string): string {
  return resultFileName('calls', startedAt);
}

/** `doc` with the calls block replaced, or appended when it has none. */
export function replaceCallsSection(doc: string, section: string): string {
  return replaceMarkedSection(doc, CALLS_SECTION_START, CALLS_SECTION_END, section);
}

const PATH_TEXT: Readonly<Record<PddPath, string>> = {
  overlay: 'overlay: caller → peer A → overlay → peer B → callee',
  kamailio: 'Kamailio: caller → Kamailio → callee',
  direct: 'direct: caller → callee (no proxy)',
};

/** The markdown section for a report. */
export function renderCallsSection(report: CallsReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const p = r.pdd;
  const lines: string[] = [];
  lines.push('## Calls through the overlay: post-dial delay and calls/s, p2psip (two peers) vs Kamailio (one proxy)');
  lines.push('');
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ${m.tools['sipp'] ?? '?'}, ` +
      `${m.tools['kamailio'] ?? '?'}. Load average (1 min): ${r.load1Before.toFixed(2)} before, ${r.load1Middle.toFixed(2)} after the ` +
      `post-dial delay part, ${r.load1After.toFixed(2)} at the end.${busy(r, m.nproc)}`,
  );
  lines.push('');
  lines.push('### Post-dial delay (INVITE sent → 180 received)');
  lines.push('');
  lines.push(
    `Method: a UDP user agent of the benchmark's own (\`harness/dialog-phone.ts\`, monotonic clock, sub-millisecond; ` +
      `SIPp's timers tick in ~4 ms steps) calls a callee that answers 180 then 200 at once; each call is completed (ACK, BYE). ` +
      `${p.trials} trials per path, each on freshly started servers: the first call to callee 1 (on the overlay: Fetch of the ` +
      `registration and AppAttach to peer B, not attached yet), the first call to callee 2 registered at the same peer (Fetch, ` +
      `attachment reused), then ${p.warmCalls} calls to callee 1 at ${p.rate} calls/s. Values are the median over trials with ` +
      `min–max; "later calls" is the median over trials of each trial's median, and the 90th percentile of all later calls. ` +
      `The two overlay peers are a 2-peer overlay: the registration is stored on A or on B depending on its Resource-ID, so the ` +
      `Fetch is sometimes answered by A itself.`,
  );
  lines.push('');
  lines.push('| path | first call (ms) | first call, 2nd callee (ms) | later calls, median (ms) | later calls, p90 (ms) | failed calls |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const x of p.paths) {
    lines.push(
      `| ${PATH_TEXT[x.path]} | ${spreadCell(x.first)} | ${spreadCell(x.secondCallee)} | ${spreadCell(x.laterMedian)} | ` +
        `${x.laterP90.toFixed(2)} | ${x.failed} |`,
    );
  }
  const errors = p.paths.flatMap((x) => x.trials.filter((t) => t.error !== undefined).map((t) => `${x.path}: ${t.error ?? ''}`));
  if (errors.length > 0) {
    lines.push('');
    lines.push(`Trials that failed to run: ${errors.map(escapeCell).join('; ')}.`);
  }
  const added = addedDelay(p.paths);
  if (added.length > 0) {
    lines.push('');
    lines.push('Delay added by the overlay (medians):');
    lines.push('');
    for (const l of added) lines.push(`- ${l}`);
  }
  lines.push('');
  lines.push('### Calls/s (INVITE/100/180/200/ACK/BYE, SIPp)');
  lines.push('');
  if (r.rates.length === 0) {
    lines.push('Not measured in this run (`--no-rate`).');
  } else {
    lines.push(
      `Method: as in the SIP front section above — trials of ${r.durationS} s at a fixed offered rate, passing with ` +
        `< ${r.criteria.maxFailureRatio * 100} % failed calls and SIPp keeping ≥ ${r.criteria.minPaceRatio * 100} % of the pace; the ` +
        `first repetition doubles then bisects, the others step ×1.19; the servers are restarted after an overloading trial. ` +
        `On the overlay the callee is registered at peer B and called at peer A, so every call is a location lookup in the ` +
        `overlay and a second proxy hop. Median of ${r.reps} repetitions of the highest passing rate (fewer, "(n reps)", when ` +
        `the ${r.budgetS} s budget per system ran out).`,
    );
    lines.push('');
    lines.push('| system | path | median max calls/s | min–max | spread | next step up failed by | UDP rcvbuf errors (all trials) | SIPp retransmissions at max | restarts |');
    lines.push('|---|---|---:|---:|---:|---|---:|---:|---:|');
    for (const e of r.rates) lines.push(rateRow(e, r.reps));
    const ratio = rateRatio(r.rates);
    if (ratio !== undefined) {
      lines.push('');
      lines.push(`Ratio p2psip (two peers) / Kamailio (one proxy), medians: ${ratio}.`);
    }
  }
  lines.push('');
  lines.push(
    'Noise: SIPp, the phones and the servers share the same cores on loopback, and other work on the machine ' +
      '(see the load averages) competes with them; the overlay peers also run their overlay maintenance. Post-dial delays of ' +
      'a few milliseconds move with the scheduling of a loaded machine: treat differences within the min–max columns as noise.',
  );
  return lines.join('\n');
}

/**
 * A warning when other work kept the machine busier than its cores: the load before the run and after
 * the light post-dial-delay part (the reading at the end mostly shows the rate search's own SIPp and servers).
 */
function busy(r: CallsBenchResult, nproc: number): string {
  const peak = Math.max(r.load1Before, r.load1Middle);
  if (peak <= nproc) return '';
  return (
    ` The load average exceeded the ${nproc} cores: other work on the machine took a large share of the CPU during this run, ` +
    'so absolute rates are depressed and delays inflated for every system; the ratios and the added delay are the more telling numbers.'
  );
}

function rateRow(e: CallsRateEntry, reps: number): string {
  const w: WorkloadResult | undefined = e.workload;
  const name = e.system === 'kamailio' ? 'Kamailio' : 'p2psip, 2 peers';
  if (w === undefined || w.repetitions.length === 0) {
    return `| ${name} | ${e.description} | not measured: ${escapeCell((e.error ?? 'no result').split('\n')[0] ?? '')} | | | | | | ${e.restarts} |`;
  }
  return (
    `| ${name} | ${e.description} | ${fmt(w.maxRate.median)}${w.repetitions.length < reps ? ` (${w.repetitions.length} reps)` : ''} | ` +
    `${fmt(w.maxRate.min)}–${fmt(w.maxRate.max)} | ${(w.maxRate.relative * 100).toFixed(0)} % | ${limits(w)} | ` +
    `${w.rcvbufErrors === undefined ? 'n/a' : String(w.rcvbufErrors)} | ${w.retransmissionsAtBest.join(', ')} | ${e.restarts} |`
  );
}

function rateRatio(rates: readonly CallsRateEntry[]): string | undefined {
  const o = rates.find((e) => e.system === 'p2psip-overlay')?.workload;
  const k = rates.find((e) => e.system === 'kamailio')?.workload;
  if (o === undefined || k === undefined || k.maxRate.median === 0) return undefined;
  return `${(o.maxRate.median / k.maxRate.median).toFixed(2)} (${fmt(o.maxRate.median)} / ${fmt(k.maxRate.median)})`;
}

function addedDelay(paths: readonly PddPathResult[]): string[] {
  const get = (p: PddPath): PddPathResult | undefined => paths.find((x) => x.path === p && x.laterMedian.median > 0);
  const o = paths.find((x) => x.path === 'overlay');
  const out: string[] = [];
  for (const ref of ['kamailio', 'direct'] as const) {
    const r = get(ref);
    if (o === undefined || r === undefined) continue;
    const parts: string[] = [];
    if (o.first.median > 0) parts.push(`first call ${signed(o.first.median - r.first.median)} ms`);
    if (o.secondCallee.median > 0) parts.push(`first call to a 2nd callee ${signed(o.secondCallee.median - r.secondCallee.median)} ms`);
    if (o.laterMedian.median > 0) parts.push(`later calls ${signed(o.laterMedian.median - r.laterMedian.median)} ms`);
    out.push(`overlay minus ${ref === 'kamailio' ? 'Kamailio' : 'direct'}: ${parts.join(', ')}`);
  }
  return out;
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

function spreadCell(s: { median: number; min: number; max: number }): string {
  if (s.median === 0 && s.max === 0) return '—';
  return `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
}

function fmt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}
