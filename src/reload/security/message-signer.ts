import { CertificateType, encodeMessageContents, messageSignatureInput } from '../codec/index.js';
import type { GenericCertificate, MessageContents, ReloadMessage, SecurityBlock } from '../codec/index.js';
import { bytesEqual, toHex } from './bytes-hex.js';
import type { CertificateStore, SignerResult } from './certificate-store.js';
import type { NodeIdentity } from './node-identity.js';
import { SecurityError } from './security-error.js';
import { signatureAlgorithmFor, signBytes, verifyBytes } from './signature-algorithm.js';
import { signerIdentityFor } from './signer-identity.js';

// The message was bounded when it was built or decoded; re-encoding its contents needs no second limit.
const UNBOUNDED = { maxMessageSize: Number.MAX_SAFE_INTEGER };

export interface SignMessageOptions {
  /** Put our certificate in the bag (RFC 6940 §6.3.4: all referenced certificates). Default true. */
  includeCertificate?: boolean;
  /** More certificates for the bag (e.g. those of StoredData signers in a Store or Fetch answer). */
  extraCertificates?: readonly Uint8Array[];
  /** Which of our Node-IDs signs (certificates with several). */
  nodeId?: Uint8Array;
}

/**
 * The SecurityBlock of a message (RFC 6940 §6.3.4): a signature over
 * overlay || transaction_id || MessageContents || SignerIdentity, and the certificate bag.
 */
export function signMessage(
  identity: NodeIdentity,
  header: { overlay: number; transactionId: bigint },
  contents: MessageContents,
  options: SignMessageOptions = {},
): SecurityBlock {
  return signMessageContents(identity, header, encodeMessageContents(contents, UNBOUNDED), options);
}

/** {@link signMessage} over the encoded MessageContents (what the overlay has at hand). */
export function signMessageContents(
  identity: NodeIdentity,
  header: { overlay: number; transactionId: bigint },
  contents: Uint8Array,
  options: SignMessageOptions = {},
): SecurityBlock {
  const signerIdentity = signerIdentityFor(identity, options.nodeId);
  const input = messageSignatureInput(header.overlay, header.transactionId, contents, signerIdentity);
  const certificates: GenericCertificate[] = [];
  const seen = new Set<string>();
  const addCert = (der: Uint8Array): void => {
    const key = toHex(der);
    if (seen.has(key)) return;
    seen.add(key);
    certificates.push({ type: CertificateType.X509, certificate: der });
  };
  if (options.includeCertificate !== false) addCert(identity.certificate.der);
  for (const der of options.extraCertificates ?? []) addCert(der);
  return {
    certificates,
    signature: {
      algorithm: signatureAlgorithmFor(identity.keys.privateKey),
      identity: signerIdentity,
      signatureValue: signBytes(identity.keys.privateKey, input),
    },
  };
}

/** X.509 certificates of a security block's bag (RFC 6940 §6.3.4; other types are ignored). */
export function bagCertificates(block: SecurityBlock): Uint8Array[] {
  return block.certificates.filter((c) => c.type === CertificateType.X509).map((c) => c.certificate);
}

export interface VerifyMessageOptions {
  /**
   * The Node-ID the message must come from (RFC 6940 §6.3.4: a response to a request sent to a
   * Node-ID must be signed by that Node-ID; a request's sender is the first Via entry or the link's peer).
   */
  expectedNodeId?: Uint8Array;
  /**
   * Issue 18: the message came straight from its originator (empty Via List) over a link whose peer
   * authenticated as this Node-ID with a certificate the overlay trusts (mutual TLS/DTLS, RFC 6940
   * §6.5.1.13). When the signer's certificate — resolved and checked for trust and validity as always —
   * is that node's, the signature bytes are not checked: the link already proves who sent these bytes
   * and that nobody changed them, which is what the signature proves across intermediate peers. A
   * wrong signature from that node could only misrepresent that node itself. Any other signer (a
   * forwarded message whose Via List was stripped names its real originator) is verified in full.
   */
  linkPeer?: Uint8Array;
}

/**
 * Verifies a received message's signature (RFC 6940 §6.3.4): the signer's certificate from the
 * bag or the store, trusted by the overlay and valid now, the signature over this message's overlay,
 * transaction id and contents, and optionally the expected Node-ID. Never throws.
 */
export function verifyMessage(message: ReloadMessage, store: CertificateStore, options: VerifyMessageOptions = {}): SignerResult {
  let contents: Uint8Array;
  try {
    contents = encodeMessageContents(message.contents, UNBOUNDED);
  } catch (e) {
    // defensive: a malformed decoded structure is a refusal, not a throw
    return { ok: false, error: new SecurityError('SIGNATURE_INVALID', `cannot verify: ${(e as Error).message}`, { cause: e }) };
  }
  return verifyMessageContents(message.header, contents, message.securityBlock, store, options);
}

/** {@link verifyMessage} over the MessageContents bytes as received. Never throws. */
export function verifyMessageContents(
  header: { overlay: number; transactionId: bigint },
  contents: Uint8Array,
  block: SecurityBlock,
  store: CertificateStore,
  options: VerifyMessageOptions = {},
): SignerResult {
  try {
    const sig = block.signature;
    const resolved = store.resolveSigner(sig.identity, bagCertificates(block));
    if (!resolved.ok) return resolved;
    const fromLinkPeer = options.linkPeer !== undefined && bytesEqual(resolved.signer.nodeId, options.linkPeer);
    const input = fromLinkPeer ? undefined : messageSignatureInput(header.overlay, header.transactionId, contents, sig.identity);
    if (input !== undefined && !verifyBytes(sig.algorithm, resolved.signer.certificate.publicKey, input, sig.signatureValue)) {
      return { ok: false, error: new SecurityError('SIGNATURE_INVALID', `message signature does not verify with the certificate of ${resolved.signer.userName}`) };
    }
    const expected = options.expectedNodeId;
    if (expected !== undefined && !bytesEqual(resolved.signer.nodeId, expected)) {
      return {
        ok: false,
        error: new SecurityError('SIGNER_MISMATCH', `signed by Node-ID ${toHex(resolved.signer.nodeId)}, expected ${toHex(expected)}`),
      };
    }
    return resolved;
  } catch (e) {
    return { ok: false, error: new SecurityError('SIGNATURE_INVALID', `cannot verify: ${(e as Error).message}`, { cause: e }) };
  }
}
