/**
 * SIPp against a p2psip peer: 1,000 users REGISTER (injection CSV), then 1,000 calls
 * UAC -> p2psip -> UAS (INVITE/100/180/200/ACK/BYE) with no failed call. The registered
 * Contacts all point at the SIPp UAS, so every call exercises the location service for a
 * different AoR and the record-routed ACK/BYE path. tshark watches the traffic.
 * P2PSIP_INTEROP_SUT=kamailio runs the same test against Kamailio (harness check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withScope } from './helpers/interop-scope.js';
import { scenario } from './helpers/paths.js';
import { requireTools } from './helpers/require-tools.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { interopSutKind, startSipServer } from './helpers/sip-server.js';
import { assertAllCallsPassed, describeSippResult, runSipp, startSipp, writeInjectionFile } from './helpers/sipp-runner.js';

const USERS = 1000;
const CALLS = 1000;
const TEST_TIMEOUT_MS = 240_000;

test(`SIPp: ${USERS} users REGISTER, then ${CALLS} calls UAC -> p2psip -> UAS with 0 failed calls`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const kind = interopSutKind();
    const sut = await startSipServer(scope, kind, { lifetimeMs: TEST_TIMEOUT_MS });
    const uasPort = await scope.port();
    const regPort = await scope.port();
    const uacPort = await scope.port();
    const capture = await startSipCaptureCheck(t, scope, {
      dir,
      name: 'register-calls',
      ports: [sut.port, uasPort, regPort, uacPort],
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    const remote = { host: sut.host, port: sut.port } as const;
    const users = join(dir, 'users.csv');
    writeInjectionFile(users, Array.from({ length: USERS }, (_, i) => [`user${i + 1}`]));

    // The UAS answers every call; it ends by itself after CALLS calls.
    const uas = startSipp(scope, {
      name: 'uas',
      scenario: scenario('uas.xml'),
      workDir: dir,
      localPort: uasPort,
      calls: CALLS,
      timeoutS: 150,
    });

    const reg = await runSipp(scope, {
      name: 'register',
      scenario: scenario('register.xml'),
      workDir: dir,
      localPort: regPort,
      remote,
      calls: USERS,
      rate: 200,
      maxConcurrent: 200,
      timeoutS: 60,
      injectionFile: users,
      keys: { contact_host: '127.0.0.1', contact_port: String(uasPort) },
    });
    assertAllCallsPassed(t, reg, USERS);

    const uac = await runSipp(scope, {
      name: 'uac',
      scenario: scenario('uac.xml'),
      workDir: dir,
      localPort: uacPort,
      remote,
      calls: CALLS,
      rate: 100,
      maxConcurrent: 200,
      timeoutS: 90,
      injectionFile: users,
    });
    assertAllCallsPassed(t, uac, CALLS);

    const uasResult = await uas.done;
    t.diagnostic(describeSippResult(uasResult));
    assert.equal(uasResult.exitCode, 0, `${describeSippResult(uasResult)}\n${uasResult.errorsExcerpt}`);
    assert.equal(uasResult.stats?.successfulCalls, CALLS, describeSippResult(uasResult));

    // REGISTER+200 per user, INVITE..BYE/200 on two legs per call (100 Trying only on one).
    await capture.finish(USERS * 2 + CALLS * 11);

    const exit = await sut.stop();
    assert.equal(exit.code, 0, `${kind} did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}\n${sut.process.tail()}`);
  });
});
