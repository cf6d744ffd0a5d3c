/**
 * What "this peer" means in a URI: the domains it serves (the overlay name, configured aliases)
 * and every address and port it listens on. liblinphone sends to `sip:user@127.0.0.1` with no
 * port, so a host we own counts as us when the port is absent or any port we listen on.
 */
import { stripBrackets } from '../../lib/ip.js';
import { detachString, paramValue } from '../message/index.js';
import { canonicalAorUser } from './aor-validation.js';
import type { SipUri, Uri } from '../message/sip-message.js';

export interface LocalIdentityOptions {
  /** Domains served as local AoR domains; the first is the canonical one (the overlay name). */
  domains: string[];
  /** Host addresses of this machine that name us (IP literals, no brackets). */
  hosts: string[];
  /** Ports the SIP front listens on (any transport). */
  ports: number[];
  /**
   * This proxy's instance tag, put in its Record-Route URIs as `p2psip-i`: a Route naming our host and
   * port but another instance's tag is not ours — another peer at the same private address and port
   * behind another NAT (two homes with one address plan, reached through a SIP channel).
   */
  instance?: string;
}

/** The URI parameter of a Record-Route that names the proxy instance that put it there. */
export const INSTANCE_PARAM = 'p2psip-i';

export class LocalIdentity {
  readonly primaryDomain: string;
  private readonly domains: Set<string>;
  private readonly hosts: Set<string>;
  private readonly ports: Set<number>;

  constructor(options: LocalIdentityOptions) {
    const d = options.domains.map((x) => x.toLowerCase());
    this.primaryDomain = d[0] ?? 'p2psip.local';
    this.domains = new Set(d);
    this.hosts = new Set(options.hosts.map((h) => stripBrackets(h).toLowerCase()));
    this.ports = new Set(options.ports);
    this.instance = options.instance;
  }

  /** This proxy's instance tag (LocalIdentityOptions.instance), if any. */
  readonly instance: string | undefined;

  addHost(host: string): void {
    this.hosts.add(stripBrackets(host).toLowerCase());
  }

  addPort(port: number): void {
    this.ports.add(port);
  }

  /** The host names us (a served domain or one of our addresses), whatever the port. */
  isLocalHost(host: string): boolean {
    const h = stripBrackets(host).toLowerCase();
    return this.domains.has(h) || this.hosts.has(h);
  }

  /** A SIP URI whose AoRs this peer serves: a served domain, or our address with no port / one of our ports. */
  isLocalDomainUri(uri: Uri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const u = uri as SipUri;
    const h = stripBrackets(u.host).toLowerCase();
    if (this.domains.has(h)) return true;
    return this.hosts.has(h) && (u.port === undefined || this.ports.has(u.port));
  }

  /** The URI designates this element itself (a Route/Record-Route we inserted, or the peer's address). */
  isSelfUri(uri: Uri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const u = uri as SipUri;
    const h = stripBrackets(u.host).toLowerCase();
    if (!this.hosts.has(h)) return false;
    const port = u.port ?? (uri.scheme === 'sips' ? 5061 : 5060);
    if (!(this.ports.has(port) || u.port === undefined)) return false;
    // our address, but another proxy instance's Record-Route (the same private address elsewhere)
    const tag = this.instance === undefined ? undefined : paramValue(u.params, INSTANCE_PARAM);
    return tag === undefined || tag === this.instance;
  }

  /**
   * RFC 3261 §10.3 step 5: canonical AoR `sip:user@domain`, local domains folded into the primary one.
   * A flat string of its own: it becomes the key of long-lived tables (bindings, stored entries), and
   * a concatenation of slices would keep the message's header section alive (see detachString).
   */
  canonicalAor(uri: Uri): string | undefined {
    if (uri.scheme === 'tel') return detachString(`tel:${(uri as { number: string }).number}`);
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return undefined;
    const u = uri as SipUri;
    if (u.user === undefined || u.user === '') return undefined;
    const domain = this.isLocalDomainUri(u) ? this.primaryDomain : stripBrackets(u.host).toLowerCase();
    return detachString(`sip:${canonicalAorUser(u.user)}@${domain}`);
  }
}
