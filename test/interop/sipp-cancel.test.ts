/**
 * SIPp CANCEL through a p2psip peer: the UAC sends INVITE, gets 180, sends CANCEL and
 * expects 200 for the CANCEL and 487 for the INVITE, then ACKs (RFC 3261 §9, §16.10).
 * The UAS (registered with sipsak) answers the proxy's CANCEL with 200 and the INVITE with
 * 487 and receives the proxy's hop-by-hop ACK. tshark watches the traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withScope } from './helpers/interop-scope.js';
import { scenario } from './helpers/paths.js';
import { requireTools } from './helpers/require-tools.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { interopSutKind, startSipServer } from './helpers/sip-server.js';
import { startRegisteredUas } from './helpers/registered-uas.js';
import { assertAllCallsPassed, describeSippResult, runSipp } from './helpers/sipp-runner.js';

const CALLS = 100;
const TEST_TIMEOUT_MS = 120_000;

test(`SIPp: ${CALLS} INVITEs cancelled after 180 get 200 (CANCEL) and 487 (INVITE) through p2psip`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'sipsak'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const kind = interopSutKind();
    const sut = await startSipServer(scope, kind, { lifetimeMs: TEST_TIMEOUT_MS });
    const uasPort = await scope.port();
    const uacPort = await scope.port();
    const capture = await startSipCaptureCheck(t, scope, {
      dir,
      name: 'cancel',
      ports: [sut.port, uasPort, uacPort],
      lifetimeMs: TEST_TIMEOUT_MS,
    });

    const { uas, callees } = await startRegisteredUas(scope, sut, {
      name: 'uas-cancel',
      scenario: scenario('uas-cancel.xml'),
      workDir: dir,
      localPort: uasPort,
      calls: CALLS,
      timeoutS: 60,
    });
    const uac = await runSipp(scope, {
      name: 'uac-cancel',
      scenario: scenario('uac-cancel.xml'),
      workDir: dir,
      localPort: uacPort,
      remote: { host: sut.host, port: sut.port },
      calls: CALLS,
      rate: 20,
      timeoutS: 45,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);

    const uasResult = await uas.done;
    t.diagnostic(describeSippResult(uasResult));
    assert.equal(uasResult.exitCode, 0, `${describeSippResult(uasResult)}\n${uasResult.errorsExcerpt}`);
    assert.equal(uasResult.stats?.successfulCalls, CALLS, describeSippResult(uasResult));

    // Per call at least INVITE, 180, CANCEL, 200, 487, ACK on each leg.
    await capture.finish(CALLS * 10);
    const exit = await sut.stop();
    assert.equal(exit.code, 0, `${kind} did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  });
});
