import type { ForwardingHeader, SecurityBlock } from '../codec/index.js';
import type { OverlaySecurity, SignerInfo } from '../overlay/overlay-types.js';
import type { CertificateLookupPlace, CertificateResolver } from './certificate-resolver.js';
import type { CertificateStore } from './certificate-store.js';
import { CERTIFICATE_BY_NODE_KIND, certificateByNodeResourceId } from './certificate-usage.js';
import { signMessageContents, verifyMessageContents } from './message-signer.js';
import type { NodeIdentity } from './node-identity.js';

export interface CertificateSecurityOptions {
  /** Put our certificate in every message's bag (RFC 6940 §6.3.4). Default true. */
  includeCertificate?: boolean;
  /**
   * Looks up, in the background, the certificate of a message signer that is neither in the bag nor
   * in the store (RFC 6940 §8, CERTIFICATE_BY_NODE of the originator the Via List names). The
   * message itself is refused (verify is synchronous); the signer's next messages verify.
   */
  resolver?: Pick<CertificateResolver, 'resolve'>;
}

/**
 * The overlay's message security with certificates (RFC 6940 §6.3.4, §11.3, §13.3): every message
 * this node originates is signed by `identity`; every message delivered to it is verified against
 * the overlay's trust in `store`; a link peer's Node-IDs come from its (trusted) certificate.
 */
export class CertificateSecurity implements OverlaySecurity {
  constructor(
    readonly identity: NodeIdentity,
    readonly store: CertificateStore,
    private readonly options: CertificateSecurityOptions = {},
  ) {
    // our own certificate is known to ourselves (responses we sign to ourselves, loopback tests)
    store.add(identity.certificate.der);
  }

  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    if (certificate === undefined) return new Error('the peer presented no certificate');
    const r = this.store.add(certificate);
    return r.ok ? r.certificate.nodeIds : r.error;
  }

  /** Signs; `extraCertificates`: e.g. the certificates of StoredData signers in a FetchAns. */
  sign(header: ForwardingHeader, contents: Uint8Array, extraCertificates: readonly Uint8Array[] = []): SecurityBlock {
    return signMessageContents(this.identity, header, contents, { includeCertificate: this.options.includeCertificate !== false, extraCertificates });
  }

  /** The signer's user name and the Node-ID its SignerIdentity designates. */
  verify(header: ForwardingHeader, contents: Uint8Array, block: SecurityBlock, linkPeer?: Uint8Array): { ok: true; signer: SignerInfo | undefined } | { ok: false; info: string; pending?: Promise<unknown> } {
    const r = verifyMessageContents(header, contents, block, this.store, linkPeer === undefined ? {} : { linkPeer });
    if (!r.ok) {
      const resolver = this.options.resolver;
      if (resolver !== undefined && r.error.code === 'CERT_UNKNOWN') {
        const places = originatorPlaces(header);
        if (places.length > 0) {
          const pending = resolver.resolve(block.signature.identity, places).catch(() => undefined);
          return { ok: false, info: `${r.error.code}: ${r.error.message} (looking it up through the certificate store usage)`, pending };
        }
      }
      return { ok: false, info: `${r.error.code}: ${r.error.message}` };
    }
    return { ok: true, signer: { userName: r.signer.userName, nodeIds: [r.signer.nodeId] } };
  }
}

/** RFC 6940 §6.3.2.2: the first Via List entry of a forwarded message is its originator. */
function originatorPlaces(header: ForwardingHeader): CertificateLookupPlace[] {
  const first = header.viaList[0];
  return first?.type === 'node' ? [{ kind: CERTIFICATE_BY_NODE_KIND, resourceId: certificateByNodeResourceId(first.nodeId) }] : [];
}
