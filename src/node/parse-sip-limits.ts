/**
 * `p2psip up --sip-limit <name>=<value>` (repeatable): the connection caps and deadlines of the SIP
 * front's stream transports (issue 14), as TransportLayerOptions. Counts are whole numbers; times
 * are seconds (decimals allowed, 0 = no deadline). Defaults: DEFAULT_TRANSPORT_OPTIONS.
 */
import type { TransportLayerOptions } from '../sip/transport/transport-layer-options.js';
import { ConfigError } from './peer-config.js';

type NumericOption = Exclude<keyof TransportLayerOptions, 'limits'>;

/** Names accepted by --sip-limit, what they set, and whether the value is seconds (else a count). */
export const SIP_LIMIT_NAMES: Readonly<Record<string, { option: NumericOption; seconds: boolean }>> = {
  connections: { option: 'maxConnections', seconds: false },
  'connections-per-listener': { option: 'maxConnectionsPerListener', seconds: false },
  'connections-per-source': { option: 'maxConnectionsPerSource', seconds: false },
  'handshake-timeout': { option: 'handshakeTimeoutMs', seconds: true },
  'first-message-timeout': { option: 'firstMessageTimeoutMs', seconds: true },
  'start-line-timeout': { option: 'startLineTimeoutMs', seconds: true },
  'header-timeout': { option: 'headerTimeoutMs', seconds: true },
  'body-timeout': { option: 'bodyTimeoutMs', seconds: true },
  'idle-timeout': { option: 'idleTimeoutMs', seconds: true },
};

/** Longest deadline accepted, seconds (a day). */
const MAX_SECONDS = 86_400;
/** Largest count accepted. */
const MAX_COUNT = 1_000_000;

export function parseSipLimits(texts: readonly string[]): TransportLayerOptions {
  const out: TransportLayerOptions = {};
  for (const text of texts) {
    const m = /^([a-z-]+)=(\S+)$/.exec(text.trim());
    const spec = m === null ? undefined : SIP_LIMIT_NAMES[m[1]!];
    if (m === null || spec === undefined) {
      throw new ConfigError(`--sip-limit: expected <name>=<value> with name one of ${Object.keys(SIP_LIMIT_NAMES).join(', ')}; got '${text}'`);
    }
    const value = m[2]!;
    if (spec.seconds) {
      const s = Number(value);
      if (!/^\d+(\.\d{1,3})?$/.test(value) || s > MAX_SECONDS) throw new ConfigError(`--sip-limit ${m[1]}: expected seconds from 0 to ${MAX_SECONDS}, got '${value}'`);
      out[spec.option] = Math.round(s * 1000);
    } else {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1 || n > MAX_COUNT) throw new ConfigError(`--sip-limit ${m[1]}: expected a count from 1 to ${MAX_COUNT}, got '${value}'`);
      out[spec.option] = n;
    }
  }
  return out;
}
