/**
 * SIPp against a p2psip peer: 1,000 users REGISTER (injection CSV), then 1,000 calls
 * UAC -> p2psip -> UAS (INVITE/100/180/200/ACK/BYE) with no failed call. The registered
 * Contacts all point at the SIPp UAS, so every call exercises the location service for a
 * different AoR and the record-routed ACK/BYE path. tshark watches the traffic.
 * P2PSIP_INTEROP_SUT=kamailio runs the same test against Kamailio (harness check).
 *
 * @test-lane alone (1,000 calls with none failed)
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSutRig } from './helpers/sut-rig.js';
import { assertAllCallsPassed, assertUasCalls, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';

const USERS = 1000;
const CALLS = 1000;
const TEST_TIMEOUT_MS = 240_000;

test(`SIPp: ${USERS} users REGISTER, then ${CALLS} calls UAC -> p2psip -> UAS with 0 failed calls`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp'])) return;
  await withScope(async (scope) => {
    const rig = await startSutRig(t, scope, { name: 'register-calls', lifetimeMs: TEST_TIMEOUT_MS, ports: [{}, {}, {}] });
    const [uasPort, regPort, uacPort] = rig.ports as [number, number, number];
    const { dir, remote } = rig;
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

    assertUasCalls(t, await uas.done, CALLS, true);
    // REGISTER+200 per user, INVITE..BYE/200 on two legs per call (100 Trying only on one).
    await rig.finish(USERS * 2 + CALLS * 11);
  });
});
