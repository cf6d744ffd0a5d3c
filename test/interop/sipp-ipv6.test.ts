/**
 * SIP over IPv6 with SIPp: a p2psip peer on [::1], a SIPp UAS registered through SIPp's REGISTER
 * scenario, and calls from a SIPp UAC, all on ::1 (RFC 5118 addresses in Via, Contact,
 * Record-Route and the Request-URI). tshark watches the traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { interopSutKind, startP2psip } from '../../harness/sip-server.js';
import { assertAllCallsPassed, describeSippResult, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';

const CALLS = 100;
const TEST_TIMEOUT_MS = 120_000;

test(`SIPp over IPv6: REGISTER, then ${CALLS} calls UAC -> p2psip -> UAS on [::1], 0 failed`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  if (interopSutKind() !== 'p2psip') {
    t.skip('IPv6 run is for p2psip only (the Kamailio config listens on IPv4)');
    return;
  }
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const sut = await startP2psip(scope, { host: '::1', lifetimeMs: TEST_TIMEOUT_MS });
    // Free on [::1], where SIPp binds them (a port free on 127.0.0.1 may be taken on ::1).
    const uasPort = await scope.port({ host: '::1' });
    const uacPort = await scope.port({ host: '::1' });
    const regPort = await scope.port({ host: '::1' });
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'ipv6', ports: [sut.port, uasPort, uacPort, regPort], lifetimeMs: TEST_TIMEOUT_MS });

    const uas = startSipp(scope, { name: 'uas6', scenario: scenario('uas.xml'), workDir: dir, localHost: '::1', localPort: uasPort, calls: CALLS, timeoutS: 60 });
    const callees = join(dir, 'callee.csv');
    writeInjectionFile(callees, [['callee']]);
    const reg = await runSipp(scope, {
      name: 'register6',
      scenario: scenario('register.xml'),
      workDir: dir,
      localHost: '::1',
      localPort: regPort,
      remote: { host: '::1', port: sut.port },
      calls: 1,
      timeoutS: 15,
      injectionFile: callees,
      keys: { contact_host: '[::1]', contact_port: String(uasPort) },
    });
    assert.equal(reg.stats?.successfulCalls, 1, describeSippResult(reg));

    const uac = await runSipp(scope, {
      name: 'uac6',
      scenario: scenario('uac.xml'),
      workDir: dir,
      localHost: '::1',
      localPort: uacPort,
      remote: { host: '::1', port: sut.port },
      calls: CALLS,
      rate: 50,
      timeoutS: 45,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);
    const uasResult = await uas.done;
    assert.equal(uasResult.stats?.successfulCalls, CALLS, describeSippResult(uasResult));
    await capture.finish(CALLS * 10);
    const exit = await sut.stop();
    assert.equal(exit.code, 0, `p2psip did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  });
});
