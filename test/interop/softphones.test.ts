/**
 * Two independent softphones through a p2psip peer: baresip (alice) and linphonec (bob)
 * register, alice calls bob (auto-answer) and bob hangs up, bob calls alice (auto-answer)
 * and alice hangs up, then a MESSAGE goes each way. tshark watches the SIP traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Baresip } from './helpers/baresip.js';
import { withScope } from '../../harness/process-scope.js';
import { Linphonec } from './helpers/linphonec.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSutRig } from './helpers/sut-rig.js';

const TEST_TIMEOUT_MS = 150_000;
const STEP_MS = 20_000;

test('baresip and linphonec register to p2psip, call each other (auto-answer), hang up, exchange MESSAGEs', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['baresip', 'linphonec'])) return;
  await withScope(async (scope) => {
    // alice (baresip) uses port+1 for TLS
    const rig = await startSutRig(t, scope, { name: 'softphones', lifetimeMs: TEST_TIMEOUT_MS, ports: [{ span: 2 }, {}] });
    const [aliceSip, bobSip] = rig.ports as [number, number];
    const { dir, sut } = rig;
    const registrar = rig.remote;

    const aliceDir = join(dir, 'alice');
    const bobHome = join(dir, 'bob');
    mkdirSync(aliceDir);
    mkdirSync(bobHome);
    const aliceRtp = await scope.port({ span: 8 });
    const bobRtp = await scope.port({ span: 8 });
    const bobUri = `sip:bob@127.0.0.1:${sut.port}`;
    const aliceUri = `sip:alice@127.0.0.1:${sut.port}`;

    const alice = await Baresip.start(scope, {
      user: 'alice',
      dir: aliceDir,
      sipPort: aliceSip,
      ctrlPort: await scope.port(),
      consPort: await scope.port(),
      rtpPorts: [aliceRtp, aliceRtp + 7],
      registrar,
      contacts: [{ name: 'bob', uri: bobUri }],
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    const bob = await Linphonec.start(scope, {
      user: 'bob',
      home: bobHome,
      sipPort: bobSip,
      rtpPorts: [bobRtp, bobRtp + 7],
      registrar,
      autoAnswer: true,
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    await alice.waitRegistered(STEP_MS);
    await bob.waitRegistered(STEP_MS);

    // 1. alice (baresip) calls bob (linphonec, -a answers); bob hangs up.
    let ev = alice.eventCount();
    let line = bob.lineCount();
    const dial = await alice.command('dial', bobUri);
    assert.ok(dial.ok, `baresip dial failed: ${dial.data}`);
    let est = await alice.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`alice: ${JSON.stringify(est)}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line)}`);
    line = bob.lineCount();
    bob.command('terminate');
    let closed = await alice.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`alice: ${JSON.stringify(closed)}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*ended \(No error\)/, STEP_MS, line)}`);

    // 2. bob calls alice (baresip answermode=auto); alice hangs up.
    ev = alice.eventCount();
    line = bob.lineCount();
    bob.command(`call ${aliceUri}`);
    est = await alice.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`alice: ${JSON.stringify(est)}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line)}`);
    line = bob.lineCount();
    const hangup = await alice.command('hangup');
    assert.ok(hangup.ok, `baresip hangup failed: ${hangup.data}`);
    closed = await alice.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`alice: ${JSON.stringify(closed)}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*ended \(No error\)/, STEP_MS, line)}`);

    // 3. MESSAGE both ways (RFC 3428).
    line = bob.lineCount();
    const sent = await alice.command('message', 'hello-bob-from-baresip');
    assert.ok(sent.ok, `baresip message failed: ${sent.data}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Message received from .*alice/, STEP_MS, line)}`);
    await bob.waitForLine(/hello-bob-from-baresip/, STEP_MS, line);

    bob.command(`chat ${aliceUri} hello-alice-from-linphonec`);
    await alice.waitConsole('hello-alice-from-linphonec', STEP_MS);
    t.diagnostic(`alice console: ${JSON.stringify(alice.consoleText().trim().slice(-200))}`);

    assert.equal(await bob.quit(), 0, `linphonec exit:\n${bob.process.tail()}`);
    assert.equal(await alice.quit(), 0, `baresip exit:\n${alice.process.tail()}`);

    // Two REGISTERs (+200), two calls (INVITE..BYE on two legs), two MESSAGEs.
    await rig.finish(30);
  });
});
