/**
 * The `ws` package, loaded when the SIP front first needs WebSocket (a `--sip-ws` / `--sip-wss`
 * listener, or a connection to a ws: / wss: address) rather than at start: its code adds about 1.5 MB
 * of resident memory to a peer, which a peer on UDP, TCP and TLS only never needs. `ws` is CommonJS, so
 * require() keeps the callers synchronous.
 */
import { createRequire } from 'node:module';

export type WsModule = typeof import('ws');

const requireFromHere = createRequire(import.meta.url);
let loaded: WsModule | undefined;

/** The `ws` module; the first call loads it. Throws an Error naming the package when it cannot be loaded. */
export function wsModule(): WsModule {
  if (loaded !== undefined) return loaded;
  try {
    loaded = requireFromHere('ws') as WsModule;
  } catch (e) {
    throw new Error(`cannot load ws (SIP over WebSocket, RFC 7118): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return loaded;
}
