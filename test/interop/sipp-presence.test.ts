/**
 * Issue 16 against an independent client: SIPp (harness/scenarios/presence-*.xml) PUBLISHes and
 * SUBSCRIBEs through a closed overlay of built `p2psip up` processes, answering every digest
 * challenge (407) with -au/-ap.
 *
 * 1. bob (SIPp) registers at peer B; alice (SIPp) at peer A subscribes to bob for 60 s (the shortest
 *    Expires the peer grants); bob publishes at B (RFC 3903): initial → 200 + SIP-ETag; refresh
 *    (SIP-If-Match, no body) → 200 with a new ETag; modify → 200; an unknown ETag → 412; remove
 *    (Expires 0) → 200. alice's NOTIFYs follow: open (registered: the peer's "reg" tuple), his tuple
 *    "initial", "modified", the registration again; 60 s after the 200 the subscription expires:
 *    NOTIFY Subscription-State: terminated;reason=timeout.
 * 2. the watcher's peer dies: bob registered at B; alice subscribes through peer W, gets the NOTIFY;
 *    W is killed (SIGKILL) and started again on its data directory; alice's in-dialog refresh gets 481
 *    (overlay-presence.ts: "their refresh gets 481 from whichever peer they reach, and they subscribe
 *    again"); a new SUBSCRIBE through peer A gets 200 and a NOTIFY with bob's current state (open).
 * 3. bob publishes at B without having registered there (a verified PUBLISH earns the write grant, as a
 *    REGISTER does; this was a bug found here: B answered 200 but
 *    overlay refuses B's Store of his presence entry ("no write grant for the signer's Node-ID ... the
 *    user's password was not proven": only a REGISTER earns a peer the grant, user-directory-guards.ts),
 *    so a watcher at A never sees the publication.
 * tshark checks every SIP packet of the peers' ports when it can capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { describeNotify, registerUser, runPublisher, sippFailure, startWatcher, untilNotified, type SippUser } from './helpers/presence-sipp.js';
import { OVERLAY, startPresencePeers } from './helpers/presence-peers.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';

const USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;
const ALICE: SippUser = { user: 'alice', password: USERS.alice };
const BOB: SippUser = { user: 'bob', password: USERS.bob };
/** The peers' shortest subscription (DEFAULT_SUBSCRIPTION_LIMITS.minExpires). */
const SHORTEST_EXPIRES_S = 60;

test('SIPp: PUBLISH lifecycle at one peer, a watcher at another sees each change; the subscription expires (terminated;reason=timeout)', { timeout: 150_000 }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const [a, b] = await startPresencePeers(scope, 2, USERS, 150_000);
    assert.ok(a !== undefined && b !== undefined);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'sipp-presence', ports: [a.port, b.port], lifetimeMs: 150_000 });
    // bob's phone registers at B first: only a REGISTER earns a peer the user's write grant, which
    // his presence entry in the overlay needs too (see the last test)
    const reg = await registerUser({ scope, dir, name: 'register-bob', target: { port: b.port, domain: OVERLAY }, timeoutS: 20 }, BOB);
    assert.equal(reg.exitCode, 0, sippFailure(reg));

    const watcher = await startWatcher({ scope, dir, name: 'watch', target: { port: a.port, domain: OVERLAY }, timeoutS: 120 }, 'presence-subscribe.xml', ALICE, 'bob', SHORTEST_EXPIRES_S);
    await untilNotified(watcher.log, 1, 15_000);
    const pub = await runPublisher({ scope, dir, name: 'publish', target: { port: b.port, domain: OVERLAY }, timeoutS: 30 }, BOB);
    assert.equal(pub.result.exitCode, 0, sippFailure(pub.result));
    for (const s of pub.steps) t.diagnostic(`PUBLISH ${s.step}: ${s.challenge} → ${s.status} SIP-ETag ${s.etag ?? '-'} Expires ${s.expires ?? '-'}`);
    assert.deepEqual(
      pub.steps.map((s) => [s.step, s.challenge, s.status]),
      [['initial', 407, 200], ['refresh', 407, 200], ['modify', 407, 200], ['unknown-etag', 407, 412], ['remove', 407, 200]],
    );
    const [initial, refresh, modify, , remove] = pub.steps;
    assert.ok(initial!.etag !== undefined && refresh!.etag !== undefined && modify!.etag !== undefined, 'each 200 but the removal carries a SIP-ETag');
    assert.equal(new Set([initial!.etag, refresh!.etag, modify!.etag]).size, 3, 'a new entity-tag at each refresh and modification (RFC 3903 §6 step 8)');
    assert.equal(initial!.expires, '120');
    assert.equal(remove!.expires, '0');

    const w = await watcher.finished;
    assert.equal(w.result.exitCode, 0, sippFailure(w.result));
    const n = w.summary.notifies;
    t.diagnostic(`SUBSCRIBE: ${w.summary.subscribeStatuses.join(' → ')}, Expires ${w.summary.grantedExpires}`);
    for (const x of n) t.diagnostic(`NOTIFY +${Math.round(x.atMs - w.summary.acceptedAtMs!)} ms: ${describeNotify(x)} tuples ${x.tupleIds.join(',')}`);
    assert.deepEqual(w.summary.subscribeStatuses, [407, 200]);
    assert.equal(w.summary.grantedExpires, String(SHORTEST_EXPIRES_S));
    // the states in order (the refresh changes nothing: no NOTIFY for it): registered (the peer's
    // "reg" tuple), the published tuple, modified, and the registration again once it is removed
    const states = n.map((x) => `${x.tupleIds.join('+')}=${x.basics.join('+')}${x.notes.length > 0 ? `:${x.notes.join('+')}` : ''}`);
    assert.deepEqual(states.slice(0, 4), ['reg=open', 'sipp-bob=open:initial', 'sipp-bob=open:modified', 'reg=open']);
    assert.ok(n.every((x) => x.contentType === 'application/pidf+xml'));
    const last = n.at(-1)!;
    assert.match(last.subscriptionState ?? '', /^terminated;\s*reason=timeout/);
    const expiredAfter = last.atMs - w.summary.acceptedAtMs!;
    t.diagnostic(`terminated;reason=timeout ${expiredAfter} ms after the 200`);
    assert.ok(expiredAfter >= SHORTEST_EXPIRES_S * 1000 - 1000 && expiredAfter <= SHORTEST_EXPIRES_S * 1000 + 5000, `expired after ${expiredAfter} ms`);
    // each change reached the watcher soon after the PUBLISH's 200
    const lag = (step: number, notify: number): number => n[notify]!.atMs - pub.steps[step]!.atMs;
    const lags = { initial: lag(0, 1), modify: lag(2, 2), remove: lag(4, 3) };
    t.diagnostic(`NOTIFY after the PUBLISH's 200 (ms): ${JSON.stringify(lags)}`);
    for (const [what, ms] of Object.entries(lags)) assert.ok(ms < 2_000, `${what}: ${ms} ms`);
    await capture.finish(20);
  });
});

test("SIPp: the watcher's peer is killed (-9) and restarted: the refresh gets 481, a new SUBSCRIBE through another peer gets the current state", { timeout: 150_000 }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const [a, b, w] = await startPresencePeers(scope, 3, USERS, 150_000);
    assert.ok(a !== undefined && b !== undefined && w !== undefined);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'sipp-presence-kill', ports: [a.port, b.port, w.port], lifetimeMs: 150_000 });

    // bob registers at B (his registration is his presence: open)
    const reg = await registerUser({ scope, dir, name: 'register-bob', target: { port: b.port, domain: OVERLAY }, timeoutS: 20 }, BOB);
    assert.equal(reg.exitCode, 0, sippFailure(reg));

    const watcher = await startWatcher({ scope, dir, name: 'watch-w', target: { port: w.port, domain: OVERLAY }, timeoutS: 60 }, 'presence-subscribe-refresh.xml', ALICE, 'bob');
    await untilNotified(watcher.log, 1, 15_000);
    const killedAt = Date.now();
    await w.kill9();
    await w.restart();
    t.diagnostic(`peer W killed and listening again after ${Date.now() - killedAt} ms`);
    const old = await watcher.finished;
    assert.equal(old.result.exitCode, 0, sippFailure(old.result));
    t.diagnostic(`watcher at W: SUBSCRIBE answers ${old.summary.subscribeStatuses.join(' → ')}; NOTIFY ${old.summary.notifies.map(describeNotify).join(' | ')}`);
    assert.deepEqual(old.summary.subscribeStatuses, [407, 200, 481]);
    assert.deepEqual(old.summary.notifies[0]?.basics, ['open']);
    const refreshAnswered = old.log.filter((m) => m.status === 481).at(-1)!.atMs;
    t.diagnostic(`481 ${refreshAnswered - killedAt} ms after the kill`);

    // alice subscribes again, through peer A this time: 200 and bob's current state
    const again = await startWatcher({ scope, dir, name: 'watch-a', target: { port: a.port, domain: OVERLAY }, timeoutS: 30 }, 'presence-subscribe-unsubscribe.xml', ALICE, 'bob');
    const fresh = await again.finished;
    assert.equal(fresh.result.exitCode, 0, sippFailure(fresh.result));
    t.diagnostic(`new subscription at A: ${fresh.summary.subscribeStatuses.join(' → ')}; NOTIFY ${fresh.summary.notifies.map(describeNotify).join(' | ')}`);
    assert.deepEqual(fresh.summary.subscribeStatuses, [407, 200, 200]);
    assert.deepEqual(fresh.summary.notifies.map((x) => x.basics), [['open'], ['open']]);
    assert.match(fresh.summary.notifies[0]!.subscriptionState ?? '', /^active/);
    assert.match(fresh.summary.notifies[1]!.subscriptionState ?? '', /^terminated/);
    await capture.finish(10);
  });
});

test('SIPp: a PUBLISH from a phone that never REGISTERed at that peer reaches a watcher at another peer', { timeout: 60_000 }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const [a, b] = await startPresencePeers(scope, 2, USERS, 60_000);
    assert.ok(a !== undefined && b !== undefined);
    const watcher = await startWatcher({ scope, dir, name: 'watch', target: { port: a.port, domain: OVERLAY }, timeoutS: 40 }, 'presence-subscribe.xml', ALICE, 'bob', SHORTEST_EXPIRES_S);
    await untilNotified(watcher.log, 1, 15_000);
    const pub = await runPublisher({ scope, dir, name: 'publish', target: { port: b.port, domain: OVERLAY }, timeoutS: 30 }, BOB);
    assert.equal(pub.result.exitCode, 0, sippFailure(pub.result));
    await watcher.stop();
    const notes = (await watcher.finished).summary.notifies.map((x) => `${x.basics.join('+')}:${x.notes.join('+')}`);
    const services = (await b.status())['services'] as { presence?: { overlay?: { publishes?: number; publishFailures?: number } } } | null;
    t.diagnostic(`watcher at A saw: ${notes.join(' | ')}; B's overlay presence: ${JSON.stringify(services?.presence?.overlay)}`);
    assert.equal(services?.presence?.overlay?.publishFailures, 0, "B's Stores of bob's presence entry failed");
    assert.ok(notes.includes('open:initial') && notes.includes('open:modified'), `the watcher saw ${notes.join(' | ')}`);
  });
});
