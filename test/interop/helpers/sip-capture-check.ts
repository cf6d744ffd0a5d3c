/**
 * The tshark part of every interop test: capture the test's ports on loopback while it
 * runs, then require Wireshark's SIP dissector to find nothing malformed.
 * Capturing needs root (or dumpcap capabilities); without it the check is reported as a
 * diagnostic and left out rather than failing the rest of the test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { isRoot, missingTools } from '../../../harness/require-tools.js';
import { dissectSip, startCapture } from './tshark.js';
import type { Capture, SipDissection } from './tshark.js';

export interface DiagnosticContext {
  diagnostic(message: string): void;
}

export interface SipCaptureCheck {
  /** The pcap being written, undefined when capture is left out. */
  readonly file: string | undefined;
  /** Stops the capture, dissects it and asserts: >= minSipPackets SIP packets, no problems. */
  finish(minSipPackets: number): Promise<SipDissection | undefined>;
}

/** Starts capturing `ports` into <dir>/<name>.pcap (or explains why not). */
export async function startSipCaptureCheck(
  t: DiagnosticContext,
  scope: ProcessScope,
  opts: { readonly dir: string; readonly name: string; readonly ports: readonly number[]; readonly lifetimeMs: number },
): Promise<SipCaptureCheck> {
  let capture: Capture | undefined;
  if (missingTools(['tshark']).length > 0) {
    t.diagnostic('tshark not installed: SIP dissector check left out');
  } else if (!isRoot() && process.env['P2PSIP_INTEROP_CAPTURE'] !== '1') {
    t.diagnostic('not root: loopback capture left out (set P2PSIP_INTEROP_CAPTURE=1 if dumpcap may capture)');
  } else {
    capture = await startCapture(scope, {
      file: join(opts.dir, `${opts.name}.pcap`),
      ports: opts.ports,
      lifetimeMs: opts.lifetimeMs,
    });
  }
  return {
    file: capture?.file,
    async finish(minSipPackets: number) {
      if (capture === undefined) return undefined;
      await capture.stop();
      const d = await dissectSip(scope, capture.file, capture.ports);
      t.diagnostic(`tshark: ${d.sipPackets} SIP packets on ports ${capture.ports.join(',')}, ${d.problemCount} malformed/warned`);
      assert.ok(d.sipPackets >= minSipPackets, `tshark decoded only ${d.sipPackets} SIP packets (expected >= ${minSipPackets})`);
      assert.equal(d.problemCount, 0, `Wireshark's SIP dissector flagged packets:\n${d.problems.join('\n')}`);
      return d;
    },
  };
}
