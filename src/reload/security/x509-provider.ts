// @peculiar/x509 needs reflect-metadata loaded before it (its ASN.1 schema decorators). Its crypto
// provider defaults to globalThis.crypto, node's WebCrypto on Node 20 and 22: nothing global is set here.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
