/**
 * Writing a NAT benchmark run down: the JSON (bench/results/nat-<date>.json) and the NAT section of
 * BENCHMARKS.md between its markers (the summary: nat-summary.ts; the findings: nat-findings.ts).
 */
import { resultFileName } from '../bench-files.js';
import type { MachineInfo } from '../sip/system-info.js';
import type { Spread } from '../sip/rate-search.js';
import type { NatBenchResult } from './nat-bench.js';
import { natFindings, natSuggestions } from './nat-findings.js';
import type { NatSummary } from './nat-summary.js';

export const NAT_SECTION_START = '<!-- nat-bench:start (written by `npm run bench -- nat`; edits here are overwritten) -->';
export const NAT_SECTION_END = '<!-- nat-bench:end -->';

export interface NatReport {
  readonly benchmark: 'nat';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly result: NatBenchResult;
  readonly summary: NatSummary;
}

export function natResultFileName(startedAt: string): string {
  return resultFileName('nat', startedAt);
}

const f0 = (x: number): string => x.toFixed(0);
const f1 = (x: number): string => x.toFixed(1);
const ratio = (x: number, b: number): string => (b > 0 ? `${(x / b).toFixed(2)}` : '—');
const range = (s: Spread): string => `${f0(s.median)} (${f0(s.min)}–${f0(s.max)})`;

/** The markdown section for a report. */
export function renderNatSection(report: NatReport, jsonPath: string): string {
  const { machine: m, result: r, summary: s } = report;
  const rtt = s.rttMs;
  const L: string[] = [];
  L.push('## Across NATs: join, Fetch and call set-up with 50 ms one-way on the public segment (NAT lab)');
  L.push('');
  L.push(`Run ${r.startedAt} with \`${report.command}\` (${f0(r.wallMs / 1000)} s); raw data: \`${jsonPath}\`.`);
  L.push('');
  L.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}. Load average (1 min): ` +
      `${r.load1Before.toFixed(2)} before, ${r.load1After.toFixed(2)} at the end.${r.load1Before > m.nproc || r.load1After > m.nproc ? ` The load exceeded the ${m.nproc} cores: other work competed with the peers, and every time below is inflated by it.` : ''}`,
  );
  L.push('');
  const d = r.delayLine;
  L.push(
    `Network: the NAT lab (harness/nat-lab) with its public segment served by the delay line (harness/nat-lab/delay-switch.py, ` +
      `a userspace switch: this kernel has no netem), ${r.options.delayMs} ms one way for every frame crossing it, so RTT = ${rtt} ms ` +
      `between any two sites or public hosts; a LAN does not cross it. UDP echo across it: ${r.echoRttMs === undefined ? '?' : f1(r.echoRttMs)} ms. ` +
      (d === undefined
        ? ''
        : `Switch (scheduled ${r.delayLineSched ?? '?'}) counters at the end: ${d.received} frames in, ${d.forwarded} out, ${d.badChecksums} with a bad checksum, ` +
          `${d.droppedQueueFull} dropped (queue full), ${d.sendErrors} send errors; released late by > 1 ms: ${d.late1ms ?? '?'} frames, > 10 ms: ${d.late10ms ?? '?'}, ` +
          `at most ${f1(d.maxLatenessMs)} ms.`),
  );
  L.push('');
  L.push(
    'Peers (`p2psip up --ice`): `boot` (public, the bootstrap and TURN relay), `pub2` (public), `fc1` (full cone), `pr1` and `pr2` ' +
      '(two different port-restricted routers), `sym1` (symmetric), `lan1` + `lan2` (one home LAN behind a port-restricted router). ' +
      `${r.options.rounds} rounds; before each round but the first every peer except \`boot\` is stopped (SIGTERM, a clean Leave) and ` +
      'started again with a new Node-ID, one after the other, so its join is into an overlay of all the others and no SIP channel ' +
      `survives${r.options.samePort ? ' (on the same overlay port 6084)' : ' (on the next overlay port, 6085, 6086, …: on the same port behind a NAT the previous incarnation\'s mapping, and its TURN allocation if its stop did not delete it, make the new Allocate fail with 437; run with `--same-port` to see it)'}. Per round: ${r.options.fetches} Fetches of random Resource-IDs from every peer (kind 3, through /api/storage/fetch), ` +
      `one first call per pair, then ${r.options.laterCalls} calls per pair on the channel the first one opened (UDP phones of ` +
      'harness/dialog-phone.ts next to each peer, callee answers 180 at once; INVITE → 180 measured by the caller).',
  );
  L.push('');
  L.push(
    `**Physical bound** = the round trips the protocol needs in series × RTT (bench/nat/nat-bounds.ts): a path costs 1 RTT, ` +
      '0 inside one LAN, 2 where only the TURN relay at `boot` can carry it (symmetric ↔ port-restricted); no processing time, ' +
      'no timers. Fetch = 1 path RTT to the responsible peer (0 when it is the requester or on its LAN). A call on an open ' +
      'channel = Fetch of the callee\'s AoR (the registration cache is off by default: every call fetches) + INVITE→180 1. ' +
      'A first call = Fetch + AppAttach 1 + ICE 1.5 (first check 1; the nominating check reaches the callee\'s peer 0.5 later, ' +
      'and only then does it start DTLS as the client) + DTLS 1.2 with the cookie exchange 2.5 (ClientHello, HelloVerifyRequest, ' +
      'ClientHello, server flight, client flight reaching the caller\'s peer) + INVITE→180 1 = Fetch + 6 path RTT. ' +
      'Join: see the join table. Ratio = measured median / bound median.',
  );
  L.push('');
  L.push('### Call set-up delay (INVITE sent → 180 received), per pair');
  L.push('');
  L.push(
    '| caller → callee | path | first call, median (min–max), n | bound | ratio | channel (pair: count) | ICE+DTLS at the caller | calls on the open channel, median (min–max) | p90 | n | bound | ratio | failed |',
  );
  L.push('|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of s.calls) {
    L.push(
      `| ${c.pair}: ${c.caller} → ${c.callee} | ${c.pathRtts} RTT | ${range(c.first)}, ${c.first.n} | ${f0(c.firstBound.median)} | ${ratio(c.first.median, c.firstBound.median)} | ` +
        `${c.channelPairs || '—'} | ${range(c.setup)} | ${range(c.later)} | ${f0(c.later.p90)} | ${c.later.n} | ${f0(c.laterBound.median)} | ${ratio(c.later.median, c.laterBound.median)} | ${c.failed} |`,
    );
  }
  L.push('');
  L.push(
    'ICE+DTLS at the caller = the caller\'s peer\'s SIP channel from the AppAttach answer to DTLS open (`setupMs` in /api/status), ' +
      `bound 4 path RTT (${4 * rtt} ms direct, ${8 * rtt} ms relayed). Bounds vary with where the callee's registration is stored ` +
      '(the bound column is the median).',
  );
  L.push('');
  const failed = r.calls.filter((c) => c.status !== 200 || c.ringMs === undefined);
  if (failed.length > 0) {
    const byPair = new Map<string, string[]>();
    for (const c of failed) {
      const k = `${c.pair} (${c.first ? 'first call' : 'on the channel'})`;
      byPair.set(k, [...(byPair.get(k) ?? []), `round ${c.round}: ${c.status} after ${f0(c.finalMs)} ms${c.finalLine === undefined ? '' : ` "${c.finalLine}"`}`]);
    }
    L.push(`**Failed calls** (${failed.length}): ${[...byPair].map(([k, v]) => `${k}: ${v.slice(0, 3).join('; ')}${v.length > 3 ? `; … (${v.length})` : ''}`).join(' — ')}.`);
    L.push('');
  }
  const noRelay = r.relays.filter((x) => x.overlay !== 'allocated' || x.sip !== 'allocated');
  L.push(
    noRelay.length === 0
      ? `Every NATed peer had its two TURN relays (overlay port, SIP port) at \`boot\` in every round.`
      : `NATed peers missing a TURN relay (overlay / SIP port): ${noRelay.map((x) => `${x.peer} round ${x.round} (${String(x.overlay)} / ${String(x.sip)})`).join(', ')}.`,
  );
  L.push('');
  if (r.bootTurn.length > 0) {
    L.push(
      `TURN server at \`boot\` after each round's (re)starts (${r.relays.length / Math.max(1, r.options.rounds)} NATed peers, 2 allocations each): ` +
        `${r.bootTurn.map((t) => `round ${t.round}: ${t.allocations} allocations, error answers so far ${JSON.stringify(t.errors)}`).join('; ')}.`,
    );
    L.push('');
  }
  const staleLeft = r.stale.filter((x) => x.stale > 0);
  if (r.stale.length > 0) {
    L.push(
      `Registrations withdrawn at a clean stop: after each restart, the previous round's AoR of every restarted peer's phone was looked up; ` +
        `${staleLeft.length} of ${r.stale.length} were still registered under the stopped peer's Node-ID${staleLeft.length === 0 ? '.' : ` (${staleLeft.map((x) => `${x.aor.replace(/^sip:|@.*$/g, '')}`).join(', ')}): a call to such an AoR waits for an AppAttach to a dead peer (see below). Each round's phones use a new AoR, so that this does not touch the measurements.`}`,
    );
    L.push('');
  }
  const chanFail = r.channels.filter((c) => c.failures !== undefined);
  if (chanFail.length > 0) {
    L.push(`SIP channel failures at the callers' peers: ${chanFail.map((c) => `${c.pair}, round ${c.round}: ${c.failures ?? ''}`).join(' — ')}.`);
    L.push('');
  }
  L.push('Where the time of a first call goes (medians over rounds, ms):');
  L.push('');
  L.push('| pair | first call | − calls on the channel (Fetch + INVITE→180) | − ICE+DTLS | = AppAttach + locator (rest) | AppAttach bound |');
  L.push('|---|---:|---:|---:|---:|---:|');
  for (const c of s.calls) {
    L.push(`| ${c.pair} | ${f0(c.first.median)} | ${f0(c.later.median)} | ${f0(c.setup.median)} | ${f0(c.appAttachEstimate.median)} (${f0(c.appAttachEstimate.min)}–${f0(c.appAttachEstimate.max)}) | ${f0(c.pathRtts * rtt)} |`);
  }
  L.push('');
  if (s.target !== undefined) {
    const t = s.target;
    L.push(
      `**Target (issue 12): a call between two joined peers behind port-restricted NATs adds at most 2 RTT over the same call between public peers.** ` +
        `pr1 → pr2 minus pub2 → boot, medians: first call ${t.firstRtts.toFixed(2)} RTT (the bounds differ by ${t.firstBoundRtts.toFixed(1)}: ` +
        `where each callee's registration is stored), calls on the open channel ${t.laterRtts.toFixed(2)} RTT (bounds differ by ${t.laterBoundRtts.toFixed(1)}). ` +
        `${t.firstRtts <= 2 && t.laterRtts <= 2 ? 'Met.' : 'Not met' + (t.laterRtts <= 2 ? ' for the first call (met on the open channel).' : '.')}`,
    );
    L.push('');
  }
  L.push('### Join time (process start → state `joined`, from the peer\'s own log)');
  L.push('');
  L.push('| peer | behind | total, median (min–max) | start → `joining` (node start, identity, STUN) | `joining` → `joined` | n | bound (total / joining→joined) | ratio (total / joining→joined) |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const j of s.joins) {
    L.push(
      `| ${j.peer} | ${j.nat} | ${range(j.total)} | ${range(j.beforeJoining)} | ${range(j.joining)} | ${j.n} | ${f0(j.boundMs)} / ${f0(j.boundJoiningMs)} | ` +
        `${ratio(j.total.median, j.boundMs)} / ${ratio(j.joining.median, j.boundJoiningMs)} |`,
    );
  }
  L.push('');
  const nat = s.joins.find((j) => j.nat !== 'none');
  const pubj = s.joins.find((j) => j.nat === 'none');
  L.push(
    `Joins of the restarts (rounds 2–${r.options.rounds}: all 7 others joined). Bound counted from the code path: ` +
      `${nat?.counted ?? ''} (NATed; a public peer gets no TURN relay: ${pubj?.counted ?? ''}). The start → \`joining\` part is mostly ` +
      'CPU: node start, loading the modules, the identity, before any packet.',
  );
  L.push('');
  L.push('### Fetch latency (random Resource-IDs, from each peer)');
  L.push('');
  L.push('| peer | behind | n | median (ms) | p90 (ms) | bound, median (ms) | ratio | median excess over each Fetch\'s bound (ms) | answered on its own LAN | a Ping to a random ID: overlay hops, median (max, n) | its time, median (ms) |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const f of s.fetches) {
    L.push(`| ${f.peer} | ${f.nat} | ${f.n} | ${f1(f.median)} | ${f1(f.p90)} | ${f0(f.boundMedian)} | ${ratio(f.median, f.boundMedian)} | ${f1(f.excessMedian)} | ${f.local} | ${f.hops.median} (${f.hops.max}, ${f.hops.n}) | ${f1(f.hops.pingMedianMs)} |`);
  }
  L.push('');
  L.push(
    `Fetch failures: ${r.fetchFailures}. A Fetch routed over two overlay hops costs 2 RTT where a direct link would cost 1; ` +
      'the excess column shows it (≈ 0: direct; ≈ RTT: one more hop, or a relayed link).',
  );
  if (r.ringProblems.length > 0) {
    L.push('');
    L.push(`Ring not converged when measured: ${r.ringProblems.join('; ')}.`);
  }
  L.push('');
  L.push('### What is slow, and why (from these numbers)');
  L.push('');
  for (const f of natFindings(r, s)) L.push(`- ${f}`);
  L.push('');
  L.push('Suggestions for src/ (not changed here):');
  L.push('');
  for (const f of natSuggestions(s.calls, rtt)) L.push(`- ${f}`);
  L.push('');
  L.push(
    `Noise: ${r.options.rounds} first calls per pair are few: the min–max columns are the honest spread. All peers, phones and the ` +
      'delay line share the machine\'s cores (see the load); the delay line\'s own release error is in its counters above.',
  );
  return L.join('\n');
}
