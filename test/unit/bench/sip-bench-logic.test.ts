/**
 * The SIP benchmark's new pure parts (issue 18): option parsing, the REGISTER workloads' user
 * slices and refresh plan, SIPp's per-message counts (2xx and 503 apart), the REGISTER client's
 * message text and latency statistics, the order of the measured servers, and the report's
 * overload and latency tables.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OVERLAY_REPS, parseSipArgs } from '../../../bench/sip/sip-command.js';
import { newUserPrefix, newUserRows, poolRows, poolUser, refreshPlan, refreshScenario, takeCseqBase } from '../../../bench/sip/register-load.js';
import { parseSippCounts, sentSeconds, summarizeCounts } from '../../../bench/sip/sipp-counts.js';
import { formatRegister, latencyStats, parseResponseHead, quantile } from '../../../bench/sip/register-client.js';
import { benchUnits } from '../../../bench/sip/sip-bench.js';
import type { SipBenchResult, WorkloadResult } from '../../../bench/sip/sip-bench.js';
import { renderSection, serverLabel } from '../../../bench/sip/sip-report.js';

describe('sip bench options', () => {
  test('defaults: every workload, both topologies, overload and 200 sequential REGISTERs', () => {
    const a = parseSipArgs([]);
    assert.ok(!('error' in a));
    assert.deepEqual(a.workloads, ['register-new', 'register-refresh', 'calls']);
    assert.deepEqual(a.overlays, [1, 3]);
    assert.deepEqual(a.suts, ['p2psip', 'kamailio']);
    assert.equal(a.overload, true);
    assert.equal(a.latencyCount, 200);
    assert.equal(a.overlayReps, DEFAULT_OVERLAY_REPS);
    assert.equal(a.write, true);
  });

  test('register is another name of register-new; lists are deduplicated and sorted', () => {
    const a = parseSipArgs(['--workload', 'register,register-new,calls', '--overlay', '3,1,3', '--reps', '1', '--no-overload', '--no-write', '--latency', '0']);
    assert.ok(!('error' in a));
    assert.deepEqual(a.workloads, ['register-new', 'calls']);
    assert.deepEqual(a.overlays, [1, 3]);
    assert.equal(a.overlayReps, 1);
    assert.equal(a.overload, false);
    assert.equal(a.write, false);
    assert.equal(a.latencyCount, 0);
  });

  test('bad values are usage errors, not crashes', () => {
    for (const argv of [
      ['--overlay', '2'],
      ['--overlay', ''],
      ['--workload', 'invite'],
      ['--sut', 'asterisk'],
      ['--duration', '0'],
      ['--reps', '1.5'],
      ['--budget', '5'],
      ['--latency', '-1'],
      ['--bogus'],
      ['positional'],
    ]) {
      const a = parseSipArgs(argv);
      assert.ok('error' in a, argv.join(' '));
    }
  });
});

describe('REGISTER workloads', () => {
  test('each register-new trial has its own users', () => {
    const a = newUserRows(newUserPrefix(1), 3);
    const b = newUserRows(newUserPrefix(11), 3);
    assert.deepEqual(a, [['n1x1'], ['n1x2'], ['n1x3']]);
    const names = new Set([...a, ...b, ...newUserRows(newUserPrefix(111), 3)].map((r) => r[0]));
    assert.equal(names.size, 9);
    assert.deepEqual(newUserRows('n2', 0), []);
    assert.throws(() => newUserRows('N;x', 1), RangeError);
    assert.throws(() => newUserRows('n1', -1), RangeError);
  });

  test('the pool file: line k is the user of SIPp call k', () => {
    assert.deepEqual(poolRows(3), [['rf1'], ['rf2'], ['rf3']]);
    assert.equal(poolUser(2), 'rf2');
  });

  test('refresh plan: the pool repeats to offer rate × duration', () => {
    assert.deepEqual(refreshPlan(8000, 2, 2000), { calls: 2000, iterations: 8, total: 16000, pauseMs: 250 });
    assert.deepEqual(refreshPlan(500, 2, 2000), { calls: 1000, iterations: 1, total: 1000, pauseMs: 2000 });
    assert.deepEqual(refreshPlan(3000, 1, 2000), { calls: 2000, iterations: 2, total: 4000, pauseMs: 667 });
    assert.throws(() => refreshPlan(0, 1, 10), RangeError);
    assert.throws(() => refreshPlan(10, 1, 0), RangeError);
  });

  test('CSeq bases only grow, past every REGISTER of the earlier runs', () => {
    const c = { value: 1 };
    assert.equal(takeCseqBase(c, 1), 1);
    assert.equal(takeCseqBase(c, 8), 3);
    assert.equal(takeCseqBase(c, 1), 12);
  });

  test('the refresh scenario: iterations and schedule literal, 503 accepted only in overload', () => {
    const s = refreshScenario({ iterations: 8, pauseMs: 250, accept503: false });
    assert.match(s, /compare="less_than" value="8"/);
    assert.match(s, /<multiply assign_to="w" value="250" \/>/);
    assert.match(s, /Call-ID: \[call_id\]/);
    assert.match(s, /CSeq: \[cseq\] REGISTER/);
    assert.doesNotMatch(s, /response="503"/);
    const o = refreshScenario({ iterations: 1, pauseMs: 0, accept503: true });
    assert.match(o, /<recv response="503" optional="true" rtd="2" next="done">/);
    assert.match(o, /header="Retry-After:" check_it="true"/);
    assert.match(o, /<Reference variables="retry_after" \/>/);
    assert.throws(() => refreshScenario({ iterations: 0, pauseMs: 0, accept503: false }), RangeError);
    assert.throws(() => refreshScenario({ iterations: 1, pauseMs: 1.5, accept503: false }), RangeError);
  });
});

describe('SIPp per-message counts', () => {
  // as SIPp 3.6.1 writes them for harness/scenarios/register-overload.xml (-trace_counts)
  const REGISTER = [
    'CurrentTime;ElapsedTime;0_REGISTER_Sent;0_REGISTER_Retrans;0_REGISTER_Timeout;1_100_Recv;1_100_Retrans;1_100_Timeout;1_100_Unexp;2_503_Recv;2_503_Retrans;2_503_Timeout;2_503_Unexp;3_200_Recv;3_200_Retrans;3_200_Timeout;3_200_Unexp;',
    '2026-12-07\t10:16:49.579066\t1796638609.579066;00:00:00:000000;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;',
    '2026-12-07\t10:16:49.679066\t1796638609.679066;00:00:00:100000;600;0;0;0;0;0;0;200;0;0;0;350;0;0;0;',
    '2026-12-07\t10:16:49.779066\t1796638609.779066;00:00:00:200000;1000;7;0;0;0;0;0;500;0;0;0;480;0;3;2;',
  ].join('\n');
  // uac-overload.xml: the 200 of the INVITE is the first 200 after it, not the BYE's
  const CALLS = [
    'CurrentTime;ElapsedTime;0_INVITE_Sent;0_INVITE_Retrans;0_INVITE_Timeout;1_100_Recv;1_100_Retrans;1_100_Timeout;1_100_Unexp;2_180_Recv;2_180_Retrans;2_180_Timeout;2_180_Unexp;3_503_Recv;3_503_Retrans;3_503_Timeout;3_503_Unexp;4_200_Recv;4_200_Retrans;4_200_Timeout;4_200_Unexp;5_ACK_Sent;5_ACK_Retrans;6_BYE_Sent;6_BYE_Retrans;6_BYE_Timeout;7_200_Recv;7_200_Retrans;7_200_Timeout;7_200_Unexp;8_ACK_Sent;8_ACK_Retrans;',
    '2026-12-07\t10:16:58.820264\t1796638618.820264;00:00:00:208000;10;1;0;0;0;0;0;6;0;0;0;2;0;0;0;7;0;0;0;7;0;7;2;0;6;0;0;0;2;0;',
  ].join('\n');

  test('2xx and 503 apart, retransmissions of requests, timeouts, unexpected', () => {
    const c = parseSippCounts(REGISTER);
    assert.ok(c !== undefined);
    assert.equal(c.rows.length, 3);
    assert.deepEqual(summarizeCounts(c), { request: 'REGISTER', sent: 1000, retransmissions: 7, answered2xx: 480, refused503: 500, timeouts: 3, unexpected: 2 });
    const k = parseSippCounts(CALLS);
    assert.ok(k !== undefined);
    assert.deepEqual(summarizeCounts(k), { request: 'INVITE', sent: 10, retransmissions: 3, answered2xx: 7, refused503: 2, timeouts: 0, unexpected: 0 });
  });

  test('when the requests were sent, interpolated between dumps', () => {
    const c = parseSippCounts(REGISTER);
    assert.ok(c !== undefined);
    const half = sentSeconds(c, 800);
    assert.ok(half !== undefined && Math.abs(half - 0.15) < 1e-9);
    assert.equal(sentSeconds(c, 1000), 0.2);
    assert.equal(sentSeconds(c, 1001), undefined);
  });

  test('anything else is no counts, and bad cells read as 0', () => {
    assert.equal(parseSippCounts(''), undefined);
    assert.equal(parseSippCounts('StartTime;LastResetTime;\n1;2;'), undefined);
    const c = parseSippCounts('CurrentTime;ElapsedTime;0_REGISTER_Sent;2_200_Recv;\nx;bad;1;1;\nx;00:00:01:000000;5;zz;');
    assert.ok(c !== undefined);
    assert.equal(c.rows.length, 1);
    assert.equal(summarizeCounts(c).sent, 5);
    assert.equal(summarizeCounts(c).answered2xx, 0);
    assert.equal(summarizeCounts({ columns: [], rows: [] }).request, undefined);
  });
});

describe('REGISTER client', () => {
  test('the REGISTER text and the answer it is matched by', () => {
    const text = formatRegister({
      server: { host: '127.0.0.1', port: 5060 },
      localPort: 40000,
      contactPort: 5070,
      branch: 'z9hG4bK-1',
      tag: 't1',
      request: { user: 'seqx1', callId: 'seq-1@b', cseq: 2 },
    });
    assert.match(text, /^REGISTER sip:127\.0\.0\.1:5060 SIP\/2\.0\r\n/);
    assert.match(text, /\r\nTo: <sip:seqx1@127\.0\.0\.1>\r\n/);
    assert.match(text, /\r\nContact: <sip:seqx1@127\.0\.0\.1:5070;transport=udp>\r\n/);
    assert.match(text, /\r\nCSeq: 2 REGISTER\r\n/);
    assert.ok(text.endsWith('Content-Length: 0\r\n\r\n'));
    const head = parseResponseHead('SIP/2.0 503 Service Unavailable\r\ni: seq-1@b\r\nCSeq: 2 REGISTER\r\nRetry-After: 3\r\n\r\n');
    assert.deepEqual(head, { status: 503, callId: 'seq-1@b', cseq: 2, method: 'REGISTER', retryAfter: '3' });
    assert.equal(parseResponseHead('REGISTER sip:x SIP/2.0\r\n\r\n'), undefined);
    assert.equal(parseResponseHead(''), undefined);
  });

  test('median and p90 of the 200s; the others fail', () => {
    assert.equal(quantile([], 0.5), 0);
    assert.equal(quantile([3, 1, 2], 0.5), 2);
    assert.equal(quantile(Array.from({ length: 10 }, (_, i) => i + 1), 0.9), 9);
    const s = latencyStats([
      { status: 200, ms: 1, retransmissions: 0 },
      { status: 200, ms: 3, retransmissions: 0 },
      { status: 200, ms: 2, retransmissions: 0 },
      { status: 503, ms: 0.1, retransmissions: 0 },
      { status: undefined, ms: 4000, retransmissions: 3 },
    ]);
    assert.deepEqual(s, { count: 5, failed: 2, medianMs: 2, p90Ms: 3, maxMs: 3 });
  });
});

describe('measured servers and report', () => {
  test('p2psip at each overlay size, Kamailio once', () => {
    assert.deepEqual(benchUnits(['p2psip', 'kamailio'], [1, 3]), [
      { sut: 'p2psip', peers: 1 },
      { sut: 'p2psip', peers: 3 },
      { sut: 'kamailio', peers: undefined },
    ]);
    assert.deepEqual(benchUnits(['kamailio'], [1, 3]), [{ sut: 'kamailio', peers: undefined }]);
    assert.equal(serverLabel({ sut: 'p2psip', peers: 3 }), 'p2psip, 1 of 3 overlay peers');
    assert.equal(serverLabel({ sut: 'kamailio' }), 'kamailio');
  });

  const w = (median: number, overload?: WorkloadResult['overload']): WorkloadResult => ({
    workload: 'register-new',
    repetitions: [{ maxRate: median, limit: 'failures', achievedPerS: median, trials: [] }],
    maxRate: { median, min: median, max: median, relative: 0 },
    rcvbufErrors: 0,
    retransmissionsAtBest: [0],
    ...(overload === undefined ? {} : { overload }),
  });
  const trial = (goodputPerS: number, without: number, failed = 0) => ({
    rate: 3000,
    durationS: 2,
    attempted: 6000,
    achievedPerS: 2990,
    answered2xx: goodputPerS * 2,
    goodputPerS,
    refused503: 6000 - goodputPerS * 2 - failed,
    refusedWithoutRetryAfter: without,
    failed,
    retransmissions: 0,
    rcvbufErrors: 0,
    mean2xxMs: 12,
    mean503Ms: 0.5,
    wallMs: 2100,
  });
  const latency = {
    newRegistrations: { count: 200, failed: 0, medianMs: 2.3, p90Ms: 3.1, maxMs: 9 },
    refreshes: { count: 200, failed: 0, medianMs: 0.37, p90Ms: 0.5, maxMs: 1 },
  };
  const result: SipBenchResult = {
    startedAt: '2026-01-02T03:04:05.000Z',
    durationS: 2,
    reps: 3,
    overlayReps: 2,
    budgetS: 390,
    criteria: { maxFailureRatio: 0.01, minPaceRatio: 0.9 },
    refreshPool: 2000,
    latencyCount: 200,
    load1Before: 0.1,
    load1After: 0.2,
    rcvbufErrorsTotal: 0,
    wallMs: 500_000,
    suts: [
      {
        sut: 'p2psip',
        peers: 1,
        wallMs: 1,
        restarts: 0,
        latency,
        workloads: [w(1000, { baseRate: 1000, trial: trial(950, 0), goodputRatio: 0.95, recovery: { msToFirst200: 3.2, lastLatencyMs: 3.1, probes: 1, before: {} } })],
      },
      {
        sut: 'p2psip',
        peers: 3,
        wallMs: 1,
        restarts: 0,
        workloads: [
          w(400, { baseRate: 400, trial: trial(200, 2), goodputRatio: 0.5, recovery: { msToFirst200: 2500, lastLatencyMs: 8, probes: 3, before: { '503': 2 } } }),
        ],
      },
      {
        sut: 'p2psip',
        peers: 5,
        wallMs: 1,
        restarts: 0,
        workloads: [w(500, { baseRate: 500, trial: trial(500, 0, 1200), goodputRatio: 1, recovery: { msToFirst200: 10, lastLatencyMs: 10, probes: 1, before: {} } })],
      },
      { sut: 'kamailio', wallMs: 1, restarts: 0, latency, workloads: [w(20000)] },
    ],
  };
  const machine = { nproc: 2, cpuModel: 'CPU', kernel: '6.1', node: 'v20', tools: { sipp: 'SIPp v3.6.1', kamailio: 'kamailio 5.6.3' }, rmemMax: 1, rmemDefault: 1 };
  const md = renderSection({ benchmark: 'sip', command: 'npm run bench -- sip', machine, result }, 'bench/results/x.json');

  test('rates per topology, each with its ratio to Kamailio', () => {
    assert.match(md, /\| p2psip alone \(1-peer overlay\) \| new REGISTER\/s \(AoRs never seen\) \| 1,000 \(1 reps\) \|.*\| 0\.05 \|/);
    assert.match(md, /\| p2psip, 1 of 3 overlay peers \| new REGISTER\/s \(AoRs never seen\) \| 400 \(1 reps\) \|.*\| 0\.02 \|/);
    assert.match(md, /p2psip alone \(1-peer overlay\) 0\.05 \(1,000 \/ 20,000\); p2psip, 1 of 3 overlay peers 0\.02 \(400 \/ 20,000\)/);
    assert.match(md, /at the 3-peer overlay at most 2/);
    assert.match(md, /a pool of 2,000 AoRs/);
  });

  test('the overload table: goodput, 503s, recovery and the verdict against the targets', () => {
    assert.match(md, /\| p2psip alone \(1-peer overlay\) \| new REGISTER\/s \(AoRs never seen\) \| 3,000 \(2,990\) \| 950 \| 95 % of 1,000 \| 4,100 \(68 %\) \| 0 \| 0 \| 12\.0 \/ 0\.50 ms \| 3\.20 ms \(1 probe; that REGISTER 3\.10 ms\) \| yes \|/);
    assert.match(md, /\| 50 % of 400 \|.*\| 2 \|.*2,500 ms \(3 probes; before: 503 ×2; that REGISTER 8\.00 ms\) \| no: goodput 50 %, recovery, 503 without Retry-After \|/);
    assert.match(md, /< 1 % of the requests answered neither/);
  });

  test('the excess timing out instead of a 503 misses the target', () => {
    assert.match(md, /\| p2psip, 1 of 5 overlay peers \|.*\| 1,200 \|.*\| no: 20 % neither 2xx nor 503 \|/);
  });

  test('the sequential latency table', () => {
    assert.match(md, /\| p2psip alone \(1-peer overlay\) \| 2\.30 \| 3\.10 \| 0\.37 \| 0\.50 \| 0 \/ 0 \|/);
    assert.match(md, /\| kamailio \| 2\.30 \| 3\.10 \| 0\.37 \| 0\.50 \| 0 \/ 0 \|/);
    assert.doesNotMatch(md, /\| p2psip, 1 of 3 overlay peers \| 2\.30/);
  });
});
