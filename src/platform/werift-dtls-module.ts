/**
 * werift-dtls, loaded when the first DTLS channel factory is made (the overlay runs ICE links:
 * `--ice`, or DTLS in the configuration document) rather than at start: its code (and that of its
 * dependencies: @fidm/x509, tweetnacl, elliptic...) adds about 8 MB of resident memory (4.7 MB of V8
 * heap) to a peer, which a peer on TLS links only never needs. werift-dtls is CommonJS, so require() keeps the callers synchronous.
 */
import { createRequire } from 'node:module';

export type WeriftDtls = typeof import('werift-dtls/lib/dtls/src/index.js');

/** Where werift-dtls 0.5.8 keeps its entry (its package.json names a `main` it does not ship; see dtls-channel.ts). */
const WERIFT_DTLS_ENTRY = 'werift-dtls/lib/dtls/src/index.js';

const requireFromHere = createRequire(import.meta.url);
let loaded: WeriftDtls | undefined;

/** The werift-dtls module; the first call loads it. Throws an Error naming the package when it cannot be loaded. */
export function weriftDtls(): WeriftDtls {
  if (loaded !== undefined) return loaded;
  try {
    loaded = requireFromHere(WERIFT_DTLS_ENTRY) as WeriftDtls;
  } catch (e) {
    throw new Error(`cannot load werift-dtls (the DTLS of ICE overlay links): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return loaded;
}

/** Whether werift-dtls has been loaded in this process (tests of the lazy loading). */
export function weriftDtlsLoaded(): boolean {
  return loaded !== undefined;
}
