import { join } from 'node:path';
import type { ProcessScope } from '../../../harness/process-scope.js';
import type { SipServer } from '../../../harness/sip-server.js';
import { sipsakRegister } from './sipsak.js';
import { startSipp, writeInjectionFile, type SippOptions, type SippRun } from '../../../harness/sipp-runner.js';

export interface RegisteredUas {
  readonly uas: SippRun;
  /** Injection CSV with the callee's user name, for the UAC (-inf). */
  readonly callees: string;
}

/**
 * A SIPp UAS on `localPort`, registered at the server as `callee` (with sipsak, RFC 3261 §10),
 * and the injection file a UAC uses to call it.
 */
export async function startRegisteredUas(
  scope: ProcessScope,
  sut: SipServer,
  opts: Pick<SippOptions, 'name' | 'scenario' | 'workDir' | 'localPort' | 'calls' | 'timeoutS' | 'recvTimeoutMs'>,
): Promise<RegisteredUas> {
  const uas = startSipp(scope, opts);
  await sipsakRegister(scope, { user: 'callee', serverPort: sut.port, contactPort: opts.localPort });
  const callees = join(opts.workDir, 'callee.csv');
  writeInjectionFile(callees, [['callee']]);
  return { uas, callees };
}
