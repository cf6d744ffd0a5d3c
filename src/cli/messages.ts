import type { TransportAddress } from '../sip/transport/sip-transport.js';

export function formatAddress(a: TransportAddress): string {
  return `${a.protocol}:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Plain words on pointing a softphone at this peer. */
export function softphoneHelp(overlay: string, udp: TransportAddress, advertisedHost: string): string {
  const host = udp.host === '0.0.0.0' || udp.host === '::' ? advertisedHost : udp.host;
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${udp.port}`;
  return [
    '',
    'To use it from a softphone (baresip, linphone, Zoiper, a desk phone):',
    `  registrar / outbound proxy: ${hostPort} (UDP or TCP)`,
    `  account: any user name, domain ${overlay} (or just ${hostPort}), no password`,
    `  e.g. sip:alice@${overlay} registers alice; dial sip:bob@${overlay} or just "bob" to call bob.`,
    '',
  ].join('\n');
}
