import { CertificateType } from '../codec/index.js';
import type { ForwardingHeader, SecurityBlock } from '../codec/index.js';
import type { OverlaySecurity, SignerInfo } from '../overlay/overlay-types.js';

/** Most certificates learned from one message's bag (as the certificate store examines, RFC 6940 §6.3.4). */
export const MAX_LEARNED_PER_MESSAGE = 32;

/**
 * An {@link OverlaySecurity} around the real one that lets storage use certificate bags
 * (RFC 6940 §6.3.4) the overlay API does not expose:
 * - `withCertificates(certs, send)`: certificates added to the bag of the requests `send` signs
 *   (the StoredData signers of a replica Store, §10.4) — `OverlayNode.request` signs synchronously;
 * - after a message verifies, the certificates of its bag are offered to `learn` (the certificate
 *   store checks trust and keeps them), so values in a FetchAns or StoreReq verify afterwards.
 */
export class BagSharingSecurity implements OverlaySecurity {
  private pending: readonly Uint8Array[] = [];

  constructor(
    private readonly inner: OverlaySecurity,
    private readonly learn: (der: Uint8Array) => void,
  ) {}

  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    return this.inner.identifyPeer(certificate);
  }

  sign(header: ForwardingHeader, contents: Uint8Array, extraCertificates: readonly Uint8Array[] = []): SecurityBlock {
    const extra = this.pending.length === 0 ? extraCertificates : [...extraCertificates, ...this.pending];
    return this.inner.sign(header, contents, extra);
  }

  verify(header: ForwardingHeader, contents: Uint8Array, block: SecurityBlock, linkPeer?: Uint8Array): { ok: true; signer: SignerInfo | undefined } | { ok: false; info: string; pending?: Promise<unknown> } {
    const r = this.inner.verify(header, contents, block, linkPeer);
    if (!r.ok) return r;
    let n = 0;
    for (const c of block.certificates) {
      if (n++ >= MAX_LEARNED_PER_MESSAGE) break;
      if (c.type !== CertificateType.X509) continue;
      try {
        this.learn(c.certificate);
      } catch {
        // a certificate the store refuses is simply not learned
      }
    }
    return r;
  }

  /** Runs `send` with `certs` added to the bag of every message it signs synchronously. */
  withCertificates<T>(certs: readonly Uint8Array[], send: () => T): T {
    if (certs.length === 0) return send();
    const before = this.pending;
    this.pending = certs;
    try {
      return send();
    } finally {
      this.pending = before;
    }
  }
}
