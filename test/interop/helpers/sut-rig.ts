/**
 * The set-up every SIP-front interop test shares: a temp dir, the system under test (p2psip, or
 * Kamailio with P2PSIP_INTEROP_SUT=kamailio), free loopback ports for the test's own programs, and a
 * tshark capture of all of them; `finish` checks the capture and that the SUT exits cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import type { ProcessScope } from '../../../harness/process-scope.js';
import type { PortRequest } from '../../../harness/port-allocator.js';
import { startSipCaptureCheck, type DiagnosticContext, type SipCaptureCheck } from './sip-capture-check.js';
import { interopSutKind, startSipServer, type SipServer, type SutKind } from '../../../harness/sip-server.js';
import type { SipDissection } from './tshark.js';

export interface SutRig {
  readonly dir: string;
  readonly kind: SutKind;
  readonly sut: SipServer;
  /** The SUT's SIP address, as SIPp's `remote`. */
  readonly remote: { readonly host: SipServer['host']; readonly port: number };
  /** One port per request given to startSutRig, in order. */
  readonly ports: readonly number[];
  readonly capture: SipCaptureCheck;
  /** Stops the capture and checks it (≥ minSipPackets SIP packets, none flagged), then stops the SUT: exit code 0. */
  finish(minSipPackets: number): Promise<SipDissection | undefined>;
}

export async function startSutRig(
  t: DiagnosticContext,
  scope: ProcessScope,
  opts: { readonly name: string; readonly lifetimeMs: number; readonly ports: readonly PortRequest[] },
): Promise<SutRig> {
  const dir = scope.tempDir();
  const kind = interopSutKind();
  const sut = await startSipServer(scope, kind, { lifetimeMs: opts.lifetimeMs });
  const ports: number[] = [];
  for (const req of opts.ports) ports.push(await scope.port(req));
  const capture = await startSipCaptureCheck(t, scope, { dir, name: opts.name, ports: [sut.port, ...ports], lifetimeMs: opts.lifetimeMs });
  return {
    dir,
    kind,
    sut,
    remote: { host: sut.host, port: sut.port },
    ports,
    capture,
    async finish(minSipPackets) {
      const d = await capture.finish(minSipPackets);
      const exit = await sut.stop();
      assert.equal(exit.code, 0, `${kind} did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}\n${sut.process.tail()}`);
      return d;
    },
  };
}
