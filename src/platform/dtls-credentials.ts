/** Our certificate and key in the shapes werift-dtls reads (it parses PEM with @fidm/x509: PKCS#8 or PKCS#1 keys only). */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import type { SignatureHash } from 'werift-dtls/lib/dtls/src/index.js';
import { P2psipError } from '../lib/errors.js';
import { weriftDtls } from './werift-dtls-module.js';

export type DtlsErrorCode = 'DTLS_CONFIG' | 'DTLS_HANDSHAKE_TIMEOUT' | 'DTLS_HANDSHAKE' | 'DTLS_ALERT';

/** An error of a DTLS channel (the peer certificate's refusal is a PeerCertificateError, as on TLS links). */
export class DtlsError extends P2psipError {
  constructor(code: DtlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'DtlsError';
  }
}

/** PKCS#8 key PEM (what werift's key parser reads), the first certificate PEM, and werift's signature algorithm. */
export function dtlsCredentials(cert: string | Buffer, key: string | Buffer): { certPem: string; keyPem: string; signatureHash: SignatureHash } {
  try {
    const { HashAlgorithm, SignatureAlgorithm } = weriftDtls();
    const privateKey = createPrivateKey(key);
    let signature: SignatureHash['signature'];
    if (privateKey.asymmetricKeyType === 'rsa') signature = SignatureAlgorithm.rsa_1;
    else if (privateKey.asymmetricKeyType === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') signature = SignatureAlgorithm.ecdsa_3;
    else throw new Error(`unsupported key type ${String(privateKey.asymmetricKeyType)} (RSA or ECDSA P-256)`);
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(cert.toString());
    if (first === null) throw new Error('no PEM certificate');
    const x509 = new X509Certificate(first[0]);
    const spki = (k: ReturnType<typeof createPublicKey>): string => k.export({ format: 'der', type: 'spki' }).toString('hex');
    if (spki(x509.publicKey) !== spki(createPublicKey(privateKey))) throw new Error('the private key does not belong to the certificate');
    return {
      certPem: `${first[0]}\n`,
      keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      signatureHash: { hash: HashAlgorithm.sha256_4, signature },
    };
  } catch (e) {
    throw new DtlsError('DTLS_CONFIG', `DTLS credentials: ${(e as Error).message}`, { cause: e });
  }
}
