/**
 * SIPp over TCP calling a SIPp UAS on UDP through a p2psip peer: the proxy switches transport
 * between the legs (RFC 3261 §18, double Record-Route of RFC 5658), and ACK/BYE follow the
 * Record-Route set back across it. tshark watches the traffic.
 */
import { test } from 'node:test';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSutRig } from './helpers/sut-rig.js';
import { startRegisteredUas } from './helpers/registered-uas.js';
import { assertAllCallsPassed, assertUasCalls, runSipp } from '../../harness/sipp-runner.js';

const CALLS = 200;
const TEST_TIMEOUT_MS = 120_000;

test(`SIPp: ${CALLS} calls from a TCP UAC to a UDP UAS through p2psip, 0 failed`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'sipsak'])) return;
  await withScope(async (scope) => {
    const rig = await startSutRig(t, scope, { name: 'tcp-udp', lifetimeMs: TEST_TIMEOUT_MS, ports: [{}, {}] });
    const [uasPort, uacPort] = rig.ports as [number, number];

    const { uas, callees } = await startRegisteredUas(scope, rig.sut, { name: 'uas', scenario: scenario('uas.xml'), workDir: rig.dir, localPort: uasPort, calls: CALLS, timeoutS: 60 });
    const uac = await runSipp(scope, {
      name: 'uac-tcp',
      scenario: scenario('uac.xml'),
      workDir: rig.dir,
      localPort: uacPort,
      remote: rig.remote,
      transport: 't1',
      calls: CALLS,
      rate: 50,
      timeoutS: 45,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);
    assertUasCalls(t, await uas.done, CALLS, false);
    await rig.finish(CALLS * 10);
  });
});
