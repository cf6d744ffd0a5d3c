/**
 * The media relay options of `p2psip up` (issue 13) → MediaConfig; a ConfigError (exit 2) names
 * what is wrong:
 *   --media auto|relay|direct     when calls are relayed (default auto)
 *   --media-ports <lo>-<hi>       UDP ports of the relay, at least 8 (default 20000-29999)
 *   --media-timeout <seconds>     a call with no packet and no SIP for this long is released (default 60)
 *   --media-address <ip>          the address put in the SDP phones get (default: the SIP front's)
 */
import { isIpLiteral } from '../lib/ip.js';
import { ConfigError, DEFAULT_MEDIA_CONFIG, type MediaConfig } from './peer-config.js';

export interface MediaOptionTexts {
  media?: string;
  mediaPorts?: string;
  mediaTimeout?: string;
  mediaAddress?: string;
}

export function parseMediaOptions(o: MediaOptionTexts): MediaConfig {
  const mode = o.media ?? DEFAULT_MEDIA_CONFIG.mode;
  if (mode !== 'auto' && mode !== 'relay' && mode !== 'direct') throw new ConfigError(`--media: expected auto, relay or direct, got '${mode}'`);
  let range = DEFAULT_MEDIA_CONFIG.range;
  if (o.mediaPorts !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(o.mediaPorts);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2]);
    if (m === null || lo < 1024 || hi > 65535 || hi - lo + 1 < 8) {
      throw new ConfigError(`--media-ports: expected <lo>-<hi>, 1024 ≤ lo, hi ≤ 65535, at least 8 ports, got '${o.mediaPorts}'`);
    }
    range = [lo, hi];
  }
  let timeoutMs = DEFAULT_MEDIA_CONFIG.timeoutMs;
  if (o.mediaTimeout !== undefined) {
    const n = Number(o.mediaTimeout);
    if (!/^\d+$/.test(o.mediaTimeout) || n < 5 || n > 86_400) throw new ConfigError(`--media-timeout: expected seconds from 5 to 86400, got '${o.mediaTimeout}'`);
    timeoutMs = n * 1000;
  }
  if (o.mediaAddress !== undefined && (!isIpLiteral(o.mediaAddress) || o.mediaAddress === '0.0.0.0' || o.mediaAddress === '::')) {
    throw new ConfigError(`--media-address: expected an IP address phones can reach, got '${o.mediaAddress}'`);
  }
  return { mode, range: [range[0], range[1]], timeoutMs, ...(o.mediaAddress === undefined ? {} : { address: o.mediaAddress }) };
}
