/**
 * Writing a SIP benchmark run down: the full JSON (bench/results/sip-<date>.json) and the
 * SIP section of BENCHMARKS.md, which is replaced between its markers (other sections of
 * the file are left alone).
 */
import { resultFileName as benchResultFileName } from '../bench-files.js';
import { spliceMarkedBlock } from '../marked-section.js';
import type { LatencyStats } from './register-client.js';
import { OVERLOAD_FACTOR } from './sip-bench.js';
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
  'register-new': 'new REGISTER/s (AoRs never seen)',
  'register-refresh': 'refresh REGISTER/s (same AoR, Contact, Call-ID)',
  calls: 'calls/s (INVITE/100/180/200/ACK/BYE)',
};

/** Issue 18's overload targets: goodput at 3× >= 90 % of the max rate, a 200 again within 2 s. */
export const GOODPUT_TARGET = 0.9;
export const RECOVERY_TARGET_MS = 2000;
/** Requests of the overload answered neither 2xx nor 503 (timeouts, other answers): below 1 %. */
export const EXCESS_FAILURE_TARGET = 0.01;

/** "p2psip alone", "p2psip, 1 of 3 overlay peers", "kamailio". */
export function serverLabel(s: Pick<SutResult, 'sut' | 'peers'>): string {
  if (s.sut !== 'p2psip' || s.peers === undefined) return s.sut;
  return s.peers === 1 ? 'p2psip alone (1-peer overlay)' : `p2psip, 1 of ${s.peers} overlay peers`;
}

/** The markdown section for a report. */
export function renderSection(report: SipReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const lines: string[] = [];
  lines.push('## SIP front: REGISTER/s and calls/s (SIPp), p2psip alone and in a 3-peer overlay vs Kamailio');
  lines.push('');
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ` +
      `${m.tools['sipp'] ?? '?'}, ${m.tools['kamailio'] ?? '?'}; net.core.rmem_max ${String(m.rmemMax)} B, ` +
      `rmem_default ${String(m.rmemDefault)} B. Load average (1 min) ${r.load1Before.toFixed(2)} before, ${r.load1After.toFixed(2)} after.`,
  );
  lines.push('');
  lines.push(methodText(r));
  lines.push('');
  lines.push('| server | workload | median max rate | min–max | spread | next step up failed by | UDP rcvbuf errors (all trials) | SIPp retransmissions at max | p2psip / Kamailio |');
  lines.push('|---|---|---:|---:|---:|---|---:|---:|---:|');
  const kam = r.suts.find((s) => s.sut === 'kamailio');
  for (const s of r.suts) {
    const name = serverLabel(s);
    if (s.error !== undefined) {
      lines.push(`| ${name} | — | not measured: ${escapeCell(s.error.split('\n')[0] ?? '')} | | | | | | |`);
      if (s.workloads.length === 0) continue;
    }
    for (const w of s.workloads) {
      const reps = repsOf(r, s);
      const k = s.sut === 'p2psip' ? kam?.workloads.find((x) => x.workload === w.workload) : undefined;
      const ratio = k === undefined || k.maxRate.median === 0 ? '' : (w.maxRate.median / k.maxRate.median).toFixed(2);
      lines.push(
        `| ${name} | ${LABEL[w.workload]} | ${fmt(w.maxRate.median)}${w.repetitions.length < reps ? ` (${w.repetitions.length} reps)` : ''} | ` +
          `${fmt(w.maxRate.min)}–${fmt(w.maxRate.max)} | ` +
          `${(w.maxRate.relative * 100).toFixed(0)} % | ${limits(w)} | ${w.rcvbufErrors === undefined ? 'n/a' : String(w.rcvbufErrors)} | ` +
          `${w.retransmissionsAtBest.join(', ')} | ${ratio} |`,
      );
    }
  }
  lines.push('');
  const ratios = ratioLines(r.suts);
  if (ratios.length > 0) {
    lines.push('Ratio p2psip / Kamailio (medians of the highest passing rates):');
    lines.push('');
    for (const l of ratios) lines.push(`- ${l}`);
    lines.push('');
  }
  const overload = overloadLines(r.suts);
  if (overload.length > 0) {
    lines.push(
      `Overload: ${OVERLOAD_FACTOR}× the median highest passing rate for ${r.durationS} s, 503 accepted (issue 18: goodput ≥ ${GOODPUT_TARGET * 100} % ` +
        `of that rate, the excess refused with 503 and Retry-After (< ${EXCESS_FAILURE_TARGET * 100} % of the requests answered neither), a new REGISTER answered 200 within ${RECOVERY_TARGET_MS / 1000} s after it):`,
    );
    lines.push('');
    lines.push(
      '| server | workload | offered/s (SIPp reached) | 2xx/s (goodput) | goodput / max rate | 503s (of sent) | 503 without Retry-After | neither 2xx nor 503 | mean time to 2xx / 503 (SIPp) | first 200 after the overload | meets the targets |',
    );
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const l of overload) lines.push(l);
    lines.push('');
  }
  const latency = latencyLines(r.suts);
  if (latency.length > 0) {
    lines.push(
      `Sequential REGISTER latency on the idle server (${r.latencyCount ?? '?'} new AoRs one after the other, then a refresh of each; ` +
        'a Node UDP client on loopback, answer to 200, ms):',
    );
    lines.push('');
    lines.push('| server | new: median | new: p90 | refresh: median | refresh: p90 | not answered 200 (new / refresh) |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const l of latency) lines.push(l);
    lines.push('');
  }
  lines.push(
    'Noise: every process runs on the same few cores, so the SIPp generator and UAS compete with the server (at the ' +
      'Kamailio rates SIPp needs about a core of its own; at 3 peers two more peers share the cores); UdpRcvbufErrors is a machine-wide counter, so other work on the machine shows up in it; ' +
      'a load average well above 0 before the run means other work was competing. Treat differences within the spread ' +
      'column as noise.',
  );
  return lines.join('\n');
}

function methodText(r: SipBenchResult): string {
  const overlayReps =
    r.overlayReps !== undefined && r.overlayReps < r.reps ? ` (at the 3-peer overlay at most ${r.overlayReps}, its restarts cost more)` : '';
  return (
    `Method: the SIPp generator, the SIPp UAS (calls) and the server share the machine's cores on loopback. ` +
    `Workloads: new REGISTERs (every REGISTER of a trial is an AoR the server has never seen: each trial has its own user names), ` +
    `refresh REGISTERs (a pool of ${fmt(r.refreshPool ?? 0)} AoRs registered before the trials at a low rate, registered again ` +
    `with the same Contact and Call-ID and a higher CSeq: each pool phone is one SIPp call that repeats its REGISTER after pool/rate seconds), ` +
    `and calls to a callee registered at the measured server. p2psip is measured alone (a one-peer overlay) and as one of 3 ` +
    `overlay peers (2 more \`p2psip up\` peers join it before the trials; SIPp talks to the first only, whose registrations are ` +
    `stored in the overlay); Kamailio (usrloc in memory) has no overlay and is measured once. ` +
    `Each trial offers a fixed rate for ${r.durationS} s (SIPp buffers 4 MiB, a REGISTER or call unanswered for 2 s counts as failed). ` +
    `A trial passes with < ${r.criteria.maxFailureRatio * 100} % failed and SIPp sending at ≥ ${r.criteria.minPaceRatio * 100} % of the ` +
    `offered pace (a server that queues instead of answering throttles SIPp's 1-second window of outstanding calls, and a refresh ` +
    `phone waits for its answer; so does SIPp running out of CPU). After a trial that overloaded the server (failures, ` +
    `retransmissions or dropped datagrams) the server (at 3 peers all three) is restarted, and the refresh pool registered again, ` +
    `so that the next trial does not inherit its backlog. The first repetition doubles the rate until a trial fails (the 3-peer ` +
    `search starts at the one-peer result) and bisects twice (resolution ×1.19); the others step ×1.19 up or down from it. ` +
    `Numbers are the median of ${r.reps} repetitions${overlayReps} of the highest passing offered rate, with min–max ` +
    `(fewer repetitions, shown as "(n reps)", when the ${r.budgetS} s time budget of the searches ran out).`
  );
}

function repsOf(r: SipBenchResult, s: SutResult): number {
  return (s.peers ?? 1) > 1 && r.overlayReps !== undefined ? Math.min(r.reps, r.overlayReps) : r.reps;
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
  const k = suts.find((s) => s.sut === 'kamailio');
  const ps = suts.filter((s) => s.sut === 'p2psip');
  if (k === undefined || ps.length === 0) return [];
  const workloads: Workload[] = [];
  for (const p of ps) for (const w of p.workloads) if (!workloads.includes(w.workload)) workloads.push(w.workload);
  const out: string[] = [];
  for (const wl of workloads) {
    const kw = k.workloads.find((x) => x.workload === wl);
    if (kw === undefined || kw.maxRate.median === 0) continue;
    const parts: string[] = [];
    for (const p of ps) {
      const w = p.workloads.find((x) => x.workload === wl);
      if (w === undefined) continue;
      parts.push(`${serverLabel(p)} ${(w.maxRate.median / kw.maxRate.median).toFixed(2)} (${fmt(w.maxRate.median)} / ${fmt(kw.maxRate.median)})`);
    }
    if (parts.length > 0) out.push(`${LABEL[wl]}: ${parts.join('; ')}`);
  }
  return out;
}

function overloadLines(suts: readonly SutResult[]): string[] {
  const out: string[] = [];
  for (const s of suts) {
    for (const w of s.workloads) {
      const o = w.overload;
      if (o === undefined) continue;
      const t = o.trial;
      const share = t.attempted === 0 ? '' : ` (${((t.refused503 / t.attempted) * 100).toFixed(0)} %)`;
      const rec = o.recovery;
      const recText =
        rec === undefined
          ? 'not probed'
          : rec.msToFirst200 === undefined
            ? `none within the probe window (${rec.probes} probes: ${statuses(rec.before)})`
            : `${fmtMs(rec.msToFirst200)} ms (${rec.probes} probe${rec.probes === 1 ? '' : 's'}${rec.probes > 1 ? `; before: ${statuses(rec.before)}` : ''}; that REGISTER ${fmtMs(rec.lastLatencyMs ?? 0)} ms)`;
      const goodOk = o.goodputRatio >= GOODPUT_TARGET;
      const recOk = rec?.msToFirst200 !== undefined && rec.msToFirst200 <= RECOVERY_TARGET_MS;
      const raOk = t.refusedWithoutRetryAfter === 0;
      // the excess is refused, not left to time out: as few requests without an answer as a passing trial may have
      const excessOk = t.attempted > 0 && t.failed / t.attempted < EXCESS_FAILURE_TARGET;
      const verdict =
        goodOk && recOk && raOk && excessOk
          ? 'yes'
          : `no: ${[
              goodOk ? '' : `goodput ${(o.goodputRatio * 100).toFixed(0)} %`,
              excessOk ? '' : `${t.attempted === 0 ? 0 : ((t.failed / t.attempted) * 100).toFixed(0)} % neither 2xx nor 503`,
              recOk ? '' : 'recovery',
              raOk ? '' : '503 without Retry-After',
            ]
              .filter((x) => x !== '')
              .join(', ')}`;
      out.push(
        `| ${serverLabel(s)} | ${LABEL[w.workload]} | ${fmt(t.rate)} (${fmt(t.achievedPerS)}) | ${fmt(t.goodputPerS)} | ${(o.goodputRatio * 100).toFixed(0)} % of ${fmt(o.baseRate)} | ` +
          `${fmt(t.refused503)}${share} | ${fmt(t.refusedWithoutRetryAfter)} | ${fmt(t.failed)} | ${t.mean2xxMs === undefined ? '—' : fmtMs(t.mean2xxMs)} / ${t.mean503Ms === undefined ? '—' : fmtMs(t.mean503Ms)} ms | ` +
          `${escapeCell(recText)} | ${verdict}${t.note === undefined ? '' : ` (${escapeCell(t.note)})`} |`,
      );
    }
  }
  return out;
}

function latencyLines(suts: readonly SutResult[]): string[] {
  const out: string[] = [];
  for (const s of suts) {
    const l = s.latency;
    if (l === undefined) continue;
    const cell = (x: LatencyStats, k: 'medianMs' | 'p90Ms'): string => (x.failed === x.count ? '—' : fmtMs(x[k]));
    out.push(
      `| ${serverLabel(s)} | ${cell(l.newRegistrations, 'medianMs')} | ${cell(l.newRegistrations, 'p90Ms')} | ` +
        `${cell(l.refreshes, 'medianMs')} | ${cell(l.refreshes, 'p90Ms')} | ${l.newRegistrations.failed} / ${l.refreshes.failed} |`,
    );
  }
  return out;
}

function statuses(m: Readonly<Record<string, number>>): string {
  const e = Object.entries(m);
  return e.length === 0 ? 'none' : e.map(([k, n]) => `${k} ×${n}`).join(', ');
}

function fmt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

/** Milliseconds: 2 decimals below 10, 1 below 100, whole above. */
function fmtMs(v: number): string {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}
