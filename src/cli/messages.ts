import type { TransportAddress } from '../sip/transport/sip-transport.js';

export function formatAddress(a: TransportAddress): string {
  return `${a.protocol}:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/**
 * Plain words on pointing a softphone at this peer, with a baresip account line that works as
 * printed (an outbound proxy, so the phone never has to resolve the overlay's domain itself).
 * `closed`: phones need their user's password (the default; `--open` turns it off).
 */
export function softphoneHelp(overlay: string, udp: TransportAddress, advertisedHost: string, closed = true): string {
  const host = udp.host === '0.0.0.0' || udp.host === '::' ? advertisedHost : udp.host;
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${udp.port}`;
  return [
    '',
    'To use it from a softphone (baresip, linphone, Zoiper, a desk phone):',
    `  account: alice@${overlay}` + (closed ? `, with alice's password (create the user first: \`npx p2psip user add alice\`)` : ', no password (open overlay)'),
    `  outbound proxy (and registrar): ${hostPort}, UDP or TCP`,
    `  baresip, one line in ~/.baresip/accounts:`,
    `    <sip:alice@${overlay}>;${closed ? 'auth_pass=<password>;' : ''}outbound="sip:${hostPort}";regint=600`,
    `  then dial sip:bob@${overlay}, or just "bob".`,
    '',
  ].join('\n');
}
