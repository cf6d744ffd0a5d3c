import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { IceError } from '../../../src/nat/ice/ice-error.js';
import { addressKey } from '../../../src/nat/ice/ice-candidate.js';
import type { RemoteCandidateInput } from '../../../src/nat/ice/ice-candidate.js';
import type { IceAgentOptions } from '../../../src/nat/ice/ice-agent-options.js';
import { PORT_RESTRICTED, SYMMETRIC, TestNetwork, TestPeer, run } from './ice-test-network.js';
import type { PeerSpec } from './ice-test-network.js';

type Side = Omit<PeerSpec, 'name' | 'role' | 'seed'> & { role?: PeerSpec['role'] };

interface World {
  clock: ManualClock;
  net: TestNetwork;
  a: TestPeer;
  b: TestPeer;
}

/** A is the Attach requester (controlling), B the answerer (controlled), RFC 6940 §6.5.1.9. */
function world(build: (net: TestNetwork) => { a: Side; b: Side }, options: IceAgentOptions = {}): World {
  const clock = new ManualClock(1_000);
  const net = new TestNetwork(clock);
  const s = build(net);
  const a = new TestPeer(net, clock, { name: 'a', seed: 1, options, ...s.a, role: s.a.role ?? 'controlling' });
  const b = new TestPeer(net, clock, { name: 'b', seed: 2, options, ...s.b, role: s.b.role ?? 'controlled' });
  return { clock, net, a, b };
}

/**
 * The Attach exchange: B gets A's parameters in the request, answers and starts checking at once; A
 * starts when the answer reaches it (`answerMs` later), so B's first checks reach A early.
 */
async function connect(w: World, runMs = 12_000, answerMs = 40): Promise<void> {
  w.b.agent.start(w.a.parameters());
  await run(w.clock, answerMs);
  w.a.agent.start(w.b.parameters());
  await run(w.clock, runMs);
}

/** Both selected once, the same pair seen from both ends; returns the types as each side sees them. */
function assertAgree(w: World): { a: string; b: string } {
  const sa = w.a.agent.selected();
  const sb = w.b.agent.selected();
  assert.ok(sa !== undefined, `A selected nothing: ${w.a.events.join(', ')}`);
  assert.ok(sb !== undefined, `B selected nothing: ${w.b.events.join(', ')}`);
  assert.equal(addressKey(sa.local.address), addressKey(sb.remoteAddress), 'what A sends from is what B sends to');
  assert.equal(addressKey(sa.remoteAddress), addressKey(sb.local.address), 'what B sends from is what A sends to');
  assert.equal(w.a.events.filter((e) => e.startsWith('selected')).length, 1);
  assert.equal(w.b.events.filter((e) => e.startsWith('selected')).length, 1);
  assert.ok(!w.a.events.some((e) => e.startsWith('failed')) && !w.b.events.some((e) => e.startsWith('failed')));
  assert.equal(w.a.agent.state(), 'completed');
  assert.equal(w.b.agent.state(), 'completed');
  return { a: sa.types, b: sb.types };
}

function assertBothFailed(w: World): void {
  assert.equal(w.a.agent.selected(), undefined);
  assert.equal(w.b.agent.selected(), undefined);
  assert.equal(w.a.agent.state(), 'failed', w.a.events.join(', '));
  assert.equal(w.b.agent.state(), 'failed', w.b.events.join(', '));
  assert.equal(w.a.events.filter((e) => e.startsWith('failed')).length, 1);
  assert.equal(w.b.events.filter((e) => e.startsWith('failed')).length, 1);
}

function stopAll(w: World): void {
  w.a.agent.stop();
  w.b.agent.stop();
}

describe('ICE agent (RFC 8445, RELOAD profile RFC 6940 §6.5.1.3)', () => {
  test('two peers on one LAN select host↔host, with the check RTT, and keep nothing else running', async () => {
    const w = world((net) => {
      const nat = net.addNat('203.0.113.1', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat }, b: { host: { host: '10.0.0.3', port: 6084 }, nat } };
    });
    await connect(w, 2_000);
    const t = assertAgree(w);
    assert.deepEqual(t, { a: 'host→host', b: 'host→host' });
    const sa = w.a.agent.selected()!;
    assert.equal(sa.base, 'host');
    assert.equal(sa.rttMs, 2, 'LAN round trip of the nominating check (1 ms each way)');
    assert.ok(sa.afterMs < 200, `selected after ${sa.afterMs} ms`);
    // RFC 6940 §6.5.1.10.2: unused candidates freed at once; only consent remains
    const sentAtSelection = w.a.agent.counters().checksSent;
    assert.equal(w.a.agent.describe().pendingTransactions <= 1, true);
    await run(w.clock, 20_000);
    assert.equal(w.a.agent.counters().checksSent, sentAtSelection, 'no more checks after Completed');
    const ca = w.a.agent.counters();
    assert.ok(ca.consentChecksSent >= 3 && ca.consentChecksSent <= 5, `consent checks in 20 s: ${ca.consentChecksSent}`);
    assert.equal(ca.consentAnswers, ca.consentChecksSent);
    const d = w.b.agent.describe();
    assert.equal(d.selected?.types, 'host→host');
    assert.equal(d.consent?.state, 'granted');
    stopAll(w);
    await run(w.clock, 1_000);
    assert.equal(w.clock.pendingTimers, 0, 'no timers left after stop');
  });

  test('behind a port-restricted NAT vs a public peer: srflx→host directly, the relay unused', async () => {
    const w = world((net) => {
      const nat = net.addNat('203.0.113.1', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat, relay: { host: '198.51.100.50', port: 50_000 } }, b: { host: { host: '198.51.100.20', port: 6084 } } };
    });
    await connect(w);
    assert.deepEqual(assertAgree(w), { a: 'srflx→host', b: 'host→srflx' });
    assert.equal(w.a.agent.selected()!.base, 'host');
    stopAll(w);
  });

  test('30 % loss on the public legs: retransmissions and triggered checks still get both NATed peers through', async () => {
    const w = world((net) => {
      net.lossRate = 0.3;
      const na = net.addNat('203.0.113.1', PORT_RESTRICTED);
      const nb = net.addNat('203.0.113.2', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat: na }, b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb } };
    });
    await connect(w);
    assert.deepEqual(assertAgree(w), { a: 'srflx→srflx', b: 'srflx→srflx' });
    assert.ok(w.net.dropped('lost') > 0);
    assert.ok(w.a.agent.counters().retransmissions + w.b.agent.counters().retransmissions > 0);
    stopAll(w);
  });

  test('without a server-reflexive candidate, the NATed peer is learned as peer-reflexive on both sides', async () => {
    const w = world((net) => {
      const nat = net.addNat('203.0.113.1', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat, srflx: false }, b: { host: { host: '198.51.100.20', port: 6084 } } };
    });
    await connect(w);
    assert.deepEqual(assertAgree(w), { a: 'prflx→host', b: 'host→prflx' });
    assert.ok(w.a.agent.counters().peerReflexiveLocal >= 1);
    assert.ok(w.b.agent.counters().peerReflexiveRemote >= 1);
    stopAll(w);
  });

  test('both behind port-restricted NATs: hole punching through srflx↔srflx, both sides checking', async () => {
    const w = world((net) => {
      const na = net.addNat('203.0.113.1', PORT_RESTRICTED);
      const nb = net.addNat('203.0.113.2', PORT_RESTRICTED);
      return {
        a: { host: { host: '10.0.0.2', port: 6084 }, nat: na, relay: { host: '198.51.100.50', port: 50_000 } },
        b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb, relay: { host: '198.51.100.51', port: 50_000 } },
      };
    });
    await connect(w);
    assert.deepEqual(assertAgree(w), { a: 'srflx→srflx', b: 'srflx→srflx' });
    assert.ok(w.net.dropped('filtered') > 0, 'the first checks hit the other NAT before its own went out');
    assert.equal(w.a.agent.selected()!.base, 'host');
    assert.equal(w.b.agent.selected()!.base, 'host');
    stopAll(w);
  });

  test('across NATs the controlling side nominates once the better (private host) pairs stayed silent for 2 RTT, not after the whole nomination delay', async () => {
    const selectedAt: Record<string, number> = {};
    const w = world((net) => {
      const na = net.addNat('203.0.113.1', PORT_RESTRICTED);
      const nb = net.addNat('203.0.113.2', PORT_RESTRICTED);
      return {
        a: { host: { host: '10.0.0.2', port: 6084 }, nat: na },
        b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb },
      };
    }, { nominationDelayMs: 1_000 });
    const t0 = w.clock.now();
    w.a.agent.events.on('selected', () => (selectedAt['a'] = w.clock.now() - t0));
    await connect(w, 3_000);
    assert.deepEqual(assertAgree(w), { a: 'srflx→srflx', b: 'srflx→srflx' });
    assert.equal(w.a.agent.counters().earlyNominations, 1, 'nominated before the delay ran out');
    // RTT 20 ms here (10 ms a datagram): the host↔host pair to the other LAN never answers; the
    // srflx pair is nominated about 2 RTT after that pair's check, far inside the 1,000 ms delay
    assert.ok(selectedAt['a']! < 400, `selected after ${selectedAt['a']} ms`);
    stopAll(w);
  });

  test('symmetric NAT vs port-restricted NAT: direct pairs fail, the relayed candidate carries it', async () => {
    const w = world((net) => {
      const na = net.addNat('203.0.113.1', SYMMETRIC);
      const nb = net.addNat('203.0.113.2', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat: na, relay: { host: '198.51.100.50', port: 50_000 } }, b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb } };
    });
    await connect(w);
    assert.deepEqual(assertAgree(w), { a: 'relay→srflx', b: 'srflx→relay' });
    assert.equal(w.a.agent.selected()!.base, 'relay:1');
    assert.ok((w.a.sent.get('relay:1') ?? 0) > 0);
    stopAll(w);
  });

  test('the same symmetric vs port-restricted pair without a relay fails on both sides', async () => {
    const w = world((net) => {
      const na = net.addNat('203.0.113.1', SYMMETRIC);
      const nb = net.addNat('203.0.113.2', PORT_RESTRICTED);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat: na }, b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb } };
    });
    await connect(w);
    assertBothFailed(w);
    assert.equal(w.a.agent.counters().checksSucceeded, 0);
    assert.equal(w.b.agent.counters().checksSucceeded, 0);
    stopAll(w);
    await run(w.clock, 1_000);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('symmetric vs symmetric without a relay fails; with one relay it succeeds', async () => {
    const build = (relay: boolean) => (net: TestNetwork) => {
      const na = net.addNat('203.0.113.1', SYMMETRIC);
      const nb = net.addNat('203.0.113.2', SYMMETRIC);
      return {
        a: { host: { host: '10.0.0.2', port: 6084 }, nat: na, ...(relay ? { relay: { host: '198.51.100.50', port: 50_000 } } : {}) },
        b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb },
      };
    };
    const failing = world(build(false));
    await connect(failing);
    assertBothFailed(failing);
    assert.match(failing.a.agent.describe().failure!.code, /all-pairs-failed|timeout/);
    stopAll(failing);
    const relayed = world(build(true));
    await connect(relayed);
    const t = assertAgree(relayed);
    assert.equal(t.a.split('→')[0], 'relay');
    assert.equal(t.b.split('→')[1], 'relay');
    stopAll(relayed);
  });

  test('a wrong password: 401 answers, no pair succeeds, both sides fail once', async () => {
    const w = world(() => ({ a: { host: { host: '198.51.100.10', port: 6084 } }, b: { host: { host: '198.51.100.20', port: 6084 } } }));
    w.b.agent.start(w.a.parameters());
    await run(w.clock, 40);
    w.a.agent.start({ ...w.b.parameters(), password: 'notBspassword0123456789' });
    await run(w.clock, 12_000);
    assertBothFailed(w);
    assert.ok(w.b.agent.counters().badCredentials > 0, 'B answered 401');
    assert.ok(w.a.agent.counters().unauthenticatedResponses > 0, 'A ignored the unprotected 401s');
    assert.equal(w.a.agent.counters().checksSucceeded, 0);
    assert.equal(w.a.agent.describe().failure?.code, 'all-pairs-failed');
    assert.equal(w.b.agent.describe().failure?.code, 'timeout', 'B was never nominated');
    stopAll(w);
  });

  test('10,000 remote candidates are refused before anything is read, sent or scheduled', () => {
    const clock = new ManualClock();
    const net = new TestNetwork(clock);
    const a = new TestPeer(net, clock, { name: 'a', role: 'controlling', seed: 1, host: { host: '198.51.100.10', port: 6084 } });
    let touched = 0;
    const many = new Proxy(new Array<RemoteCandidateInput>(10_000), {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) touched++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    assert.throws(
      () => a.agent.start({ ufrag: 'bbbb', password: 'bpassword0123456789ab', candidates: many }),
      (e: unknown) => e instanceof IceError && e.code === 'ICE_TOO_MANY_CANDIDATES' && /10000 candidates; at most 32/.test(e.message),
    );
    assert.equal(touched, 0);
    assert.equal(a.totalSent(), 0);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(a.agent.state(), 'new');
    // the limit is an option
    assert.throws(() => new TestPeer(net, clock, { name: 'c', role: 'controlling', seed: 3, host: { host: '198.51.100.11', port: 6084 }, options: { maxRemoteCandidates: 0 } }), /maxRemoteCandidates/);
  });

  const conflicts = [
    { roles: ['controlling', 'controlling'], tb: [10n, 5n], winner: 'a', how: '487 from A, B switches on the answer (§7.2.5.1)' },
    { roles: ['controlling', 'controlling'], tb: [5n, 10n], winner: 'b', how: 'A switches when B’s check arrives (§7.3.1.1)' },
    { roles: ['controlled', 'controlled'], tb: [0xffff_ffff_ffff_fff0n, 5n], winner: 'a', how: 'A switches to controlling when B’s check arrives' },
    { roles: ['controlled', 'controlled'], tb: [5n, 10n], winner: 'b', how: '487 from A, B switches to controlling on the answer' },
  ] as const;
  for (const c of conflicts) {
    test(`role conflict, both ${c.roles[0]}, tie-breakers ${c.tb[0]}/${c.tb[1]}: ${c.how}; they agree`, async () => {
      const w = world(() => ({
        a: { host: { host: '198.51.100.10', port: 6084 }, role: c.roles[0], tieBreaker: c.tb[0] },
        b: { host: { host: '198.51.100.20', port: 6084 }, role: c.roles[1], tieBreaker: c.tb[1] },
      }));
      await connect(w);
      assertAgree(w);
      const [win, lose] = c.winner === 'a' ? [w.a, w.b] : [w.b, w.a];
      assert.equal(win.agent.role, 'controlling');
      assert.equal(lose.agent.role, 'controlled');
      assert.equal(win.agent.selected()!.role, 'controlling');
      const switched = c.roles[0] === 'controlling' ? lose : win;
      assert.equal(switched.agent.counters().roleSwitches, 1);
      assert.ok(switched.events.includes(`role ${switched.agent.role}`));
      assert.equal((switched === w.a ? w.b : w.a).agent.counters().roleSwitches, 0);
      const sent487 = w.a.errorsSent.includes(487) || w.b.errorsSent.includes(487);
      assert.equal(sent487, c.how.startsWith('487'), `487 sent: ${sent487}`);
      assert.ok(w.a.agent.counters().roleConflicts + w.b.agent.counters().roleConflicts >= 1);
      stopAll(w);
    });
  }

  test('consent: kept while the peer answers, lost 30 s after it goes silent, reported once', async () => {
    const w = world(() => ({ a: { host: { host: '198.51.100.10', port: 6084 } }, b: { host: { host: '198.51.100.20', port: 6084 } } }));
    let lost: { silentMs: number } | undefined;
    let lostCount = 0;
    w.a.agent.events.on('consent-lost', (e) => {
      lost = e;
      lostCount++;
    });
    await connect(w, 2_000);
    assertAgree(w);
    await run(w.clock, 120_000);
    assert.equal(lostCount, 0, 'consent kept while B answers');
    const c = w.a.agent.counters();
    assert.ok(c.consentChecksSent >= 20 && c.consentChecksSent <= 31, `${c.consentChecksSent} consent checks in ~122 s (4–6 s apart)`);
    // B goes silent (crashed: its agent is gone, nothing answers)
    w.b.endpoint.down = true;
    const silentFrom = w.clock.now();
    await run(w.clock, 24_000);
    assert.equal(lostCount, 0, 'not lost before 30 s of silence');
    await run(w.clock, 12_000);
    assert.equal(lostCount, 1);
    assert.ok(lost !== undefined && lost.silentMs >= 30_000 && lost.silentMs < 36_000, `silent ${lost?.silentMs} ms`);
    assert.ok(w.clock.now() - silentFrom >= 30_000);
    assert.equal(w.a.agent.describe().consent?.state, 'lost');
    const sentThen = w.a.totalSent();
    await run(w.clock, 60_000);
    assert.equal(w.a.totalSent(), sentThen, 'nothing sent after consent was lost');
    assert.equal(lostCount, 1);
    stopAll(w);
    await run(w.clock, 1_000);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('stop() while checking leaves no timer and no transaction, and reports nothing', async () => {
    const w = world((net) => {
      const na = net.addNat('203.0.113.1', SYMMETRIC);
      const nb = net.addNat('203.0.113.2', SYMMETRIC);
      return { a: { host: { host: '10.0.0.2', port: 6084 }, nat: na }, b: { host: { host: '10.1.0.2', port: 6084 }, nat: nb } };
    });
    w.b.agent.start(w.a.parameters());
    w.a.agent.start(w.b.parameters());
    await run(w.clock, 300);
    assert.ok(w.a.agent.describe().pendingTransactions > 0);
    stopAll(w);
    assert.equal(w.a.agent.describe().pendingTransactions, 0);
    await run(w.clock, 20_000);
    assert.equal(w.clock.pendingTimers, 0);
    assert.deepEqual(w.a.events, []);
    assert.equal(w.a.agent.state(), 'stopped');
    assert.throws(() => w.a.agent.start(w.b.parameters()), (e: unknown) => e instanceof IceError && e.code === 'ICE_BAD_STATE');
  });

  test('a slow Attach answer: checks reaching the requester before it starts are answered and become triggered checks', async () => {
    const w = world(() => ({ a: { host: { host: '198.51.100.10', port: 6084 } }, b: { host: { host: '198.51.100.20', port: 6084 } } }));
    await connect(w, 12_000, 400);
    assertAgree(w);
    const ca = w.a.agent.counters();
    assert.equal(ca.earlyChecks, 1, 'B’s check (and its retransmissions, one pair) arrived before A had the answer');
    assert.ok(ca.triggeredChecks >= 1, 'it became a triggered check at start()');
    assert.ok(ca.checksReceived >= 2);
    stopAll(w);
  });
});
