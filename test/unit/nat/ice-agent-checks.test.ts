import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { IceAgent } from '../../../src/nat/ice/ice-agent.js';
import type { IceAgentOptions } from '../../../src/nat/ice/ice-agent-options.js';
import { candidatePriority, peerReflexivePriority } from '../../../src/nat/ice/ice-candidate.js';
import type { RemoteCandidateInput } from '../../../src/nat/ice/ice-candidate.js';
import type { IceRole } from '../../../src/nat/ice/ice-check-messages.js';
import {
  StunAttr,
  StunMethod,
  attr,
  checkIntegrity,
  decodeStun,
  encodeStun,
  readErrorCode,
  readText,
  readU32Attr,
  readU64Attr,
  readXorAddress,
  responseTo,
  shortTermKey,
  textAttr,
  u32Attr,
  u64Attr,
  xorAddressAttr,
} from '../../../src/nat/stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../../../src/nat/stun/stun-message.js';
import { flush, run } from './ice-test-network.js';

const A_UFRAG = 'aaaa';
const A_PWD = 'apassword0123456789ab';
const P_UFRAG = 'pppp';
const P_PWD = 'ppassword0123456789ab';
const A_HOST: StunAddress = { host: '198.51.100.10', port: 6084 };
const A_RELAY: StunAddress = { host: '198.51.100.50', port: 50_000 };
const PEER: StunAddress = { host: '198.51.100.20', port: 6084 };

interface Sent {
  base: string;
  to: StunAddress;
  msg: DecodedStun;
  at: number;
}

interface Under {
  agent: IceAgent;
  clock: ManualClock;
  sent: Sent[];
  events: string[];
  requests(): Sent[];
}

function agentUnderTest(o: { role?: IceRole; tieBreaker?: bigint; options?: IceAgentOptions; remotes?: RemoteCandidateInput[]; start?: boolean } = {}): Under {
  const clock = new ManualClock(1_000);
  const sent: Sent[] = [];
  const events: string[] = [];
  const agent = new IceAgent(
    {
      clock,
      random: new SeededRandom(3),
      host: {
        send: (base, d, to) => {
          const m = decodeStun(d);
          assert.ok(m.ok, 'the agent sends well-formed STUN');
          sent.push({ base, to, msg: m.value, at: clock.now() });
        },
      },
    },
    {
      ufrag: A_UFRAG,
      password: A_PWD,
      role: o.role ?? 'controlled',
      tieBreaker: o.tieBreaker ?? 100n,
      candidates: [
        { type: 'host', address: A_HOST, base: 'host' },
        { type: 'relay', address: A_RELAY, base: 'relay:1', related: { host: '203.0.113.1', port: 40_000 } },
      ],
    },
    o.options,
  );
  agent.events.on('selected', (p) => events.push(`selected ${p.types}`));
  agent.events.on('failed', (f) => events.push(`failed ${f.code}`));
  agent.events.on('role-changed', (r) => events.push(`role ${r.role}`));
  agent.events.on('consent-lost', () => events.push('consent-lost'));
  if (o.start !== false) agent.start({ ufrag: P_UFRAG, password: P_PWD, candidates: o.remotes ?? [{ type: 'host', address: PEER, priority: candidatePriority('host'), foundation: 'ph' }] });
  return { agent, clock, sent, events, requests: () => sent.filter((s) => s.msg.cls === 'request') };
}

let tidSeed = 1;
function tid(): Uint8Array {
  const t = new Uint8Array(12);
  new DataView(t.buffer).setUint32(0, tidSeed++);
  return t;
}

/** A check from the peer to the agent. */
function peerCheck(o: { username?: string; password?: string | null; role?: IceRole | null; tieBreaker?: bigint; priority?: number | null; useCandidate?: boolean; extra?: StunAttribute[] } = {}): DecodedStun {
  const attrs: StunAttribute[] = [];
  if (o.username !== '') attrs.push(textAttr(StunAttr.USERNAME, o.username ?? `${A_UFRAG}:${P_UFRAG}`));
  if (o.priority !== null) attrs.push(u32Attr(StunAttr.PRIORITY, o.priority ?? candidatePriority('prflx')));
  if (o.role !== null) attrs.push(u64Attr((o.role ?? 'controlling') === 'controlling' ? StunAttr.ICE_CONTROLLING : StunAttr.ICE_CONTROLLED, o.tieBreaker ?? 1n));
  if (o.useCandidate === true) attrs.push({ type: StunAttr.USE_CANDIDATE, value: new Uint8Array(0) });
  attrs.push(...(o.extra ?? []));
  const bytes = encodeStun(
    { method: StunMethod.Binding, cls: 'request', transactionId: tid(), attributes: attrs },
    { ...(o.password === null ? {} : { integrityKey: shortTermKey(o.password ?? A_PWD) }), fingerprint: true },
  );
  const d = decodeStun(bytes);
  assert.ok(d.ok);
  return d.value;
}

/** The peer's answer to one of the agent's checks. */
function answer(req: DecodedStun, o: { password?: string; mapped?: StunAddress; error?: number } = {}): DecodedStun {
  const attrs: StunAttribute[] =
    o.error !== undefined
      ? [{ type: StunAttr.ERROR_CODE, value: Uint8Array.from([0, 0, Math.floor(o.error / 100), o.error % 100]) }]
      : [xorAddressAttr(StunAttr.XOR_MAPPED_ADDRESS, o.mapped ?? A_HOST, req.transactionId)];
  const bytes = encodeStun(responseTo(req, o.error === undefined ? 'success' : 'error', attrs), { integrityKey: shortTermKey(o.password ?? P_PWD), fingerprint: true });
  const d = decodeStun(bytes);
  assert.ok(d.ok);
  return d.value;
}

describe('ICE agent: answering checks (RFC 8445 §7.3)', () => {
  test('a valid check is answered from the base it came to: XOR-MAPPED-ADDRESS = source, MESSAGE-INTEGRITY, FINGERPRINT', () => {
    const u = agentUnderTest();
    const from = { host: '198.51.100.99', port: 7000 };
    for (const base of ['relay:1', 'host']) {
      const req = peerCheck();
      assert.equal(u.agent.receive(req, from, base), true);
      const r = u.sent.at(-1)!;
      assert.equal(r.base, base);
      assert.deepEqual(r.to, from);
      assert.equal(r.msg.cls, 'success');
      assert.deepEqual(r.msg.transactionId, req.transactionId);
      assert.deepEqual(readXorAddress(attr(r.msg, StunAttr.XOR_MAPPED_ADDRESS), r.msg.transactionId), from);
      assert.ok(checkIntegrity(r.msg, shortTermKey(A_PWD)));
      assert.ok(r.msg.fingerprinted);
    }
    assert.equal(u.agent.counters().checksReceived, 2);
    assert.equal(u.agent.counters().peerReflexiveRemote, 1, 'the source became a peer-reflexive remote candidate');
    u.agent.stop();
  });

  test('bad checks: 400 without integrity or PRIORITY, 401 for a wrong password or remote ufrag, 420 for an unknown attribute', () => {
    const u = agentUnderTest();
    const cases: Array<[string, DecodedStun, number, boolean]> = [
      ['no MESSAGE-INTEGRITY', peerCheck({ password: null }), 400, false],
      ['wrong password', peerCheck({ password: 'wrongpassword0123456789' }), 401, false],
      ['wrong remote ufrag', peerCheck({ username: `${A_UFRAG}:zzzz` }), 401, false],
      ['no remote ufrag', peerCheck({ username: `${A_UFRAG}:` }), 401, false],
      ['unknown comprehension-required attribute', peerCheck({ extra: [u32Attr(0x7777, 1)] }), 420, true],
      ['no PRIORITY', peerCheck({ priority: null }), 400, true],
      ['two roles', peerCheck({ extra: [u64Attr(StunAttr.ICE_CONTROLLED, 3n)] }), 400, true],
    ];
    for (const [what, req, code, protectedAnswer] of cases) {
      const before = u.sent.length;
      assert.equal(u.agent.receive(req, PEER, 'host'), true, what);
      assert.equal(u.sent.length, before + 1, what);
      const r = u.sent.at(-1)!;
      assert.equal(r.msg.cls, 'error', what);
      assert.equal(readErrorCode(attr(r.msg, StunAttr.ERROR_CODE))?.code, code, what);
      assert.equal(r.msg.integrityAt !== undefined, protectedAnswer, `${what}: MESSAGE-INTEGRITY only when the request was authenticated`);
      if (protectedAnswer) assert.ok(checkIntegrity(r.msg, shortTermKey(A_PWD)));
      if (code === 420) assert.ok(attr(r.msg, StunAttr.UNKNOWN_ATTRIBUTES) !== undefined);
    }
    const c = u.agent.counters();
    assert.equal(c.badCredentials, 3);
    assert.equal(c.badRequests, 4);
    assert.equal(c.checksReceived, 0);
    assert.equal(c.peerReflexiveRemote, 0, 'nothing learned from bad checks');
    // not ours: another session's ufrag, or a plain Binding request (the Binding server's)
    const n = u.sent.length;
    assert.equal(u.agent.receive(peerCheck({ username: 'zzzz:pppp' }), PEER, 'host'), false);
    assert.equal(u.agent.receive(peerCheck({ username: '' }), PEER, 'host'), false);
    assert.equal(u.sent.length, n);
    u.agent.stop();
  });

  test('role conflict (§7.3.1.1): 487 when our tie-breaker wins, a switch when it loses', () => {
    const u = agentUnderTest({ role: 'controlling', tieBreaker: 10n, start: false });
    u.agent.receive(peerCheck({ role: 'controlling', tieBreaker: 5n }), PEER, 'host');
    let r = u.sent.at(-1)!;
    assert.equal(readErrorCode(attr(r.msg, StunAttr.ERROR_CODE))?.code, 487);
    assert.ok(checkIntegrity(r.msg, shortTermKey(A_PWD)));
    assert.equal(u.agent.role, 'controlling');
    u.agent.receive(peerCheck({ role: 'controlling', tieBreaker: 10n }), PEER, 'host');
    assert.equal(readErrorCode(attr(u.sent.at(-1)!.msg, StunAttr.ERROR_CODE))?.code, 487, 'equal tie-breakers: the controlling side keeps its role');
    u.agent.receive(peerCheck({ role: 'controlling', tieBreaker: 20n }), PEER, 'host');
    r = u.sent.at(-1)!;
    assert.equal(r.msg.cls, 'success');
    assert.equal(u.agent.role, 'controlled');
    assert.deepEqual(u.events, ['role controlled']);
    u.agent.receive(peerCheck({ role: 'controlling', tieBreaker: 1n }), PEER, 'host');
    assert.equal(u.sent.at(-1)!.msg.cls, 'success', 'no conflict any more');
    assert.equal(u.agent.counters().roleConflicts, 3);
    u.agent.stop();
  });

  test('peer-reflexive candidates and early checks are bounded; every valid check is still answered', async () => {
    const early = agentUnderTest({ start: false });
    for (let i = 0; i < 40; i++) early.agent.receive(peerCheck(), { host: '198.51.100.99', port: 1000 + i }, 'host');
    assert.equal(early.sent.filter((s) => s.msg.cls === 'success').length, 40);
    assert.equal(early.agent.counters().earlyChecks, 16);
    assert.equal(early.agent.counters().refusedByLimit, 24);
    assert.equal(early.clock.pendingTimers, 0, 'nothing scheduled before start()');
    early.agent.stop();

    const u = agentUnderTest({ options: { deadlineMs: 60_000 } });
    for (let i = 0; i < 50; i++) u.agent.receive(peerCheck(), { host: '198.51.100.99', port: 1000 + i }, 'host');
    assert.equal(u.sent.filter((s) => s.msg.cls === 'success').length, 50);
    const c = u.agent.counters();
    assert.equal(c.peerReflexiveRemote, 8);
    assert.equal(c.refusedByLimit, 42);
    assert.equal(u.agent.describe().remoteCandidates, 9);
    await run(u.clock, 5_000);
    const checked = new Set(u.requests().map((s) => `${s.to.host}:${s.to.port}`));
    assert.equal(checked.size, 9, 'checks go to the signalled candidate and the 8 learned ones only');
    u.agent.stop();
  });
});

describe('ICE agent: checks and their answers (RFC 8445 §7.2)', () => {
  test('a check carries USERNAME, PRIORITY, the role with the tie-breaker, integrity with the remote password, FINGERPRINT', async () => {
    const u = agentUnderTest({ tieBreaker: 0x0102_0304_0506_0708n });
    await run(u.clock, 0);
    const [first] = u.requests();
    assert.ok(first !== undefined);
    assert.equal(first.base, 'host', 'the host pair has the higher priority');
    assert.deepEqual(first.to, PEER);
    const m = first.msg;
    assert.equal(readText(attr(m, StunAttr.USERNAME)), `${P_UFRAG}:${A_UFRAG}`);
    assert.equal(readU32Attr(attr(m, StunAttr.PRIORITY)), peerReflexivePriority(candidatePriority('host')));
    assert.equal(readU64Attr(attr(m, StunAttr.ICE_CONTROLLED)), 0x0102_0304_0506_0708n);
    assert.equal(attr(m, StunAttr.ICE_CONTROLLING), undefined);
    assert.equal(attr(m, StunAttr.USE_CANDIDATE), undefined);
    assert.ok(checkIntegrity(m, shortTermKey(P_PWD)));
    assert.ok(m.fingerprinted);
    assert.ok(u.agent.ownsTransaction(m.transactionId));
    await run(u.clock, 50);
    const relayCheck = u.requests().find((s) => s.base === 'relay:1')!;
    assert.equal(readU32Attr(attr(relayCheck.msg, StunAttr.PRIORITY)), peerReflexivePriority(candidatePriority('relay')));
    u.agent.stop();
    assert.equal(u.agent.ownsTransaction(m.transactionId), false);
  });

  test('retransmissions: 5 transmissions at 0, 1, 3, 7, 15 RTO; the pair fails at 23 RTO; Ta paces new checks', async () => {
    const remotes = [{ type: 'host' as const, address: PEER, priority: candidatePriority('host'), foundation: 'ph' }];
    const u = agentUnderTest({ remotes });
    const t0 = u.clock.now();
    await run(u.clock, 10_000);
    const hostChecks = u.requests().filter((s) => s.base === 'host');
    const times = hostChecks.map((s) => s.at - t0);
    // two pairs (host, relay) Waiting at the first tick: RTO = max(100, 50·2) = 100 ms
    assert.deepEqual(times, [0, 100, 300, 700, 1500]);
    const relayTimes = u.requests().filter((s) => s.base === 'relay:1').map((s) => s.at - t0);
    assert.equal(relayTimes[0], 50, 'the second pair one Ta later');
    assert.deepEqual(u.events, ['failed all-pairs-failed']);
    assert.equal(u.agent.counters().retransmissions, 8);
    assert.equal(u.agent.describe().failure?.code, 'all-pairs-failed');
    assert.equal(u.clock.pendingTimers, 0, 'nothing left once failed');
  });

  test('pacing and RTO follow Ta and the number of active pairs (§14.3); a shared foundation stays frozen while one is in progress', async () => {
    const six = Array.from({ length: 6 }, (_, i) => ({ type: 'host' as const, address: { host: '198.51.100.20', port: 7000 + i }, priority: candidatePriority('host', 1000 - i), foundation: `f${i}` }));
    const u = agentUnderTest({ remotes: six, options: { taMs: 20 } });
    const t0 = u.clock.now();
    await run(u.clock, 10_000);
    const firsts = new Map<string, number>();
    for (const s of u.requests()) {
      const k = `${s.base}>${s.to.port}`;
      if (!firsts.has(k)) firsts.set(k, s.at - t0);
    }
    const starts = [...firsts.values()].sort((a, b) => a - b);
    assert.equal(starts.length, 12);
    for (let i = 1; i < starts.length; i++) assert.equal(starts[i]! - starts[i - 1]!, 20, 'one new check per Ta');
    // first check: 12 pairs Waiting → RTO = clamp(20·12, 100, 500) = 240 ms
    const first = u.requests()[0]!;
    const again = u.requests().filter((s) => s.msg.transactionId.every((b, i) => b === first.msg.transactionId[i]));
    assert.equal(again[1]!.at - again[0]!.at, 240);
    u.agent.stop();

    const same = [0, 1].map((i) => ({ type: 'host' as const, address: { host: '198.51.100.20', port: 7000 + i }, priority: candidatePriority('host', 1000 - i), foundation: 'same' }));
    const f = agentUnderTest({ remotes: same, options: { deadlineMs: 60_000 } });
    const f0 = f.clock.now();
    await run(f.clock, 10_000);
    const hostStarts = new Map<number, number>();
    for (const s of f.requests()) if (s.base === 'host' && !hostStarts.has(s.to.port)) hostStarts.set(s.to.port, s.at - f0);
    assert.equal(hostStarts.get(7000), 0);
    assert.ok(hostStarts.get(7001)! >= 2_300, `the frozen pair waited for the first one to fail (${hostStarts.get(7001)} ms)`);
    f.agent.stop();
  });

  test('answers: unauthenticated ones are ignored, a non-symmetric one fails the pair (§7.2.5.2.1)', async () => {
    const u = agentUnderTest({ remotes: [{ type: 'host', address: PEER, priority: candidatePriority('host'), foundation: 'ph' }] });
    await run(u.clock, 60);
    const hostReq = u.requests().find((s) => s.base === 'host')!;
    assert.equal(u.agent.receive(answer(hostReq.msg, { password: 'notthepeerspassword0' }), PEER, 'host'), true);
    assert.equal(u.agent.counters().unauthenticatedResponses, 1);
    await run(u.clock, 100);
    assert.equal(u.requests().filter((s) => s.base === 'host').length, 2, 'retransmitted: the bad answer did not count');
    assert.equal(u.agent.describe().pairs['in-progress'], 2);
    // a good answer from another address
    assert.equal(u.agent.receive(answer(hostReq.msg), { host: '198.51.100.21', port: 6084 }, 'host'), true);
    assert.equal(u.agent.counters().nonSymmetricResponses, 1);
    assert.equal(u.agent.describe().pairs.failed, 1);
    // ... or onto another base
    const relayReq = u.requests().find((s) => s.base === 'relay:1')!;
    u.agent.receive(answer(relayReq.msg), PEER, 'host');
    assert.equal(u.agent.counters().nonSymmetricResponses, 2);
    assert.deepEqual(u.events, ['failed all-pairs-failed']);
    u.agent.stop();
  });

  test('a triggered check replaces an In-Progress one, whose late answer still counts; stale checks are bounded (§7.3.1.4)', async () => {
    const u = agentUnderTest({ options: { deadlineMs: 60_000 } });
    await run(u.clock, 0);
    const hostChecks = (): Sent[] => u.requests().filter((r) => r.base === 'host');
    const firstTid = hostChecks()[0]!.msg.transactionId;
    for (let i = 0; i < 6; i++) {
      u.agent.receive(peerCheck(), PEER, 'host');
      await run(u.clock, 50);
    }
    const starts = new Set(hostChecks().map((r) => Buffer.from(r.msg.transactionId).toString('hex')));
    assert.equal(starts.size, 7, 'the first check and 6 triggered ones');
    assert.equal(u.agent.counters().triggeredChecks, 6);
    assert.equal(u.agent.ownsTransaction(firstTid), false, 'the oldest cancelled checks are forgotten');
    assert.ok(u.agent.describe().pendingTransactions <= 5, `${u.agent.describe().pendingTransactions} transactions listened to (3 stale + current, + the relay check)`);
    const stale = [...hostChecks()].reverse().find((r) => r.msg.transactionId !== hostChecks().at(-1)!.msg.transactionId && u.agent.ownsTransaction(r.msg.transactionId))!;
    assert.ok(stale !== undefined);
    assert.equal(u.agent.receive(answer(stale.msg), PEER, 'host'), true);
    assert.equal(u.agent.describe().pairs.succeeded, 1, 'the late answer to a cancelled check succeeded the pair');
    const sent = hostChecks().length;
    await run(u.clock, 5_000);
    assert.equal(hostChecks().length, sent, 'no retransmission of the pair’s other checks');
    u.agent.stop();
  });

  test('controlled side: success learns a peer-reflexive local candidate; USE-CANDIDATE on it selects it, with the RTT', async () => {
    const u = agentUnderTest();
    await run(u.clock, 0);
    const req = u.requests()[0]!;
    u.clock.advance(30);
    const mapped = { host: '203.0.113.7', port: 41_000 };
    u.agent.receive(answer(req.msg, { mapped }), PEER, 'host');
    assert.equal(u.agent.counters().peerReflexiveLocal, 1);
    assert.equal(u.agent.state(), 'checking', 'the controlled side waits for the nomination');
    u.agent.receive(peerCheck({ useCandidate: true }), PEER, 'host');
    assert.deepEqual(u.events, ['selected prflx→host']);
    const s = u.agent.selected()!;
    assert.deepEqual(s.local.address, mapped);
    assert.equal(s.base, 'host');
    assert.deepEqual(s.remoteAddress, PEER);
    assert.equal(s.rttMs, 30);
    assert.equal(u.agent.describe().pendingTransactions, 0, 'the relay check was cancelled at once (RFC 6940 §6.5.1.10.2)');
    u.agent.stop();
    await flush();
    assert.equal(u.clock.pendingTimers, 0);
  });

  test('controlled side: USE-CANDIDATE before our own check succeeded nominates on that check’s success (§7.3.1.5)', async () => {
    const u = agentUnderTest({ remotes: [] });
    u.agent.receive(peerCheck({ useCandidate: true }), PEER, 'host');
    assert.equal(u.agent.state(), 'checking');
    await run(u.clock, 0);
    const trig = u.requests().at(-1)!;
    assert.deepEqual(trig.to, PEER);
    assert.equal(u.agent.counters().triggeredChecks, 1);
    u.agent.receive(answer(trig.msg), PEER, 'host');
    assert.deepEqual(u.events, ['selected host→prflx']);
    u.agent.stop();
  });

  test('controlling side: regular nomination repeats the succeeded check with USE-CANDIDATE; selected on its answer', async () => {
    const u = agentUnderTest({ role: 'controlling' });
    await run(u.clock, 0);
    const first = u.requests()[0]!;
    assert.equal(attr(first.msg, StunAttr.USE_CANDIDATE), undefined);
    u.agent.receive(answer(first.msg), PEER, 'host');
    assert.equal(u.agent.state(), 'checking');
    await run(u.clock, 50);
    const nom = u.requests().find((s) => attr(s.msg, StunAttr.USE_CANDIDATE) !== undefined)!;
    assert.ok(nom !== undefined, 'the best pair succeeded and nothing better is pending: nominated at the next Ta');
    assert.deepEqual(nom.to, PEER);
    assert.ok(attr(nom.msg, StunAttr.ICE_CONTROLLING) !== undefined);
    u.agent.receive(answer(nom.msg), PEER, 'host');
    assert.deepEqual(u.events, ['selected host→host']);
    assert.equal(u.agent.counters().nominations, 1);
    u.agent.stop();
  });

  test('an overall deadline: a controlled agent never nominated fails once with "timeout"', async () => {
    const u = agentUnderTest({ options: { deadlineMs: 3_000 } });
    await run(u.clock, 0);
    u.agent.receive(answer(u.requests()[0]!.msg), PEER, 'host');
    await run(u.clock, 2_999);
    assert.deepEqual(u.events, []);
    await run(u.clock, 10_000);
    assert.deepEqual(u.events, ['failed timeout']);
    assert.match(u.agent.describe().failure!.reason, /3000 ms \(1 succeeded/);
    assert.equal(u.clock.pendingTimers, 0);
    u.agent.stop();
  });
});

describe('ICE agent: consent freshness (RFC 7675)', () => {
  test('one consent check in flight at a time, 4–6 s apart, a bounded number of datagrams; lost after 30 s', async () => {
    const u = agentUnderTest({ remotes: [{ type: 'host', address: PEER, priority: candidatePriority('host'), foundation: 'ph' }] });
    await run(u.clock, 0);
    u.agent.receive(answer(u.requests()[0]!.msg), PEER, 'host');
    u.agent.receive(peerCheck({ useCandidate: true }), PEER, 'host');
    assert.equal(u.agent.state(), 'completed');
    const selectedAt = u.clock.now();
    const before = u.requests().length;
    // the peer answers nothing from now on
    let maxInFlight = 0;
    for (let t = 0; t < 40_000; t += 250) {
      await run(u.clock, 250);
      maxInFlight = Math.max(maxInFlight, u.agent.describe().pendingTransactions);
    }
    assert.equal(maxInFlight, 1);
    const consent = u.requests().slice(before);
    assert.ok(consent.every((s) => attr(s.msg, StunAttr.USE_CANDIDATE) === undefined && checkIntegrity(s.msg, shortTermKey(P_PWD))));
    const checks = new Map<string, number[]>();
    for (const s of consent) {
      const k = Buffer.from(s.msg.transactionId).toString('hex');
      checks.set(k, [...(checks.get(k) ?? []), s.at - selectedAt]);
    }
    const starts = [...checks.values()].map((v) => v[0]!);
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i]! - starts[i - 1]!;
      assert.ok(gap >= 4_000 && gap <= 6_000, `consent checks ${gap} ms apart`);
    }
    assert.ok([...checks.values()].every((v) => v.length <= 4), 'at most 4 transmissions each');
    assert.ok(starts.length >= 5 && starts.length <= 8, `${starts.length} consent checks before consent was lost`);
    assert.deepEqual(u.events, ['selected host→host', 'consent-lost']);
    assert.ok(starts.at(-1)! < 30_000, 'none after consent was lost');
    assert.equal(u.agent.describe().consent?.state, 'lost');
    u.agent.stop();
    await flush();
    assert.equal(u.clock.pendingTimers, 0);
  });
});

describe('ICE agent: hostile input', () => {
  test('random and mutated STUN messages never throw, in any state', async () => {
    const attrArb = fc.record({ type: fc.integer({ min: 0, max: 0xffff }), value: fc.uint8Array({ maxLength: 24 }) });
    const known = fc.constantFrom(StunAttr.USERNAME, StunAttr.PRIORITY, StunAttr.ICE_CONTROLLING, StunAttr.ICE_CONTROLLED, StunAttr.USE_CANDIDATE, StunAttr.XOR_MAPPED_ADDRESS, StunAttr.ERROR_CODE);
    const msgArb = fc.record({
      cls: fc.constantFrom('request', 'success', 'error', 'indication'),
      attrs: fc.array(fc.oneof(attrArb, fc.record({ type: known, value: fc.uint8Array({ maxLength: 24 }) })), { maxLength: 6 }),
      user: fc.constantFrom(undefined, `${A_UFRAG}:${P_UFRAG}`, `${A_UFRAG}:`, 'aaaa', ':'),
      key: fc.constantFrom(undefined, A_PWD, P_PWD),
      reuseTid: fc.boolean(),
      base: fc.constantFrom('host', 'relay:1', 'nowhere'),
      port: fc.integer({ min: 0, max: 65_535 }),
    });
    for (const phase of ['new', 'checking', 'completed'] as const) {
      const u = agentUnderTest({ start: phase !== 'new' });
      await run(u.clock, 0);
      if (phase === 'completed') {
        u.agent.receive(answer(u.requests()[0]!.msg), PEER, 'host');
        u.agent.receive(peerCheck({ useCandidate: true }), PEER, 'host');
        assert.equal(u.agent.state(), 'completed');
      }
      fc.assert(
        fc.property(msgArb, (m) => {
          const pending = u.requests().at(-1)?.msg.transactionId;
          const attributes: StunAttribute[] = [...(m.user === undefined ? [] : [textAttr(StunAttr.USERNAME, m.user)]), ...m.attrs];
          const bytes = encodeStun(
            { method: StunMethod.Binding, cls: m.cls, transactionId: m.reuseTid && pending !== undefined ? pending : tid(), attributes },
            { ...(m.key === undefined ? {} : { integrityKey: shortTermKey(m.key) }), fingerprint: true },
          );
          const d = decodeStun(bytes);
          if (!d.ok) return true;
          const r = u.agent.receive(d.value, { host: '198.51.100.20', port: m.port }, m.base);
          return typeof r === 'boolean';
        }),
        { numRuns: 400, seed: 11 },
      );
      await run(u.clock, 20_000);
      u.agent.stop();
      await flush();
      assert.equal(u.clock.pendingTimers, 0, `${phase}: nothing left after stop`);
    }
  });
});
