/**
 * Writing a presence benchmark run down: the JSON (bench/results/presence-<date>.json) and its
 * section of BENCHMARKS.md, replaced between its markers (other sections are left alone).
 */
import type { Spread } from '../sip/rate-search.js';
import type { MachineInfo } from '../sip/system-info.js';
import type { PresenceBenchResult, PresenceSystem, SystemResult } from './presence-bench.js';
import type { RateSummary } from './presence-stats.js';

export const PRESENCE_SECTION_START = '<!-- presence-bench:start (written by `npm run bench -- presence`; edits here are overwritten) -->';
export const PRESENCE_SECTION_END = '<!-- presence-bench:end -->';

export interface PresenceReport {
  readonly benchmark: 'presence';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly result: PresenceBenchResult;
}

const NAME: Readonly<Record<PresenceSystem, string>> = { p2psip: 'p2psip', kamailio: 'Kamailio' };

/** Numeric fields of the objects added up, one level of nesting flattened (`overlay.hintsSent`); others ignored. */
export function sumCounters(objects: readonly unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (prefix: string, o: unknown): void => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      const name = prefix === '' ? k : `${prefix}.${k}`;
      if (typeof v === 'number' && Number.isFinite(v)) out[name] = (out[name] ?? 0) + v;
      else if (prefix === '') add(name, v);
    }
  };
  for (const o of objects) add('', o);
  return out;
}

/** a / b to two decimals, or – when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return '–';
  return (a / b).toFixed(2);
}

function ms(v: number | undefined, digits = 1): string {
  return v === undefined ? '–' : v.toFixed(digits);
}

function range(s: Spread | undefined, digits = 1): string {
  if (s === undefined) return '–';
  const f = (v: number): string => (digits === 0 ? int(v) : v.toFixed(digits));
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function int(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function failed(r: RateSummary): string {
  const e = Object.entries(r.failed);
  return e.length === 0 ? '0' : e.map(([status, n]) => `${n} (${status})`).join(', ');
}

function converged(r: RateSummary, watchers: number): string {
  if (r.notConverged === 0) return `all, after ${range(r.convergedAfterMs, 0)} ms`;
  return `${r.reps - r.notConverged} of ${r.reps} reps; fewest ${int(r.convergedMin)} / ${int(watchers)}`;
}

/** The markdown section for a report. */
export function renderPresenceSection(report: PresenceReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const o = r.options;
  const sys = (s: PresenceSystem): SystemResult | undefined => r.systems.find((x) => x.system === s);
  const p = sys('p2psip');
  const k = sys('kamailio');
  // ratios only between systems that ran
  const both = p !== undefined && k !== undefined && p.error === undefined && k.error === undefined;
  const perPresentity = o.watchers / o.presentities;
  const lines: string[] = [];
  lines.push(`## Presence: NOTIFY fan-out latency and updates per second, ${int(o.watchers)} watchers over ${o.peers} peers vs Kamailio's presence server`);
  lines.push('');
  lines.push(`Run ${r.startedAt} with \`${report.command}\` (${(r.wallMs / 1000).toFixed(0)} s); raw data: \`${jsonPath}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ${m.tools['kamailio'] ?? '?'}; ` +
      `net.core.rmem_max ${m.rmemMax ?? '?'} B (the generator's sockets got ${r.systems[0]?.receiveBufferBytes ?? '?'} B). ` +
      `Load average (1 min): ${r.systems.map((s) => `${NAME[s.system]} ${s.load1Before.toFixed(2)} before, ${s.load1After.toFixed(2)} after`).join('; ')}. ` +
      'The generator (this process), the servers and whatever else runs on the machine share these cores: see the CPU columns below.',
  );
  lines.push('');
  lines.push(
    `Method (\`bench/presence/\`): a load generator of the benchmark's own sends raw SIP over UDP (one socket per lane, ${o.peers} lanes; ` +
      `the watchers and presentities of a lane share it with distinct users, Call-IDs and Contacts), retransmits its requests like a UDP ` +
      `client transaction (T1 500 ms doubling to 4 s, 8 s without an answer = failed) and answers every NOTIFY 200 at once. ` +
      `${o.presentities} presentities, each PUBLISHing (RFC 3903, a PIDF whose note carries a sequence number; every PUBLISH modifies ` +
      `the publication the last 200 named, SIP-If-Match) through lane j mod ${o.peers}; ${int(o.watchers)} watchers, watcher k ` +
      `subscribed (Event: presence, Expires ${1800} s) to presentity k mod ${o.presentities} through lane ⌊k/${o.presentities}⌋ mod ${o.peers}: ` +
      `${int(perPresentity)} watchers per presentity, ${int(perPresentity / o.peers)} of them at each lane. ` +
      `p2psip: ${p?.description ?? describeMissing('p2psip')}; so one fifth of a presentity's watchers are at the peer where it publishes ` +
      `(their NOTIFYs need no hint, but the state is still read from the overlay) and four fifths at other peers (the storing peer's hint, ` +
      `then a Fetch, then the NOTIFYs). Kamailio: ${k?.description ?? describeMissing('kamailio')}; the ${o.peers} lanes all send to it. ` +
      `Each system runs on freshly started servers, one after the other, with the same generator: first states published, ` +
      `SUBSCRIBEs at ${o.subscribeRate}/s at most, a wait until each watcher shows its presentity's first state, then the fan-out rounds, then the rate steps.`,
  );
  lines.push('');
  lines.push('### Fan-out latency (PUBLISH sent → a watcher\'s first NOTIFY carrying the new state)');
  lines.push('');
  lines.push(
    `${o.rounds} rounds; round r: presentity r mod ${o.presentities} publishes its next state; per watcher of it (${int(perPresentity)}), the time ` +
      `from sending the PUBLISH to the first NOTIFY carrying that number; the round's median and its last watcher (all reached). ` +
      `Rounds are ${o.roundGapMs} ms apart after the last watcher is reached (beyond the peers' 200 ms pacing of a subscription's ` +
      `NOTIFYs, so nothing is coalesced; ${o.roundTimeoutMs} ms bound). The table gives the median over rounds with min–max, ms.`,
  );
  lines.push('');
  lines.push('| system | rounds complete | round median | round last (all reached) | watchers at the publishing peer, median | at the other peers, median | watchers missed |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of r.systems) {
    const l = s.latency;
    lines.push(
      `| ${NAME[s.system]} | ${l.complete} / ${l.rounds} | ${range(l.median)} | ${range(l.complete > 0 ? l.last : undefined)} | ` +
        `${s.system === 'p2psip' ? range(l.samePeerMedian) : 'one server'} | ${s.system === 'p2psip' ? range(l.otherPeersMedian) : 'one server'} | ${l.missed} |`,
    );
  }
  lines.push('');
  if (both && p.latency.rounds > 0 && k.latency.rounds > 0) {
    lines.push(
      `Ratio p2psip / Kamailio (medians over rounds): round median ${ratio(p.latency.median.median, k.latency.median.median)}, ` +
        `last watcher ${ratio(p.latency.complete > 0 ? p.latency.last.median : undefined, k.latency.complete > 0 ? k.latency.last.median : undefined)}.`,
    );
    lines.push('');
  }
  lines.push('### Presence updates per second');
  lines.push('');
  lines.push(
    `Each step offers PUBLISHes at a fixed rate for ${o.stepS} s, round-robin over the ${o.presentities} presentities; the ladder of rates ` +
      `is climbed ${o.reps === 1 ? 'once' : `${o.reps} times`} on the same servers and the table gives the median over the repetitions with min–max. A presentity has ` +
      'one PUBLISH in flight at a time (each modifies the last), so a slot whose presentity still waits for its answer is skipped ' +
      '("skipped", all repetitions). "Answered 200/s": PUBLISHes answered 200 per second of the step; "PUBLISH ms": send → 200, each ' +
      'repetition\'s median (and p90); "NOTIFY/s": new NOTIFYs received during the step (retransmissions left out); "NOTIFYs per ' +
      'change": new NOTIFYs from the step\'s start to the end of its settling per PUBLISH answered 200 and watcher of its presentity ' +
      `(${int(perPresentity)}): 1 when every watcher hears of every change, below 1 when changes are coalesced — expected and allowed ` +
      '(RFC 6665 §4.2.2 rate control: a p2psip peer sends a subscription at most one NOTIFY per 200 ms, with the latest state; ' +
      'Kamailio sends one per PUBLISH). "On the last state": whether every watcher\'s NOTIFY with the highest CSeq showed its ' +
      `presentity's last state answered 200 within ${o.settleMs / 1000} s of the step's last answer, and how long after it. ` +
      'CPU in cores (1.00 = one core busy for the whole step): the servers\' processes together, and the generator; the ' +
      'generator\'s event-loop delay (worst p99 of the repetitions) delays its sends and timestamps by that much; UDP drops: the ' +
      'machine-wide UdpRcvbufErrors during the steps.',
  );
  lines.push('');
  lines.push('| system | offered PUBLISH/s | answered 200/s | skipped | failed | PUBLISH ms, median | PUBLISH ms, p90 | NOTIFY/s | NOTIFYs per change | on the last state | server CPU | generator CPU | generator loop delay p99 | UDP drops |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const s of r.systems) {
    for (const x of s.rates) {
      lines.push(
        `| ${NAME[s.system]} | ${x.rate} | ${range(x.okPerS)} | ${x.skippedBusy} | ${failed(x)} | ${range(x.publishMedianMs)} | ${range(x.publishP90Ms)} | ` +
          `${range(x.notifiesPerS, 0)} | ${range(x.notifiesPerChange, 2)} | ${converged(x, o.watchers)} | ${range(x.serverCores, 2)} | ${range(x.generatorCores, 2)} | ` +
          `${ms(x.loopDelayP99MaxMs)} ms | ${x.udpRcvbufErrors ?? '–'} |`,
      );
    }
  }
  lines.push('');
  if (both && p.rates.length > 0 && k.rates.length > 0) {
    lines.push('Ratio p2psip / Kamailio per offered rate, medians (answered 200/s; NOTIFY/s; PUBLISH → 200 median):');
    lines.push('');
    for (const pr of p.rates) {
      const kr = k.rates.find((x) => x.rate === pr.rate);
      lines.push(`- ${pr.rate} PUBLISH/s: ${ratio(pr.okPerS.median, kr?.okPerS.median)}; ${ratio(pr.notifiesPerS.median, kr?.notifiesPerS.median)}; ${ratio(pr.publishMedianMs.median, kr?.publishMedianMs.median)}`);
    }
    lines.push('');
  }
  lines.push('### Setting up, and what the servers counted');
  lines.push('');
  lines.push('| system | start (ms) | first PUBLISHes answered 200 | SUBSCRIBEs answered 2xx (time) | all watchers notified after | all on the first state after | requests retransmitted | NOTIFYs received (new) | terminated NOTIFYs at stop |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.systems) {
    const subs = Object.entries(s.subscribeStatuses).filter(([st]) => !st.startsWith('2'));
    lines.push(
      `| ${NAME[s.system]}${s.error === undefined ? '' : ` (failed: ${s.error.replace(/\|/g, '/')})`} | ${int(s.startMs)} | ${s.initialPublishOk} / ${o.presentities} | ` +
        `${int(s.subscribeOk)} / ${int(o.watchers)}${subs.length === 0 ? '' : ` (others: ${subs.map(([st, n]) => `${n}×${st}`).join(', ')})`} (${int(s.subscribeMs)} ms) | ` +
        `${s.allNotifiedMs === undefined ? `${int(s.notified)} of ${int(o.watchers)} only` : `${int(s.allNotifiedMs)} ms`} | ` +
        `${s.allInitialStateMs === undefined ? `${int(s.initialState)} of ${int(o.watchers)} only` : `${int(s.allInitialStateMs)} ms`} | ` +
        `${int(s.counters.retransmissions)} | ${int(s.counters.notifies)} (${int(s.counters.notifiesInOrder)}) | ${int(s.terminatedAtStop)} |`,
    );
  }
  lines.push('');
  if (p !== undefined && p.serverStatus.length > 0) {
    const c = sumCounters(p.serverStatus);
    const pick = (key: string): string => (c[key] === undefined ? '?' : int(c[key]));
    lines.push(
      `The ${o.peers} peers together (\`/api/status\` services.presence, at the end): ${pick('subscriptions')} subscriptions, ${pick('notifies')} NOTIFYs sent ` +
        `(${pick('removedByNotifyFailure')} subscriptions removed by a failed NOTIFY), ${pick('overlay.fetches')} presence Fetches (${pick('overlay.fetchFailures')} failed), ` +
        `${pick('overlay.publishes')} presence Stores (${pick('overlay.publishFailures')} failed), ${pick('overlay.hintsSent')} hints sent, ` +
        `${pick('overlay.hintsReceived')} received, ${pick('overlay.hintsDropped')} dropped (more than 64 in flight at a peer).`,
    );
    lines.push('');
  }
  lines.push(...findings(report));
  lines.push(
    'What differs between the two setups: p2psip runs five node processes that are the overlay (Chord maintenance, TLS links, ' +
      'replicas) and carries every change through it — the publishing peer Stores the composed PIDF at the presentity\'s storing peer, ' +
      'which hints each watcher peer, which Fetches the state back (signed values, checked) and only then NOTIFYs; Kamailio is one ' +
      'process family holding every publication and subscription in its own shared memory and NOTIFYs from the worker that took the ' +
      'PUBLISH. The overlay\'s work is the price of having no server, and it is spread over five processes where a real deployment has ' +
      'five machines; here all five share the machine\'s cores with the generator (Kamailio runs after them, alone with the generator).',
  );
  lines.push('');
  lines.push(
    'Noise: every process runs on the same few cores on loopback, and other work on the machine competes (see the load averages). ' +
      'A latency of a few milliseconds moves with scheduling; the min–max columns show how much from round to round. At the higher ' +
      'rates the generator itself needs a good share of a core (generator CPU, loop delay): beyond that point the numbers measure the ' +
      'machine, not the server.',
  );
  return lines.join('\n');
}

/** Sentences the numbers call for (each only when its condition holds in this run). */
function findings(report: PresenceReport): string[] {
  const { result: r, machine: m } = report;
  const o = r.options;
  const out: string[] = [];
  const add = (text: string): void => {
    out.push(text, '');
  };
  const p = r.systems.find((s) => s.system === 'p2psip');
  const busyLoad = r.systems.filter((s) => Math.max(s.load1Before, s.load1After) > m.nproc);
  if (busyLoad.length > 0) {
    add(
      `The load average exceeded the ${m.nproc} cores around the ${busyLoad.map((s) => NAME[s.system]).join(' and ')} part${busyLoad.length > 1 ? 's' : ''}: other work on the machine ` +
        'took a share of the CPU, so rates are depressed and latencies inflated there.',
    );
  }
  if (p !== undefined) {
    const saturated = p.rates.filter((x) => x.serverCores.median > 0.6 * m.nproc);
    if (saturated.length > 0) {
      add(
        `At ${saturated.map((x) => x.rate).join(', ')} PUBLISH/s the ${o.peers} peers together used ${saturated.map((x) => x.serverCores.median.toFixed(2)).join(', ')} ` +
          `of the machine's ${m.nproc} cores (median): the overlay is CPU-bound on this machine there, which is where PUBLISHes get slower than a ` +
          'presentity\'s interval (skipped slots) and the generator waits for a core (its loop delay, with little CPU of its own).',
      );
    }
    const stale = p.rates.filter((x) => x.notConverged > 0);
    if (stale.length > 0) {
      const c = sumCounters(p.serverStatus);
      add(
        `**Not every watcher ended on the last state** at ${stale.map((x) => `${x.rate} PUBLISH/s (${x.notConverged} of ${x.reps} repetitions; fewest ${int(x.convergedMin)} of ${int(o.watchers)})`).join(', ')}: ` +
          `the peers counted ${int(c['overlay.publishFailures'] ?? 0)} presence Stores failed and ${int(c['overlay.hintsDropped'] ?? 0)} hints dropped. ` +
          'A watcher at another peer hears of a change only through the storing peer\'s hint and a Fetch; a failed Store or a dropped ' +
          'hint is caught up only at the presentity\'s next change (usages/presence/overlay-presence.ts), so the last state of a burst can ' +
          'stay unseen until the presentity changes again. Kamailio had no such case.',
      );
    }
  }
  const k = r.systems.find((s) => s.system === 'kamailio');
  if (k !== undefined) {
    add(
      `Kamailio ran with ${o.kamailioShmMb} MiB of shared memory. With its usual 128 MiB (what \`harness/sip-server.ts\` gives it by default) ` +
        'a trial run with 1,000 watchers ran out of it from about 30 PUBLISH/s (tm keeps each NOTIFY transaction about 5 s after its ' +
        'answer: "could not allocate shared memory from shm pool") and answered the PUBLISHes 500; `--kamailio-shm 128` shows it.',
    );
  }
  const drops = r.systems.flatMap((s) => s.rates.filter((x) => (x.udpRcvbufErrors ?? 0) > 0).map((x) => `${NAME[s.system]} at ${x.rate} PUBLISH/s: ${int(x.udpRcvbufErrors ?? 0)}`));
  if (drops.length > 0) {
    add(
      `UDP datagrams dropped for a full receive buffer (machine-wide, so possibly other programs'): ${drops.join('; ')}. ` +
        'A dropped request or NOTIFY is retransmitted (T1) and costs time, not the change.',
    );
  }
  return out;
}

function describeMissing(system: PresenceSystem): string {
  return `not run (${system})`;
}
