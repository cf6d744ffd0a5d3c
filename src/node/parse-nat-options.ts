/**
 * The NAT-traversal options of `p2psip up` (issue 12) → ReloadConfig fields; a ConfigError (exit 2)
 * names what is wrong:
 *   --turn-user <user:password>          users our relay accepts besides overlay members (repeatable)
 *   --turn-server <ip:port>              an operator's TURN server (coturn), with --turn-credentials
 *   --turn-credentials <user:password>   its long-term credentials
 *   --stun-server <ip:port>              an operator's STUN server (repeatable, at most 4)
 *   --turn-bandwidth <bytes/s>           the relay we offer: per allocation, each direction
 *   --turn-total-bandwidth <bytes/s>     the relay we offer: all allocations together, each direction
 * All need --ice (STUN, TURN and the relay live on the overlay UDP port). Addresses are IP literals:
 * a peer never resolves names for NAT traversal.
 */
import { isIpLiteral } from '../lib/ip.js';
import { DEFAULT_TURN_BANDWIDTH_BYTES_PER_S, DEFAULT_TURN_TOTAL_BANDWIDTH_BYTES_PER_S } from '../nat/turn/turn-server-options.js';
import { MAX_REFLEXIVE_SERVERS } from './nat-role.js';
import { ConfigError, parseHostPort } from './peer-config.js';
import type { HostPort, ReloadConfig } from './peer-config.js';

/** Smallest relay bandwidth accepted, bytes/s (64 kbit/s: below that a relay carries no call). */
export const MIN_TURN_BANDWIDTH_BYTES_PER_S = 8_000;
/** Largest relay bandwidth accepted, bytes/s (8 Gbit/s). */
export const MAX_TURN_BANDWIDTH_BYTES_PER_S = 1_000_000_000;

export interface NatOptionTexts {
  turnUser?: readonly string[];
  turnServer?: string;
  turnCredentials?: string;
  stunServer?: readonly string[];
  turnBandwidth?: string;
  turnTotalBandwidth?: string;
  ice?: boolean;
}

export type NatOptions = Pick<ReloadConfig, 'turnUsers' | 'turnServer' | 'stunServers' | 'turnBandwidth'>;

export function parseNatOptions(o: NatOptionTexts): NatOptions {
  const out: NatOptions = {};
  const pair = (v: string, what: string): [string, string] => {
    const i = v.indexOf(':');
    if (i <= 0 || i === v.length - 1) throw new ConfigError(`${what}: expected <user:password>, got '${v}'`);
    return [v.slice(0, i), v.slice(i + 1)];
  };
  const address = (v: string, what: string): HostPort => {
    const hp = parseHostPort(v, what);
    if (!isIpLiteral(hp.host)) throw new ConfigError(`${what}: give an IP address, got '${hp.host}'`);
    if (hp.port === 0) throw new ConfigError(`${what}: port 0 is not a server's port, got '${v}'`);
    return hp;
  };
  const needsIce = (what: string): void => {
    if (o.ice !== true) throw new ConfigError(`${what} needs --ice (the NAT traversal runs on the overlay UDP port)`);
  };
  if ((o.turnUser ?? []).length > 0) {
    needsIce('--turn-user');
    out.turnUsers = Object.fromEntries((o.turnUser ?? []).map((u) => pair(u, '--turn-user')));
  }
  if (o.turnServer !== undefined || o.turnCredentials !== undefined) {
    if (o.turnServer === undefined || o.turnCredentials === undefined) throw new ConfigError('--turn-server and --turn-credentials go together');
    needsIce('--turn-server');
    const hp = address(o.turnServer, '--turn-server');
    const [username, password] = pair(o.turnCredentials, '--turn-credentials');
    out.turnServer = { host: hp.host, port: hp.port, username, password };
  }
  if ((o.stunServer ?? []).length > 0) {
    needsIce('--stun-server');
    const servers: HostPort[] = [];
    for (const text of o.stunServer ?? []) {
      const hp = address(text, '--stun-server');
      if (!servers.some((s) => s.host === hp.host && s.port === hp.port)) servers.push(hp);
    }
    if (servers.length > MAX_REFLEXIVE_SERVERS) throw new ConfigError(`--stun-server: at most ${MAX_REFLEXIVE_SERVERS} STUN servers, got ${servers.length}`);
    out.stunServers = servers;
  }
  const rate = (v: string, what: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < MIN_TURN_BANDWIDTH_BYTES_PER_S || n > MAX_TURN_BANDWIDTH_BYTES_PER_S) {
      throw new ConfigError(`${what}: expected bytes per second from ${MIN_TURN_BANDWIDTH_BYTES_PER_S} to ${MAX_TURN_BANDWIDTH_BYTES_PER_S}, got '${v}'`);
    }
    return n;
  };
  if (o.turnBandwidth !== undefined || o.turnTotalBandwidth !== undefined) {
    needsIce(o.turnBandwidth !== undefined ? '--turn-bandwidth' : '--turn-total-bandwidth');
    const perAllocation = o.turnBandwidth === undefined ? undefined : rate(o.turnBandwidth, '--turn-bandwidth');
    const total = o.turnTotalBandwidth === undefined ? undefined : rate(o.turnTotalBandwidth, '--turn-total-bandwidth');
    const p = perAllocation ?? DEFAULT_TURN_BANDWIDTH_BYTES_PER_S;
    const t = total ?? DEFAULT_TURN_TOTAL_BANDWIDTH_BYTES_PER_S;
    if (p > t) {
      throw new ConfigError(
        total === undefined
          ? `--turn-bandwidth ${p} is above the relay's total of ${t} bytes/s (raise --turn-total-bandwidth too)`
          : `--turn-total-bandwidth ${t} is below the per-allocation ${p} bytes/s${perAllocation === undefined ? ' (the --turn-bandwidth default)' : ''}`,
      );
    }
    out.turnBandwidth = { ...(perAllocation === undefined ? {} : { perAllocationBytesPerS: perAllocation }), ...(total === undefined ? {} : { totalBytesPerS: total }) };
  }
  return out;
}
