/**
 * Texts of the command line that are not one option's description: `up --help` examples and the
 * version (issue 17, "the first five minutes").
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The version in p2psip's package.json (found upwards from this file, in src/ or in dist/src/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'p2psip' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one directory up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const UP_EXAMPLES = `
Examples:
  p2psip up
      a peer with the defaults: overlay p2psip.local (closed: phones need a user's password,
      \`p2psip user add alice\`), SIP on UDP/TCP 5060, overlay links on 6084, dashboard on
      http://127.0.0.1:8060/; on a LAN it finds the other boxes by itself
  p2psip up --open
      a lab or demo overlay: any phone may register any user, no passwords
  p2psip up --sip 127.0.0.1:5070 --listen 127.0.0.1:6085 --http 127.0.0.1:8070 \\
            --data-dir /tmp/peer2 --bootstrap 127.0.0.1:6084
      a second peer on the same machine, joining the first through its overlay port (--listen)
  p2psip up --sip-ws 127.0.0.1:8088
      also SIP over WebSocket, for the browser phone at http://127.0.0.1:8060/phone
  p2psip up --ice
      peers behind NATs (ICE, STUN, TURN relays offered by public peers)
`;
