// @peculiar/x509 needs reflect-metadata loaded before it (its ASN.1 schema decorators).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// The library's default provider is globalThis.crypto; pin node's webcrypto (Node 20 and 22 alike).
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
