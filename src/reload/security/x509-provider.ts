// @peculiar/x509 (with reflect-metadata, tsyringe and its ASN.1 schemas) adds about 7 MB of resident
// memory (2.8 MB of V8 heap) to a peer once loaded, and a peer needs it only to make certificates and certificate requests
// (a new identity, enrollment, the enrollment server's CA): reading certificates uses node's own
// X509Certificate (x509-certificate-info.ts). So it is loaded on first use, not at start.
// It needs reflect-metadata loaded before it (its ASN.1 schema decorators). Its crypto provider
// defaults to globalThis.crypto, node's WebCrypto on Node 20 and 22: nothing global is set here.
import type * as X509 from '@peculiar/x509';
import { SecurityError } from './security-error.js';

export type X509Module = typeof X509;

let loading: Promise<X509Module> | undefined;

/**
 * The @peculiar/x509 module, imported on the first call (later calls share that import). A failed
 * import rejects with a SecurityError 'X509_UNAVAILABLE' that names the package and node's reason;
 * the next call tries again.
 */
export function loadX509(): Promise<X509Module> {
  loading ??= importX509().catch((err: unknown) => {
    loading = undefined;
    throw new SecurityError('X509_UNAVAILABLE', `cannot load @peculiar/x509 (needed to create certificates): ${err instanceof Error ? err.message : String(err)}`);
  });
  return loading;
}

async function importX509(): Promise<X509Module> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}
