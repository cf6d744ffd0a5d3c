/**
 * A SIP front alone (no overlay) on 127.0.0.1 that challenges with digest and checks the answers
 * against a table of passwords: what the digest interop tests (SIPp, baresip, linphonec) talk to.
 */
import { SipPeer } from '../../../src/node/sip-peer.js';
import { NodeTransportDriver } from '../../../src/platform/node-transport-driver.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { NumericOnlyResolver } from '../../../src/sip/core/target-resolver.js';
import type { DigestAlgorithm } from '../../../src/sip/auth/credential-verifier.js';
import type { PasswordTableVerifier } from '../../support/sip/password-table-verifier.js';

/** Not started: call start() (and stop()). `algorithms`: what the challenges offer (default: the front's). */
export function digestSipPeer(port: number, verifier: PasswordTableVerifier, algorithms?: DigestAlgorithm[]): SipPeer {
  return new SipPeer(
    { clock: new SystemClock(), random: new CryptoRandom(), driver: new NodeTransportDriver(), resolver: new NumericOnlyResolver(), localHosts: ['127.0.0.1'] },
    {
      domains: ['p2psip.local'],
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port },
        { protocol: 'tcp', host: '127.0.0.1', port },
      ],
      outbound: { mode: 'none' },
      advertisedHost: '127.0.0.1',
      auth: { realm: 'p2psip.local', verifier, ...(algorithms === undefined ? {} : { limits: { algorithms } }) },
    },
  );
}
