import { toWebCryptoKeys, webCryptoAlgorithm } from './node-keys.js';
import type { NodeKeyPair } from './node-keys.js';
import { loadX509 } from './x509-provider.js';

/** A DER PKCS#10 request for `keys`, asking for `userName` as rfc822Name when given (the client side of RFC 6940 §11.3). */
export async function createCertificateRequest(keys: NodeKeyPair, userName?: string): Promise<Uint8Array> {
  const x509 = await loadX509();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: await toWebCryptoKeys(keys),
    signingAlgorithm: webCryptoAlgorithm(keys.algorithm),
    extensions: userName === undefined ? [] : [new x509.SubjectAlternativeNameExtension([{ type: 'email', value: userName }])],
  });
  return new Uint8Array(csr.rawData);
}
