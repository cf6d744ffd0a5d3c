/**
 * SIPp CANCEL through a p2psip peer: the UAC sends INVITE, gets 180, sends CANCEL and
 * expects 200 for the CANCEL and 487 for the INVITE, then ACKs (RFC 3261 §9, §16.10).
 * The UAS (registered with sipsak) answers the proxy's CANCEL with 200 and the INVITE with
 * 487 and receives the proxy's hop-by-hop ACK. tshark watches the traffic.
 */
import { test } from 'node:test';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSutRig } from './helpers/sut-rig.js';
import { startRegisteredUas } from './helpers/registered-uas.js';
import { assertAllCallsPassed, assertUasCalls, runSipp } from '../../harness/sipp-runner.js';

const CALLS = 100;
const TEST_TIMEOUT_MS = 120_000;

test(`SIPp: ${CALLS} INVITEs cancelled after 180 get 200 (CANCEL) and 487 (INVITE) through p2psip`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'sipsak'])) return;
  await withScope(async (scope) => {
    const rig = await startSutRig(t, scope, { name: 'cancel', lifetimeMs: TEST_TIMEOUT_MS, ports: [{}, {}] });
    const [uasPort, uacPort] = rig.ports as [number, number];

    const { uas, callees } = await startRegisteredUas(scope, rig.sut, {
      name: 'uas-cancel',
      scenario: scenario('uas-cancel.xml'),
      workDir: rig.dir,
      localPort: uasPort,
      calls: CALLS,
      timeoutS: 60,
    });
    const uac = await runSipp(scope, {
      name: 'uac-cancel',
      scenario: scenario('uac-cancel.xml'),
      workDir: rig.dir,
      localPort: uacPort,
      remote: rig.remote,
      calls: CALLS,
      rate: 20,
      timeoutS: 45,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);

    assertUasCalls(t, await uas.done, CALLS, true);
    // Per call at least INVITE, 180, CANCEL, 200, 487, ACK on each leg.
    await rig.finish(CALLS * 10);
  });
});
