import { HashAlgorithm, SignatureAlgorithm } from '../codec/index.js';
import type { ForwardingHeader, SecurityBlock } from '../codec/index.js';
import type { OverlaySecurity, SignerInfo } from './overlay-types.js';

/**
 * No signatures: the security block carries SignerIdentity `none` and an empty signature, and a
 * link's "certificate" is the peer's raw Node-ID. For the simulator and unit tests of routing
 * only — a real peer uses the certificate-based security of src/reload/security (RFC 6940 §13).
 */
export class UnsignedSecurity implements OverlaySecurity {
  constructor(private readonly idLength = 16) {}

  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    if (certificate?.length !== this.idLength) return new Error('no Node-ID presented');
    return [certificate];
  }

  sign(_header: ForwardingHeader, _contents: Uint8Array): SecurityBlock {
    return {
      certificates: [],
      signature: { algorithm: { hash: HashAlgorithm.none, signature: SignatureAlgorithm.anonymous }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) },
    };
  }

  verify(): { ok: true; signer: SignerInfo | undefined } {
    return { ok: true, signer: undefined };
  }
}
