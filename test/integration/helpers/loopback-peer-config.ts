/**
 * A peer for in-process integration tests: overlay links and SIP front on 127.0.0.1 (any port), no
 * HTTP API, no outbound SIP, a self-signed identity in `dataDir`; `extra` adds to the config,
 * `reload` to its overlay part. Open overlay (issue 15) unless `reload` says `open: false`.
 */
import { defaultPeerConfig, type PeerConfig, type ReloadConfig } from '../../../src/node/peer-config.js';

export function loopbackPeerConfig(
  dataDir: string,
  bootstrap: Array<{ host: string; port: number }>,
  extra: Partial<PeerConfig> = {},
  reload: Partial<ReloadConfig> = {},
): PeerConfig {
  return {
    ...defaultPeerConfig(),
    overlay: 'p2psip.local',
    sip: { host: '127.0.0.1', port: 0 },
    http: undefined,
    outbound: { mode: 'none' },
    ...extra,
    reload: { listen: { host: '127.0.0.1', port: 0 }, bootstrap, dataDir, client: false, open: true, configSource: undefined, configCa: undefined, credentials: undefined, ...reload },
  };
}
