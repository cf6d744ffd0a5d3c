import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PresenceBenchResult, SystemResult } from '../../../bench/presence/presence-bench.js';
import { PRESENCE_SECTION_END, PRESENCE_SECTION_START, renderPresenceSection, type PresenceReport } from '../../../bench/presence/presence-report.js';
import { summariseRound, summariseRounds, summariseSteps, type StepResult } from '../../../bench/presence/presence-stats.js';
import { replaceMarkedSection } from '../../../bench/marked-section.js';
import { spread } from '../../../bench/sip/rate-search.js';

const MACHINE = { nproc: 2, cpuModel: 'test cpu', kernel: '6.1', node: 'v20.19.0', tools: { kamailio: 'kamailio 5.6.3' }, rmemMax: 4194304, rmemDefault: 212992 };

function step(rate: number, okPerS: number, publishMedian: number): StepResult {
  return {
    rep: 1,
    rate,
    durationS: 5,
    offered: rate * 5,
    sent: rate * 5,
    skippedBusy: 0,
    ok: okPerS * 5,
    failed: {},
    okPerS,
    okPerSecond: spread([okPerS]),
    publishMs: spread([publishMedian]),
    publishP90Ms: publishMedian * 2,
    notifiesPerS: okPerS * 100,
    notifiesPerSecond: spread([okPerS * 100]),
    notifiesPerChange: 1,
    converged: 1000,
    convergedAfterMs: 0,
    serverCores: 0.5,
    generatorCores: 0.1,
    loopDelayP99Ms: 1,
    loopDelayMaxMs: 2,
    udpRcvbufErrors: 0,
  };
}

function system(name: 'p2psip' | 'kamailio', roundMs: number, steps: StepResult[], error?: string): SystemResult {
  const rounds = [summariseRound([{ samePeer: true, ms: roundMs }, { samePeer: false, ms: roundMs * 2 }])].map((r) => ({ ...r, presentity: 0, seq: 1, publishStatus: 200, publishMs: 1 }));
  return {
    system: name,
    description: `${name} under test`,
    startMs: 100,
    receiveBufferBytes: 8388608,
    initialPublishOk: 10,
    subscribeOk: 1000,
    subscribeStatuses: { 200: 1000 },
    subscribeMs: 5000,
    notified: 1000,
    allNotifiedMs: 5010,
    initialState: 1000,
    allInitialStateMs: 5010,
    rounds,
    latency: summariseRounds(rounds),
    steps,
    rates: summariseSteps(steps),
    counters: { notifies: 10, notifiesInOrder: 10, notifiesUnknown: 0, notifiesTerminated: 0, publishOk: 10, stray: 0, retransmissions: 0 },
    terminatedAtStop: 1000,
    serverStatus: name === 'p2psip' ? [{ subscriptions: 500, overlay: { hintsSent: 3 } }, { subscriptions: 500, overlay: { hintsSent: 4 } }] : [],
    load1Before: 1,
    load1After: 1,
    wallMs: 60_000,
    ...(error === undefined ? {} : { error }),
  };
}

function report(systems: SystemResult[]): PresenceReport {
  const result: PresenceBenchResult = {
    startedAt: '2026-12-07T08:00:00.000Z',
    options: { systems: systems.map((s) => s.system), peers: 5, presentities: 10, watchers: 1000, subscribeRate: 200, rounds: 1, roundGapMs: 300, roundTimeoutMs: 5000, rates: [20], stepS: 5, reps: 1, settleMs: 5000, kamailioWorkers: 4, kamailioShmMb: 2048 },
    systems,
    wallMs: 120_000,
  };
  return { benchmark: 'presence', command: 'npm run bench -- presence', machine: MACHINE, result };
}

test('the section: both systems side by side with their ratios, the peers\' counters added up, and it fits between its markers', () => {
  const md = renderPresenceSection(report([system('p2psip', 20, [step(20, 20, 4)]), system('kamailio', 4, [step(20, 20, 0.5)])]), 'bench/results/presence-2026-12-07.json');
  assert.match(md, /^## Presence: NOTIFY fan-out latency/);
  assert.match(md, /raw data: `bench\/results\/presence-2026-12-07\.json`/);
  assert.match(md, /\| p2psip \| 1 \/ 1 \| 30\.0 \(30\.0–30\.0\) \| 40\.0 \(40\.0–40\.0\) \| 20\.0 \(20\.0–20\.0\) \| 40\.0 \(40\.0–40\.0\) \| 0 \|/);
  assert.match(md, /\| Kamailio \| 1 \/ 1 \| 6\.0 .* \| one server \| one server \| 0 \|/);
  assert.match(md, /round median 5\.00, last watcher 5\.00/);
  assert.match(md, /- 20 PUBLISH\/s: 1\.00; 1\.00; 8\.00/);
  assert.match(md, /1,000 subscriptions/);
  assert.match(md, /7 hints sent/);
  const doc = replaceMarkedSection('# Benchmarks\n\n## Other\n', PRESENCE_SECTION_START, PRESENCE_SECTION_END, md);
  assert.ok(doc.startsWith('# Benchmarks\n\n## Other\n'));
  assert.ok(doc.trimEnd().endsWith(PRESENCE_SECTION_END));
});

test('a system that failed is shown as failed, with no ratio made up', () => {
  const md = renderPresenceSection(report([system('p2psip', 20, [step(20, 20, 4)]), system('kamailio', 0, [], 'kamailio did not start | boom')]), 'x.json');
  assert.match(md, /Kamailio \(failed: kamailio did not start \/ boom\)/);
  assert.doesNotMatch(md, /- 20 PUBLISH\/s:/);
});
