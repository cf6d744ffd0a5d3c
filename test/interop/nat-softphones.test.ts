/**
 * Issue 12 with real, independent phones in the NAT lab: SIPp, baresip and linphonec on private LANs
 * use their LAN's p2psip peer (all with `--ice`) as registrar and outbound proxy and reach phones
 * behind other routers; the SIP between the peers crosses the NATs inside the ICE/DTLS channels
 * AppAttach opens (usages/sip/sip-channels.ts).
 *
 *   public:            boot  peer + SIPp UAS u-boot
 *   fc  (full cone):   fc1   peer + SIPp UAS u-fc
 *   pr  (port-restr.): pr1   peer + SIPp UAS u-pr;   pr2  linphonec `lin`
 *   sym (symmetric):   sym1  peer + SIPp UAS u-sym;  sym2 peer + SIPp UAS u-gone (its peer is killed)
 *   blk (UDP blocked): blk1  peer + SIPp UAS u-blk
 *   home (port-restr.): lan1 peer;                   lan2 SIPp UAC `caller`, baresip `bare`
 *
 * 1. SIPp: every phone REGISTERs at its local peer (SIPp scenario); `caller` sends a MESSAGE to the
 *    phone behind each router (200, and the receiving SIPp checks the text), then calls each of them
 *    100 times (INVITE/180/200/ACK/BYE, Record-Route followed): 0 failed.
 * 2. baresip (home) and linphonec (port-restricted site) register at their LAN's peer, call each other
 *    3 times each way (auto-answer), hang up, exchange a MESSAGE each way.
 * 3. The UDP-blocked site (its peer is a client over TLS; its SIP channels run through a TURN relay it
 *    reaches over TCP): `caller` sends a MESSAGE to u-blk; then u-blk and u-home (a SIPp UAS on lan2) call each other 100 times each way.
 * 4. Last (it changes the overlay): the peer of u-gone is killed (kill -9); a call to u-gone gets a final
 *    answer (404/408/480) with a reason phrase, never silence.
 * Per pair: calls ok/failed, SIPp's response times, and which candidate pair each peer's SIP channels use.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, missingTools } from '../../harness/require-tools.js';
import { ProcessScope } from '../../harness/process-scope.js';
import { NatLab, startLabPeer, LAB_SIP_PORT } from '../../harness/nat-lab/index.js';
import type { LabHost, LabPeer } from '../../harness/nat-lab/index.js';
import { scenario } from '../../harness/paths.js';
import { describeSippResult, writeInjectionFile } from '../../harness/sipp-runner.js';
import type { SippResult, SippRun } from '../../harness/sipp-runner.js';
import { quantile, runLabSipp, sippResponseTimes, startLabSipp } from '../../harness/nat-lab/nat-softphone-sipp.js';
import type { LabSippOptions } from '../../harness/nat-lab/nat-softphone-sipp.js';
import { describeSipChannels, labPeerStatus } from '../../harness/nat-lab/nat-softphone-status.js';
import { LabBaresip } from '../../harness/nat-lab/nat-softphone-baresip.js';
import { LabLinphonec } from '../../harness/nat-lab/nat-softphone-linphonec.js';
import { until } from './helpers/lab-until.js';

const DOMAIN = 'p2psip.local';
const CALLS = 100;
/** Calls per second of each SIPp UAC (one UAC per callee, all at once). */
const RATE = 10;
const SOFTPHONE_CALLS = 3;
const STEP_MS = 20_000;
const UAS_PORT = 5070;
const TOOLS = ['ip', 'nft', 'sipp', 'baresip', 'linphonec'];

/** Callee sites reachable today (phone host = peer host) and the UDP-blocked one. */
const CALLEES = ['boot', 'fc1', 'pr1', 'sym1'] as const;
const BLOCKED = 'blk1';
const VICTIM = 'sym2';
const PEER_HOSTS = ['boot', 'fc1', 'pr1', 'sym1', VICTIM, BLOCKED, 'lan1'] as const;
/** The peer each phone host uses (its LAN's peer). */
const LOCAL_PEER: Record<string, string> = { lan2: 'lan1', pr2: 'pr1' };
const userAt = (host: string): string => `u-${host.replace(/\d+$/, '')}`;

const skipReason = ((): string | false => {
  if (isRoot()) return false;
  const missing = missingTools(TOOLS);
  return `network namespaces need root${missing.length > 0 ? `; missing program(s): ${missing.join(', ')}` : ''}`;
})();

describe('real phones across NATs (NAT lab): SIPp, baresip, linphonec', { skip: skipReason, timeout: 240_000 }, () => {
  let scope: ProcessScope;
  let lab: NatLab;
  let dir: string;
  const peers = new Map<string, LabPeer>();
  const t0 = Date.now();
  const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  const host = (name: string): LabHost => lab.host(name);
  const proxyOf = (phoneHost: string): string => `${host(LOCAL_PEER[phoneHost] ?? phoneHost).address}:${LAB_SIP_PORT}`;
  const workDir = (name: string): string => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  /** A SIPp REGISTER of `user` at its local peer, its Contact `contactPort` on the same host. */
  const register = async (phoneHost: string, user: string, contactPort: number, localPort: number): Promise<SippResult> => {
    const wd = workDir(`reg-${user}`);
    const csv = join(wd, 'user.csv');
    writeInjectionFile(csv, [[user]]);
    return runLabSipp(host(phoneHost), {
      name: `register-${user}`, scenario: scenario('overlay-register.xml'), workDir: wd, localPort, remote: proxyOf(phoneHost),
      calls: 1, timeoutS: 30, recvTimeoutMs: 15_000, injectionFile: csv, traceMessages: true,
      keys: { domain: DOMAIN, contact_host: host(phoneHost).address, contact_port: String(contactPort) },
    });
  };
  /** A REGISTER's result and the status line of its answer, for messages. */
  const described = (r: SippResult): string => `${describeSippResult(r)}; answer "${finalStatusLine(join(dir, `reg-${r.name.replace(/^register-/, '')}`, `${r.name}-messages.log`)) ?? 'none'}"`;
  /** A SIPp UAC on `from` (through its local peer) as user `caller`, to user `callee`. */
  const uac = (name: string, callee: string, localPort: number, more: Partial<LabSippOptions> & Pick<LabSippOptions, 'scenario' | 'calls' | 'timeoutS'>, from = 'lan2', caller = 'caller') => {
    const wd = workDir(name);
    const csv = join(wd, 'callee.csv');
    writeInjectionFile(csv, [[callee, caller]]);
    return { wd, run: startLabSipp(host(from), { name, workDir: wd, localPort, remote: proxyOf(from), injectionFile: csv, keys: { domain: DOMAIN }, ...more }) };
  };
  const channelDiagnostics = async (t: { diagnostic(m: string): void }): Promise<void> => {
    const names = [...peers.keys()].filter((n) => peers.get(n)!.proc.exitInfo === undefined);
    const st = await Promise.all(names.map((n) => labPeerStatus(host(n)).catch((e: unknown) => ({ error: String(e) }) as Record<string, unknown>)));
    names.forEach((n, i) => t.diagnostic(`${n} (${host(n).nat}): ${describeSipChannels(st[i]!)}`));
  };

  before(async () => {
    const missing = missingTools(TOOLS);
    // as root a missing program is a failure (.ci/install-interop.sh installs them)
    if (missing.length > 0) throw new Error(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh`);
    scope = new ProcessScope();
    dir = scope.tempDir('p2psip-nat-softphones-');
    lab = await NatLab.builder(scope)
      .options({ stunHost: false })
      .publicHost('boot')
      .site('fc', 'full-cone', ['fc1'])
      .site('pr', 'port-restricted', ['pr1', 'pr2'])
      .site('sym', 'symmetric', ['sym1', VICTIM])
      .site('blk', 'udp-blocked', [BLOCKED])
      .site('home', 'port-restricted', ['lan1', 'lan2'])
      .build();
    const boot = await startLabPeer(host('boot'), { lifetimeMs: 230_000 });
    peers.set('boot', boot);
    await Promise.all(
      PEER_HOSTS.filter((n) => n !== 'boot').map(async (n) => {
        peers.set(n, await startLabPeer(host(n), { bootstrap: boot.overlayAddress, lifetimeMs: 230_000 }));
      }),
    );
    await until('all peers joined', 60_000, async () => {
      const s = await Promise.all(PEER_HOSTS.map((n) => labPeerStatus(host(n))));
      return s.every((x) => x['state'] === 'joined') ? s : s.map((x, i) => `${PEER_HOSTS[i]}=${String(x['state'])}`).join(' ');
    });
    process.stderr.write(`# nat-softphones: lab built, ${peers.size} peers joined after ${since()}\n`);
  });

  after(async () => {
    await scope?.dispose();
  });

  test(`SIPp: a home-LAN phone sends a MESSAGE to and calls (${CALLS}×) phones behind a public peer, full-cone, port-restricted and symmetric routers`, async (t) => {
    // every phone registers at its local peer: the callees (Contact: their UAS port) and the caller
    const regs = await Promise.all([...CALLEES.map((h) => register(h, userAt(h), UAS_PORT, 5080)), register('lan2', 'caller', 5071, 5080)]);
    for (const r of regs) assert.equal(r.stats?.successfulCalls, 1, described(r));
    t.diagnostic(`${regs.length} REGISTERs answered 200 (mean ${Math.round(regs.reduce((a, r) => a + (r.stats?.responseTimeMs ?? 0), 0) / regs.length)} ms) at ${since()}`);

    // MESSAGE to each callee; its SIPp checks the text and answers 200
    const msgUas = CALLEES.map((h) => startLabSipp(host(h), { name: `msg-uas-${h}`, scenario: scenario('overlay-message-uas.xml'), workDir: workDir(`msg-uas-${h}`), localPort: UAS_PORT, calls: 1, timeoutS: 30, recvTimeoutMs: 25_000, extraArgs: ['-trace_logs'] }));
    const msgUac = await Promise.all(CALLEES.map((h, k) => uac(`msg-${h}`, userAt(h), 5081 + k, { scenario: scenario('overlay-message-uac.xml'), calls: 1, timeoutS: 30, recvTimeoutMs: 20_000 }).run.done));
    const msgSeen = await Promise.all(msgUas.map((u) => u.done));
    CALLEES.forEach((h, k) => t.diagnostic(`MESSAGE lan2 (home) → ${h} (${host(h).nat}): ${msgUac[k]!.stats?.successfulCalls === 1 ? `200 in ${msgUac[k]!.stats?.responseTimeMs} ms` : 'FAILED'}; ${h}'s SIPp logged ${JSON.stringify(sippLog(workDir(`msg-uas-${h}`)))}`));
    CALLEES.forEach((h, k) => {
      assert.equal(msgUac[k]!.stats?.successfulCalls, 1, `MESSAGE to ${h}: ${describeSippResult(msgUac[k]!)}\n${msgUac[k]!.errorsExcerpt}`);
      assert.equal(msgSeen[k]!.stats?.successfulCalls, 1, `MESSAGE seen at ${h}: ${describeSippResult(msgSeen[k]!)}\n${msgSeen[k]!.errorsExcerpt}`);
    });

    // CALLS calls to each callee, one UAC per callee, all at once
    const uases = CALLEES.map((h) => startLabSipp(host(h), { name: `uas-${h}`, scenario: scenario('overlay-uas.xml'), workDir: workDir(`uas-${h}`), localPort: UAS_PORT, calls: CALLS, timeoutS: 90, recvTimeoutMs: 60_000 }));
    const tc = Date.now();
    const uacs = CALLEES.map((h, k) => uac(`uac-${h}`, userAt(h), 5071 + k, { scenario: scenario('overlay-uac.xml'), calls: CALLS, rate: RATE, maxConcurrent: 20, timeoutS: 80, recvTimeoutMs: 20_000, extraArgs: ['-trace_rtt', '-rtt_freq', '1'] }));
    const results = await Promise.all(uacs.map((u) => u.run.done));
    const answered = await Promise.all(uases.map((u) => finish(u, 5000)));
    t.diagnostic(`${CALLEES.length} pairs × ${CALLS} calls (${RATE}/s each) in ${Date.now() - tc} ms, at ${since()}`);
    CALLEES.forEach((h, k) => {
      const r = results[k]!;
      const rtt = sippResponseTimes(uacs[k]!.wd);
      t.diagnostic(`lan2 (home, port-restricted) → ${h} (${host(h).nat}): calls ok ${r.stats?.successfulCalls ?? '?'} failed ${r.stats?.failedCalls ?? '?'}, retransmissions ${r.stats?.retransmissions ?? '?'}, ` +
        `INVITE→200 mean ${r.stats?.responseTimeMs?.toFixed(0) ?? '?'} ms, p50 ${quantile(rtt, 0.5) ?? '?'} p95 ${quantile(rtt, 0.95) ?? '?'} max ${quantile(rtt, 1) ?? '?'} ms; UAS answered ${answered[k]!.stats?.successfulCalls ?? '?'}`);
    });
    await channelDiagnostics(t);
    CALLEES.forEach((h, k) => {
      const r = results[k]!;
      assert.equal(r.stats?.failedCalls, 0, `${h}: ${describeSippResult(r)}\n${r.errorsExcerpt}`);
      assert.equal(r.stats?.successfulCalls, CALLS, `${h}: ${describeSippResult(r)}\n${r.errorsExcerpt}`);
      assert.equal(r.exitCode, 0, `${h}: ${describeSippResult(r)}`);
      assert.equal(answered[k]!.stats?.successfulCalls, CALLS, `UAS ${h}: ${describeSippResult(answered[k]!)}\n${answered[k]!.errorsExcerpt}`);
    });
  });

  test(`baresip (home LAN) and linphonec (port-restricted LAN) call each other ${SOFTPHONE_CALLS}× each way and exchange MESSAGEs`, async (t) => {
    const bareUri = `sip:bare@${DOMAIN}`;
    const linUri = `sip:lin@${DOMAIN}`;
    const [bare, lin] = await Promise.all([
      LabBaresip.start(host('lan2'), {
        user: 'bare', domain: DOMAIN, dir: workDir('baresip'), sipPort: 5090, ctrlPort: 4444, consPort: 5555, rtpPorts: [10000, 10019],
        proxy: proxyOf('lan2'), lifetimeMs: 120_000, contacts: [{ name: 'lin', uri: linUri }],
      }),
      LabLinphonec.start(host('pr2'), { user: 'lin', domain: DOMAIN, home: workDir('linphonec'), sipPort: 5090, rtpPorts: [10000, 10019], proxy: proxyOf('pr2'), autoAnswer: true, lifetimeMs: 120_000 }),
    ]);
    t.diagnostic(`baresip: ${await bare.waitRegistered(STEP_MS)}`);
    await lin.waitRegistered(STEP_MS);
    t.diagnostic(`linphonec registered at ${proxyOf('pr2')}, at ${since()}`);

    const setup: number[] = [];
    // baresip calls linphonec (-a answers); baresip hangs up
    for (let i = 0; i < SOFTPHONE_CALLS; i++) {
      const ev = bare.eventCount();
      const line = lin.lineCount();
      const c0 = Date.now();
      const dial = await bare.command('dial', linUri);
      assert.ok(dial.ok, `baresip dial failed: ${dial.data}`);
      await bare.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
      setup.push(Date.now() - c0);
      await lin.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line);
      const hangup = await bare.command('hangup');
      assert.ok(hangup.ok, `baresip hangup failed: ${hangup.data}`);
      await bare.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
      await lin.waitForLine(/Call \d+ with .*ended/, STEP_MS, line);
    }
    t.diagnostic(`baresip → linphonec: ${SOFTPHONE_CALLS} calls answered, dial→established ${setup.join(', ')} ms`);
    setup.length = 0;
    // linphonec calls baresip (answermode=auto); linphonec hangs up
    for (let i = 0; i < SOFTPHONE_CALLS; i++) {
      const ev = bare.eventCount();
      let line = lin.lineCount();
      const c0 = Date.now();
      lin.command(`call ${bareUri}`);
      await lin.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line);
      setup.push(Date.now() - c0);
      await bare.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
      line = lin.lineCount();
      lin.command('terminate');
      await bare.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
      await lin.waitForLine(/Call \d+ with .*ended/, STEP_MS, line);
    }
    t.diagnostic(`linphonec → baresip: ${SOFTPHONE_CALLS} calls answered, call→connected ${setup.join(', ')} ms`);

    // MESSAGE both ways (RFC 3428)
    let line = lin.lineCount();
    const sent = await bare.command('message', 'hello-lin-from-baresip');
    assert.ok(sent.ok, `baresip message failed: ${sent.data}`);
    t.diagnostic(`linphonec: ${await lin.waitForLine(/Message received from .*bare/, STEP_MS, line)}`);
    await lin.waitForLine(/hello-lin-from-baresip/, STEP_MS, line);
    line = lin.lineCount();
    lin.command(`chat ${bareUri} hello-bare-from-linphonec`);
    t.diagnostic(`baresip console: ${await bare.waitConsole('hello-bare-from-linphonec', STEP_MS)}`);
    await channelDiagnostics(t);

    assert.equal(await lin.quit(), 0, `linphonec exit:\n${lin.process.tail()}`);
    assert.equal(await bare.quit(), 0, `baresip exit:\n${bare.process.tail()}`);
  });

  test('phones behind the UDP-blocked router and the home LAN: MESSAGE, then 100 calls each way', async (t) => {
    const regs = await Promise.all([register(BLOCKED, userAt(BLOCKED), UAS_PORT, 5080), register('lan2', 'u-home', 5077, 5080)]);
    t.diagnostic(`REGISTER at ${BLOCKED}'s peer: ${described(regs[0])}`);
    for (const r of regs) assert.equal(r.stats?.successfulCalls, 1, described(r));
    try {
      // one MESSAGE first: when it fails (at once with a 480, or at Timer F) the calls are not tried
      const msgUas = startLabSipp(host(BLOCKED), { name: 'msg-uas-blk', scenario: scenario('overlay-message-uas.xml'), workDir: workDir('msg-uas-blk'), localPort: UAS_PORT, calls: 1, timeoutS: 40, recvTimeoutMs: 35_000, extraArgs: ['-trace_logs'] });
      const m = uac('msg-blk', userAt(BLOCKED), 5085, { scenario: scenario('overlay-message-uac.xml'), calls: 1, timeoutS: 40, recvTimeoutMs: 35_000, traceMessages: true });
      const msg = await m.run.done;
      await msgUas.stop();
      t.diagnostic(`MESSAGE lan2 (home) → ${BLOCKED} (udp-blocked): "${finalStatusLine(join(m.wd, 'msg-blk-messages.log')) ?? 'no answer'}" after ${msg.wallMs} ms; ${BLOCKED}'s SIPp logged ${JSON.stringify(sippLog(workDir('msg-uas-blk')))}`);
      if (msg.stats?.successfulCalls !== 1) {
        // seen in CI (twice): answered 202, kept as for an absent user, right after the REGISTER's 200;
        // what the two peers on the path logged says which of them gave up, and why
        // lan2 is a phone host: its peer runs on lan1 (LOCAL_PEER)
        for (const n of ['lan2', BLOCKED]) {
          const at = LOCAL_PEER[n] ?? n;
          t.diagnostic(`${n}'s peer (on ${at}), last lines:\n${peers.get(at)?.proc.tail(25) ?? '(no peer there)'}`);
        }
      }
      assert.equal(msg.stats?.successfulCalls, 1, `MESSAGE to the phone behind the UDP-blocked router: ${describeSippResult(msg)}`);

      // CALLS calls each way at once: home → blk, blk → home
      const uases = [
        startLabSipp(host(BLOCKED), { name: 'uas-blk', scenario: scenario('overlay-uas.xml'), workDir: workDir('uas-blk'), localPort: UAS_PORT, calls: CALLS, timeoutS: 70, recvTimeoutMs: 60_000 }),
        startLabSipp(host('lan2'), { name: 'uas-home', scenario: scenario('overlay-uas.xml'), workDir: workDir('uas-home'), localPort: 5077, calls: CALLS, timeoutS: 70, recvTimeoutMs: 60_000 }),
      ];
      const opts = { scenario: scenario('overlay-uac.xml'), calls: CALLS, rate: RATE, maxConcurrent: 20, timeoutS: 60, recvTimeoutMs: 20_000, extraArgs: ['-trace_rtt', '-rtt_freq', '1'] };
      const uacs = [uac('uac-blk', userAt(BLOCKED), 5075, opts), uac('uac-from-blk', 'u-home', 5081, opts, BLOCKED, userAt(BLOCKED))];
      const results = await Promise.all(uacs.map((u) => u.run.done));
      const answered = await Promise.all(uases.map((u) => finish(u, 5000)));
      const labels = [`lan2 (home) → ${BLOCKED} (udp-blocked)`, `${BLOCKED} (udp-blocked) → lan2 (home)`];
      results.forEach((r, k) => {
        const rtt = sippResponseTimes(uacs[k]!.wd);
        t.diagnostic(`${labels[k]}: calls ok ${r.stats?.successfulCalls ?? '?'} failed ${r.stats?.failedCalls ?? '?'}, retransmissions ${r.stats?.retransmissions ?? '?'}, ` +
          `INVITE→200 p50 ${quantile(rtt, 0.5) ?? '?'} p95 ${quantile(rtt, 0.95) ?? '?'} max ${quantile(rtt, 1) ?? '?'} ms; UAS answered ${answered[k]!.stats?.successfulCalls ?? '?'}${r.stats?.failedCalls ? `; first error ${r.errorsExcerpt.slice(0, 300)}` : ''}`);
      });
      results.forEach((r, k) => {
        assert.equal(r.stats?.failedCalls, 0, `${labels[k]}: ${describeSippResult(r)}`);
        assert.equal(r.stats?.successfulCalls, CALLS, `${labels[k]}: ${describeSippResult(r)}`);
      });
    } finally {
      await channelDiagnostics(t);
    }
  });

  test('a call to a phone whose peer was killed (kill -9) gets a final answer with a reason, never silence', async (t) => {
    const reg = await register(VICTIM, 'u-gone', UAS_PORT, 5080);
    assert.equal(reg.stats?.successfulCalls, 1, described(reg));
    const victim = peers.get(VICTIM)!;
    victim.proc.killNow();
    await victim.proc.exited;
    const c0 = Date.now();
    const { wd, run } = uac('uac-gone', 'u-gone', 5076, { scenario: scenario('overlay-uac-final.xml'), calls: 1, timeoutS: 45, recvTimeoutMs: 40_000, traceMessages: true });
    const r = await run.done;
    const final = finalStatusLine(join(wd, 'uac-gone-messages.log'));
    t.diagnostic(`call to u-gone after kill -9 of its peer: "${final ?? 'no final answer'}" after ${Date.now() - c0} ms`);
    assert.equal(r.stats?.successfulCalls, 1, `a 404/408/480 final answer expected, got "${final ?? 'none'}": ${describeSippResult(r)}\n${r.errorsExcerpt}`);
    assert.match(final ?? '', /^SIP\/2\.0 (404|408|480) \S/, 'a final answer with a reason phrase');
  });
});

/** A SIPp run's result once it ends by itself, or after `graceMs` stopped (SIGTERM). */
async function finish(run: SippRun, graceMs: number): Promise<SippResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<SippResult>((resolve) => {
    timer = setTimeout(() => resolve(run.stop()), graceMs);
  });
  try {
    return await Promise.race([run.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a SIPp scenario's <log> actions wrote (-trace_logs) in `wd`, trimmed. */
function sippLog(wd: string): string {
  return readdirSync(wd).filter((f) => f.endsWith('_logs.log')).map((f) => readFileSync(join(wd, f), 'utf8')).join('').trim().slice(0, 200);
}

/** The status line of the last final response (>= 200) in a SIPp -trace_msg log, if any. */
function finalStatusLine(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => /^SIP\/2\.0 [2-6]\d\d /.test(l));
  return lines.at(-1)?.trim();
}
