/**
 * RFC 3263 target resolution over the system resolver: IP literals directly; a port or an
 * explicit transport → A/AAAA; otherwise SRV (_sip._udp / _sip._tcp / _sips._tcp) first,
 * then A/AAAA on the default port. Every query is bounded by a timeout.
 */
import { Resolver } from 'node:dns/promises';
import { numericTarget, uriTransport, type TargetResolver } from '../sip/core/target-resolver.js';
import type { SipUri } from '../sip/message/sip-message.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';

export class DnsTargetResolver implements TargetResolver {
  private readonly dns: Resolver;

  constructor(timeoutMs = 2000) {
    this.dns = new Resolver({ timeout: timeoutMs, tries: 2 });
  }

  async resolve(uri: SipUri): Promise<TransportAddress[]> {
    const literal = numericTarget(uri);
    if (literal !== undefined) return [literal];
    const protocol = uriTransport(uri);
    const host = uri.host.toLowerCase();
    const defaultPort = protocol === 'tls' ? 5061 : 5060;
    if (uri.port === undefined) {
      const service = protocol === 'tls' ? '_sips._tcp' : protocol === 'tcp' ? '_sip._tcp' : '_sip._udp';
      const srv = await this.dns.resolveSrv(`${service}.${host}`).catch(() => []);
      srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
      const out: TransportAddress[] = [];
      for (const r of srv) {
        for (const ip of await this.addresses(r.name)) out.push({ protocol, host: ip, port: r.port });
      }
      if (out.length > 0) return out;
    }
    return (await this.addresses(host)).map((ip) => ({ protocol, host: ip, port: uri.port ?? defaultPort }));
  }

  private async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([
      this.dns.resolve4(name).catch(() => [] as string[]),
      this.dns.resolve6(name).catch(() => [] as string[]),
    ]);
    return [...v4, ...v6];
  }
}
