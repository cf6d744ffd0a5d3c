/**
 * sipsak (0.9.8.1) for single registrations: `sipsak -U -C <contact> -x <expires> -i -s <aor@server>`
 * registers one binding and exits 0 on a 200. The server port must have at most four
 * digits (sipsak truncates longer ones in the URIs it builds; see FOUR_DIGIT_PORTS).
 */
import { describeExit } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';

export interface SipsakRegisterOptions {
  readonly user: string;
  /** Registrar on 127.0.0.1. */
  readonly serverPort: number;
  /** Where the binding points (e.g. a SIPp UAS). */
  readonly contactPort: number;
  readonly expiresS?: number;
}

/** Registers user@127.0.0.1 -> sip:user@127.0.0.1:contactPort; throws unless sipsak exits 0. */
export async function sipsakRegister(scope: ProcessScope, opts: SipsakRegisterOptions): Promise<void> {
  if (opts.serverPort > 9999) throw new RangeError(`sipsak cannot address port ${opts.serverPort} (more than four digits)`);
  const proc = scope.spawn({
    command: 'sipsak',
    args: [
      '-U',
      '-C', `sip:${opts.user}@127.0.0.1:${opts.contactPort}`,
      '-x', String(opts.expiresS ?? 3600),
      '-i',
      '-s', `sip:${opts.user}@127.0.0.1:${opts.serverPort}`,
      '-H', '127.0.0.1',
    ],
    name: `sipsak-register:${opts.user}`,
    lifetimeMs: 20_000,
    maxLines: 200,
  });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`sipsak registration of ${opts.user} failed (${describeExit(exit)}):\n${proc.tail()}`);
}
