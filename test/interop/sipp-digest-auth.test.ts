/**
 * Digest authentication against an independent client: SIPp (sip-tester 3.6.1, MD5 only: its binary
 * knows MD5 and AKAv1-MD5, no SHA-256) REGISTERs at an in-process SipPeer on loopback whose SIP front
 * authenticates with a table of passwords (PasswordTableVerifier, real MD5): the right password gets
 * 401 then 200, a wrong one 401 then 403. Run with our default offer (MD5 only) and with MD5 then SHA-256
 * (SIPp answers the first challenge). With SHA-256 first SIPp 3.6.1 gives up ("createAuthHeader:
 * authentication must use MD5 or AKAv1-MD5"): one reason SHA-256 is not offered by default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { describeSippResult, runSipp, type SippResult } from '../../harness/sipp-runner.js';
import type { DigestAlgorithm } from '../../src/sip/auth/credential-verifier.js';
import { PasswordTableVerifier } from '../support/sip/password-table-verifier.js';
import { digestSipPeer } from './helpers/digest-sip-peer.js';

const TEST_TIMEOUT_MS = 60_000;

for (const algorithms of [undefined, ['MD5', 'SHA-256']] as Array<DigestAlgorithm[] | undefined>) {
  test(`SIPp REGISTER with digest (offered: ${algorithms?.join(', ') ?? 'default'}): right password 401 → 200, wrong 401 → 403`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireTools(t, ['sipp'])) return;
    await withScope(async (scope) => {
      const dir = scope.tempDir();
      const port = await scope.port();
      const verifier = new PasswordTableVerifier({ alice: 'wonderland' });
      const peer = digestSipPeer(port, verifier, algorithms);
      await peer.start();
      scope.defer(() => peer.stop());
      const run = async (name: string, file: string, password: string): Promise<SippResult> => {
        const localPort = await scope.port();
        const r = await runSipp(scope, {
          name,
          scenario: scenario(file),
          workDir: dir,
          localPort,
          remote: { host: '127.0.0.1', port },
          calls: 1,
          timeoutS: 20,
          keys: { user: 'alice' },
          extraArgs: ['-au', 'alice', '-ap', password],
          traceMessages: true,
        });
        t.diagnostic(describeSippResult(r));
        return r;
      };
      const ok = await run('register-auth', 'register-auth.xml', 'wonderland');
      assert.equal(ok.exitCode, 0, `${describeSippResult(ok)}\n${ok.errorsExcerpt}`);
      assert.equal(ok.stats?.successfulCalls, 1);
      const bindings = await peer.location.lookup('sip:alice@p2psip.local');
      assert.equal(bindings.length, 1, 'alice registered');
      assert.equal(verifier.calls.at(-1)?.algorithm, 'MD5');

      const refused = await run('register-auth-refused', 'register-auth-refused.xml', 'looking-glass');
      assert.equal(refused.exitCode, 0, `${describeSippResult(refused)}\n${refused.errorsExcerpt}`);
      assert.equal(refused.stats?.successfulCalls, 1);
      const s = peer.auth!.stats();
      t.diagnostic(JSON.stringify(s));
      assert.equal(s.successes, 1);
      assert.equal(s.failures.badResponse, 1);
      assert.equal(s.challenges, 2);
    });
  });
}
