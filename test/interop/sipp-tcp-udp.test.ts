/**
 * SIPp over TCP calling a SIPp UAS on UDP through a p2psip peer: the proxy switches transport
 * between the legs (RFC 3261 §18, double Record-Route of RFC 5658), and ACK/BYE follow the
 * Record-Route set back across it. tshark watches the traffic.
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

const CALLS = 200;
const TEST_TIMEOUT_MS = 120_000;

test(`SIPp: ${CALLS} calls from a TCP UAC to a UDP UAS through p2psip, 0 failed`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'sipsak'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const kind = interopSutKind();
    const sut = await startSipServer(scope, kind, { lifetimeMs: TEST_TIMEOUT_MS });
    const uasPort = await scope.port();
    const uacPort = await scope.port();
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'tcp-udp', ports: [sut.port, uasPort, uacPort], lifetimeMs: TEST_TIMEOUT_MS });

    const { uas, callees } = await startRegisteredUas(scope, sut, { name: 'uas', scenario: scenario('uas.xml'), workDir: dir, localPort: uasPort, calls: CALLS, timeoutS: 60 });
    const uac = await runSipp(scope, {
      name: 'uac-tcp',
      scenario: scenario('uac.xml'),
      workDir: dir,
      localPort: uacPort,
      remote: { host: sut.host, port: sut.port },
      transport: 't1',
      calls: CALLS,
      rate: 50,
      timeoutS: 45,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);
    const uasResult = await uas.done;
    t.diagnostic(describeSippResult(uasResult));
    assert.equal(uasResult.stats?.successfulCalls, CALLS, describeSippResult(uasResult));
    await capture.finish(CALLS * 10);
    const exit = await sut.stop();
    assert.equal(exit.code, 0, `${kind} did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  });
});
