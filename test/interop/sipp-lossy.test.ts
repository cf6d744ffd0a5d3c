/**
 * SIPp calls through a p2psip peer with 10 % of the UAC's packets dropped (SIPp -lost 10,
 * both directions): every call must still complete through retransmission (RFC 3261
 * §17): the UAC retransmits INVITE/BYE, the proxy must answer retransmitted requests from
 * its transactions and relay the UAS's 2xx retransmissions toward the UAC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startSutRig } from './helpers/sut-rig.js';
import { startRegisteredUas } from './helpers/registered-uas.js';
import { assertAllCallsPassed, assertUasCalls, describeSippResult, runSipp } from '../../harness/sipp-runner.js';
import { countResponseRepeats } from './helpers/tshark.js';

const CALLS = 200;
const LOSS_PERCENT = 10;
const TEST_TIMEOUT_MS = 180_000;

test(`SIPp: ${CALLS} calls with ${LOSS_PERCENT} % UAC packet loss all complete through p2psip`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'sipsak'])) return;
  await withScope(async (scope) => {
    const rig = await startSutRig(t, scope, { name: 'lossy', lifetimeMs: TEST_TIMEOUT_MS, ports: [{}, {}] });
    const { kind, sut } = rig;
    const [uasPort, uacPort] = rig.ports as [number, number];

    const { uas, callees } = await startRegisteredUas(scope, sut, {
      name: 'uas',
      scenario: scenario('uas.xml'),
      workDir: rig.dir,
      localPort: uasPort,
      calls: CALLS,
      timeoutS: 120,
      recvTimeoutMs: 40_000,
    });
    const uac = await runSipp(scope, {
      name: 'uac-lossy',
      scenario: scenario('uac.xml'),
      workDir: rig.dir,
      localPort: uacPort,
      remote: rig.remote,
      calls: CALLS,
      rate: 20,
      timeoutS: 100,
      // Several losses in a row take T1 doublings (0.5, 1, 2, 4 s ...) to recover.
      recvTimeoutMs: 40_000,
      lossPercent: LOSS_PERCENT,
      injectionFile: callees,
    });
    assertAllCallsPassed(t, uac, CALLS);
    assert.ok((uac.stats?.retransmissions ?? 0) > 0, `no retransmissions: was anything lost? ${describeSippResult(uac)}`);

    assertUasCalls(t, await uas.done, CALLS, false);

    await rig.finish(CALLS * 10);
    if (rig.capture.file !== undefined) {
      const r = await countResponseRepeats(scope, rig.capture.file, [sut.port, uasPort, uacPort], sut.port, uacPort);
      t.diagnostic(`${kind} -> UAC: ${r.responses} responses, ${r.repeats} of them retransmitted`);
      assert.ok(r.repeats > 0, `${kind} never retransmitted a response toward the UAC`);
    }
  });
});
