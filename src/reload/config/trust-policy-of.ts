import type { TrustPolicy } from '../security/index.js';
import type { OverlayConfiguration } from './overlay-configuration.js';

/** The certificate trust an overlay's configuration implies (root-cert, self-signed-permitted, bad-node; RFC 6940 §11.1). */
export function trustPolicyOf(c: OverlayConfiguration): TrustPolicy {
  return {
    overlay: c.instanceName,
    rootCertificates: c.rootCertificates,
    selfSignedPermitted: c.selfSignedPermitted,
    selfSignedDigest: c.selfSignedDigest,
    nodeIdLength: c.nodeIdLength,
    badNodes: c.badNodes,
  };
}
