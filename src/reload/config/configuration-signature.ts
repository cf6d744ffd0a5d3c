import { CertificateType, decodeSecurityBlock, encodeSecurityBlock } from '../codec/index.js';
import type { SecurityBlock } from '../codec/index.js';
import { CertificateStore, signatureAlgorithmFor, signBytes, signerIdentityFor, toHex, verifyBytes } from '../security/index.js';
import type { NodeIdentity, VerifiedSigner } from '../security/index.js';
import { ConfigDocumentError } from './config-error.js';
import type { OverlayConfiguration } from './overlay-configuration.js';
import type { ParsedOverlayDocument } from './parse-overlay-configuration.js';
import { serializeConfigurationElement, serializeKindElement, serializeOverlayDocument } from './serialize-overlay-configuration.js';
import { trustPolicyOf } from './trust-policy-of.js';

const utf8 = new TextEncoder();

/**
 * RFC 6940 §11.1: a configuration or kind element, as the exact bytes of its text, signed "using
 * the standard SecurityBlock" of §6.3.4: the signature input is those bytes; the block carries the
 * signer's certificate.
 */
export function signXmlBlob(signer: NodeIdentity, xml: string): Uint8Array {
  const block: SecurityBlock = {
    certificates: [{ type: CertificateType.X509, certificate: signer.certificate.der }],
    signature: {
      algorithm: signatureAlgorithmFor(signer.keys.privateKey),
      identity: signerIdentityFor(signer),
      signatureValue: signBytes(signer.keys.privateKey, utf8.encode(xml)),
    },
  };
  return encodeSecurityBlock(block, { maxMessageSize: 64 * 1024 });
}

/**
 * A signed document for `config` (RFC 6940 §11.1): each kind element signed (kind-signature) and
 * the configuration element signed (the signature element after it). The signer's Node-ID must be
 * listed in configuration-signer and, when there are Kinds, in kind-signer.
 */
export function signOverlayConfiguration(config: OverlayConfiguration, signer: NodeIdentity): string {
  const ids = signer.certificate.nodeIdHex;
  if (!config.configurationSigners.some((s) => ids.includes(s))) {
    throw new ConfigDocumentError('CONFIG_SIGNATURE_INVALID', 'configuration-signer', `the signer's Node-ID ${ids[0]} is not listed`);
  }
  if (config.kinds.length > 0 && !config.kindSigners.some((s) => ids.includes(s))) {
    throw new ConfigDocumentError('CONFIG_SIGNATURE_INVALID', 'kind-signer', `the signer's Node-ID ${ids[0]} is not listed`);
  }
  const kindSignatures = config.kinds.map((k) => signXmlBlob(signer, serializeKindElement(k)));
  const configurationXml = serializeConfigurationElement(config, kindSignatures);
  return serializeOverlayDocument([{ configurationXml, signature: signXmlBlob(signer, configurationXml) }]);
}

export interface VerifyConfigurationOptions {
  /** Wall-clock ms since 1970 (certificate validity, expiration). */
  now: number;
  /**
   * The configuration in force before this one (RFC 6940 §11.1: a new document MUST be signed by a
   * configuration-signer of the previous one, chaining to its roots). Without it (first fetch) the
   * document's own configuration-signer and root-cert are used: trust then rests on how it was
   * fetched (HTTPS with a verified server, RFC 6940 §11.2) and on `trustAnchors`.
   */
  previous?: OverlayConfiguration;
  /** Extra root certificates the signer may chain to (e.g. the CA the operator handed out). */
  trustAnchors?: readonly Uint8Array[];
}

/**
 * Verifies a parsed document's signatures (RFC 6940 §11.1): the configuration signature by a
 * configuration-signer, each kind-signature by a kind-signer, signers' certificates trusted and
 * valid now; also that the configuration has not expired and the sequence did not go back.
 */
export function verifyOverlayConfiguration(
  doc: ParsedOverlayDocument,
  options: VerifyConfigurationOptions,
): { ok: true; signer: VerifiedSigner } | { ok: false; error: ConfigDocumentError } {
  const fail = (element: string, detail: string) => ({ ok: false as const, error: new ConfigDocumentError('CONFIG_SIGNATURE_INVALID', element, detail) });
  const c = doc.config;
  const prev = options.previous;
  if (c.expiration !== undefined && Date.parse(c.expiration) < options.now) return fail('configuration/@expiration', `expired at ${c.expiration}`);
  if (prev !== undefined && c.sequence < prev.sequence) return fail('configuration/@sequence', `sequence ${c.sequence} is older than ${prev.sequence}`);
  if (doc.signature === undefined) return fail('signature', 'the configuration is not signed');
  let store: CertificateStore;
  try {
    const base = trustPolicyOf(prev ?? c);
    store = new CertificateStore(
      { ...base, overlay: c.instanceName, rootCertificates: [...base.rootCertificates, ...(options.trustAnchors ?? [])] },
      { now: () => options.now },
    );
  } catch (e) {
    return fail('root-cert', (e as Error).message);
  }
  const configurationSigners = (prev ?? c).configurationSigners;
  const top = checkBlob(store, doc.configurationXml, doc.signature, configurationSigners);
  if (!top.ok) return fail('signature', top.reason);
  for (let i = 0; i < c.kinds.length; i++) {
    const block = doc.kindBlocks[i];
    const where = `required-kinds/kind-block[${i + 1}]/kind-signature`;
    if (block?.signature === undefined) return fail(where, 'missing');
    const k = checkBlob(store, block.kindXml, block.signature, c.kindSigners);
    if (!k.ok) return fail(where, k.reason);
  }
  return { ok: true, signer: top.signer };
}

function checkBlob(store: CertificateStore, xml: string, blockBytes: Uint8Array, allowed: readonly string[]): { ok: true; signer: VerifiedSigner } | { ok: false; reason: string } {
  let block: SecurityBlock;
  try {
    block = decodeSecurityBlock(blockBytes, { maxMessageSize: 64 * 1024 });
  } catch (e) {
    return { ok: false, reason: `not a SecurityBlock: ${(e as Error).message}` };
  }
  const bag = block.certificates.filter((x) => x.type === CertificateType.X509).map((x) => x.certificate);
  const r = store.resolveSigner(block.signature.identity, bag);
  if (!r.ok) return { ok: false, reason: r.error.message };
  if (!verifyBytes(block.signature.algorithm, r.signer.certificate.publicKey, utf8.encode(xml), block.signature.signatureValue)) {
    return { ok: false, reason: 'the signature does not verify' };
  }
  const id = toHex(r.signer.nodeId);
  if (!allowed.includes(id)) return { ok: false, reason: `signer Node-ID ${id} is not an authorized signer` };
  return { ok: true, signer: r.signer };
}
