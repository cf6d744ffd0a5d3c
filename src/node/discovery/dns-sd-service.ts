/**
 * What a p2psip peer says about itself over mDNS (RFC 6762) / DNS-SD (RFC 6763), and how it reads
 * what others say. Pure: the answer to a query and the candidates in a response are functions of
 * the packet, this peer's {@link Advertisement} and its addresses on the link the packet came from.
 *
 *   _p2psip._tcp.local                PTR  <id12>._p2psip._tcp.local               (shared)
 *   <id12>._p2psip._tcp.local         SRV  0 0 <overlay port> p2psip-<id12>.local   (unique)
 *   <id12>._p2psip._tcp.local         TXT  v=1 o=<overlay> c=<config fp> n=<Node-ID>
 *   p2psip-<id12>.local               A / AAAA  our address on that link            (unique)
 *   <sip domain>                      A / AAAA  our address on that link            (shared: every peer answers)
 *   _sip._udp.<sip domain>            SRV  0 0 <sip port> p2psip-<id12>.local       (shared)
 *   _sip._tcp.<sip domain>            SRV  0 0 <sip port> p2psip-<id12>.local       (shared)
 *   _sip._udp.<sip domain>            PTR  <id12>._sip._udp.<sip domain>             (DNS-SD browse; tcp too)
 *   <id12>._sip._udp.<sip domain>     SRV  0 0 <sip port> p2psip-<id12>.local, TXT "" (unique)
 */
import { canonicalIp, ipFamily } from '../../lib/ip.js';
import { addressScope } from '../../nat/address-scope.js';
import type { BootstrapCandidate } from '../bootstrap-candidate.js';
import type { MdnsPacketView, MdnsQuestion, MdnsRecord } from './mdns-model.js';

export const SERVICE_TYPE = '_p2psip._tcp.local';
/** RFC 6763 §9 service type enumeration. */
export const SERVICE_ENUMERATION = '_services._dns-sd._udp.local';
/** TXT `v=`: the version of this record layout. */
export const TXT_VERSION = '1';
/** RFC 6762 §10: 120 s for records that name a host, used for all (they change when a peer moves). */
export const RECORD_TTL_S = 120;
/** Hex digits of the Node-ID in instance and host names. */
const ID_PREFIX = 12;

/** This peer, as advertised. */
export interface Advertisement {
  /** Overlay name (RFC 6940 instance-name). */
  overlay: string;
  /** First 16 hex digits of SHA-256 of the overlay configuration we use ({@link configFingerprint}'s input). */
  fingerprint: string;
  /** Our Node-ID, lowercase hex. */
  nodeId: string;
  /** Overlay link (TLS) port. */
  overlayPort: number;
  /** SIP front port (UDP and TCP); absent: no SIP records. */
  sipPort?: number;
  /** SIP domain answered (only names ending in `.local`, lowercase); absent: none. */
  sipDomain?: string;
}

/** Our addresses on the link a query came from (what the A/AAAA answers carry). */
export interface LinkAddresses {
  v4: string[];
  v6: string[];
}

export function instanceName(ad: Pick<Advertisement, 'nodeId'>): string {
  return `${ad.nodeId.slice(0, ID_PREFIX)}.${SERVICE_TYPE}`;
}

export function hostName(ad: Pick<Advertisement, 'nodeId'>): string {
  return `p2psip-${ad.nodeId.slice(0, ID_PREFIX)}.local`;
}

/** The SIP domain we may answer for: a `.local` name (RFC 6762 §3), else none. */
export function mdnsSipDomain(domain: string): string | undefined {
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (!d.endsWith('.local') || d.length > 200) return undefined;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d)) return undefined;
  return d;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** RFC 6763 §6: key=value strings. */
export function encodeServiceTxt(ad: Advertisement): Uint8Array[] {
  return [`v=${TXT_VERSION}`, `o=${ad.overlay}`, `c=${ad.fingerprint}`, `n=${ad.nodeId}`].map((s) => enc.encode(s));
}

export interface ServiceTxt {
  version: string;
  overlay: string;
  fingerprint: string;
  nodeId: string;
}

export type TxtProblem = 'txt-malformed' | 'txt-version' | 'txt-missing-key' | 'txt-bad-value';

/**
 * Parses and validates our TXT record (RFC 6763 §6.4: keys are case-insensitive, the first of a
 * repeated key wins; §6.1: strings of at most 255 bytes). Unknown keys are ignored.
 */
export function parseServiceTxt(strings: readonly Uint8Array[]): { ok: true; txt: ServiceTxt } | { ok: false; problem: TxtProblem } {
  const kv = new Map<string, string>();
  for (const b of strings) {
    if (b.length === 0 || b.length > 255) return { ok: false, problem: 'txt-malformed' };
    let s: string;
    try {
      s = dec.decode(b);
    } catch {
      return { ok: false, problem: 'txt-malformed' };
    }
    const eq = s.indexOf('=');
    if (eq <= 0) continue; // boolean attribute or empty key: not ours
    const key = s.slice(0, eq).toLowerCase();
    if (!kv.has(key)) kv.set(key, s.slice(eq + 1));
  }
  const version = kv.get('v');
  const overlay = kv.get('o');
  const fingerprint = kv.get('c');
  const nodeId = kv.get('n');
  if (version === undefined || overlay === undefined || fingerprint === undefined || nodeId === undefined) return { ok: false, problem: 'txt-missing-key' };
  if (version !== TXT_VERSION) return { ok: false, problem: 'txt-version' };
  if (!/^[0-9a-f]{16}$/.test(fingerprint) || !/^([0-9a-f]{2}){16,20}$/.test(nodeId) || overlay.length === 0 || overlay.length > 200) return { ok: false, problem: 'txt-bad-value' };
  return { ok: true, txt: { version, overlay, fingerprint, nodeId } };
}

function rec<T extends MdnsRecord['type']>(type: T, name: string, data: Extract<MdnsRecord, { type: T }>['data'], flush: boolean): MdnsRecord {
  return { type, name, ttl: RECORD_TTL_S, flush, data } as MdnsRecord;
}

function addressRecords(name: string, link: LinkAddresses, want: 'A' | 'AAAA' | 'ANY', flush: boolean): MdnsRecord[] {
  const out: MdnsRecord[] = [];
  if (want !== 'AAAA') for (const a of link.v4) out.push(rec('A', name, a, flush));
  if (want !== 'A') for (const a of link.v6) out.push(rec('AAAA', name, a, flush));
  return out;
}

export interface QueryAnswer {
  answers: MdnsRecord[];
  additionals: MdnsRecord[];
  /** RFC 6762 §5.4: some question asked for a unicast answer (QU). */
  unicast: boolean;
}

/**
 * What we answer to a query (RFC 6762 §6), or undefined when no question is ours. Shared records
 * (PTR, the SIP domain and its SRVs) have no cache-flush bit: several peers answer them.
 */
export function answerQuery(view: MdnsPacketView, ad: Advertisement, link: LinkAddresses): QueryAnswer | undefined {
  if (view.kind !== 'query') return undefined;
  const answers: MdnsRecord[] = [];
  const additionals: MdnsRecord[] = [];
  let unicast = false;
  const instance = instanceName(ad);
  const host = hostName(ad);
  const instanceRecords = (): MdnsRecord[] => [rec('SRV', instance, { priority: 0, weight: 0, port: ad.overlayPort, target: host }, true), rec('TXT', instance, encodeServiceTxt(ad), true)];
  const sipSrvName = (t: 'udp' | 'tcp'): string => `_sip._${t}.${ad.sipDomain}`;
  const sipInstance = (t: 'udp' | 'tcp'): string => `${ad.nodeId.slice(0, ID_PREFIX)}.${sipSrvName(t)}`;
  const sipInstanceRecords = (t: 'udp' | 'tcp'): MdnsRecord[] => [
    rec('SRV', sipInstance(t), { priority: 0, weight: 0, port: ad.sipPort ?? 0, target: host }, true),
    // RFC 6763 §6.1: one empty string when there is nothing to say. Not belle-sip's prio=/weight=/ttl=
    // keys on purpose: linphone 5.1 (belle-sip over avahi-compat) then takes the instance but reads its
    // port byte-swapped (5060 → 50195); without them it falls back to the domain's A record and port 5060
    rec('TXT', sipInstance(t), [new Uint8Array(0)], true),
  ];
  for (const q of view.questions) {
    const before = answers.length;
    answerOne(q);
    if (answers.length > before && q.unicastResponse) unicast = true;
  }
  if (answers.length === 0) return undefined;
  // additionals (RFC 6763 §12): what the asker needs next, unless already an answer
  const has = (r: MdnsRecord): boolean => answers.some((a) => a.type === r.type && a.name === r.name);
  const sipPtrs = answers.filter((a) => a.type === 'PTR' && a.name.startsWith('_sip._'));
  // RFC 3263: the SRVs a NAPTR leads to, so a resolver needs no second round trip
  if (answers.some((a) => a.type === 'NAPTR') && ad.sipPort !== undefined) {
    for (const tr of ['udp', 'tcp'] as const) additionals.push(rec('SRV', sipSrvName(tr), { priority: 0, weight: 0, port: ad.sipPort, target: host }, false));
  }
  const needsHost = answers.some((a) => a.type === 'SRV' || a.type === 'NAPTR' || (a.type === 'PTR' && a.data === instance)) || sipPtrs.length > 0;
  if (answers.some((a) => a.type === 'PTR' && a.data === instance)) for (const r of instanceRecords()) if (!has(r)) additionals.push(r);
  for (const p of sipPtrs) for (const r of sipInstanceRecords(p.name.startsWith('_sip._udp.') ? 'udp' : 'tcp')) if (!has(r)) additionals.push(r);
  if (needsHost) for (const r of addressRecords(host, link, 'ANY', true)) if (!has(r)) additionals.push(r);
  return { answers, additionals, unicast };

  function answerOne(q: MdnsQuestion): void {
    const t = q.type;
    if (t === 'OTHER') return;
    if (q.name === SERVICE_ENUMERATION && (t === 'PTR' || t === 'ANY')) answers.push(rec('PTR', SERVICE_ENUMERATION, SERVICE_TYPE, false));
    else if (q.name === SERVICE_TYPE && (t === 'PTR' || t === 'ANY')) answers.push(rec('PTR', SERVICE_TYPE, instance, false));
    else if (q.name === instance) {
      for (const r of instanceRecords()) if (t === 'ANY' || t === r.type) answers.push(r);
    } else if (q.name === host && (t === 'A' || t === 'AAAA' || t === 'ANY')) answers.push(...addressRecords(host, link, t, true));
    else if (ad.sipDomain !== undefined && q.name === ad.sipDomain && (t === 'A' || t === 'AAAA' || t === 'ANY' || t === 'NAPTR')) {
      if (t !== 'NAPTR') answers.push(...addressRecords(ad.sipDomain, link, t, false));
      // RFC 3263 §4.1: UDP then TCP, each to its SRV (shared: every peer says the same)
      if ((t === 'NAPTR' || t === 'ANY') && ad.sipPort !== undefined) {
        answers.push(rec('NAPTR', ad.sipDomain, { order: 10, preference: 10, flags: 's', services: 'SIP+D2U', regexp: '', replacement: sipSrvName('udp') }, false));
        answers.push(rec('NAPTR', ad.sipDomain, { order: 20, preference: 10, flags: 's', services: 'SIP+D2T', regexp: '', replacement: sipSrvName('tcp') }, false));
      }
    }
    else if (ad.sipDomain !== undefined && ad.sipPort !== undefined) {
      for (const tr of ['udp', 'tcp'] as const) {
        // RFC 3263 §4.2: the SRV a phone asks for the domain; RFC 6763 §4: the same as a browsable service
        if (q.name === sipSrvName(tr) && (t === 'SRV' || t === 'ANY')) answers.push(rec('SRV', sipSrvName(tr), { priority: 0, weight: 0, port: ad.sipPort, target: host }, false));
        if (q.name === sipSrvName(tr) && (t === 'PTR' || t === 'ANY')) answers.push(rec('PTR', sipSrvName(tr), sipInstance(tr), false));
        if (q.name === sipInstance(tr)) for (const r of sipInstanceRecords(tr)) if (t === 'ANY' || t === r.type) answers.push(r);
      }
    }
  }
}

/**
 * Whether `name` is one we answer for (RFC 6762 §6.1: a responder that owns a name may say that a
 * type does not exist): our instance and host names, the SIP domain and its SIP service names.
 */
export function ownsName(name: string, ad: Advertisement): boolean {
  if (name === instanceName(ad) || name === hostName(ad)) return true;
  const d = ad.sipDomain;
  if (d === undefined) return false;
  // _sips._tcp: RFC 3263 §4.2 asks it first; we serve no SIP over TLS by default, so "none" at once
  return name === d || name === `_sip._udp.${d}` || name === `_sip._tcp.${d}` || name === `_sips._tcp.${d}` || name.endsWith(`._sip._udp.${d}`) || name.endsWith(`._sip._tcp.${d}`);
}

/** Why an advertisement in a response was not taken. */
export type AdvertisementProblem = TxtProblem | 'foreign-overlay' | 'foreign-config' | 'own-advertisement' | 'no-srv' | 'no-txt' | 'bad-address' | 'bad-port';

export interface ReadAdvertisements {
  candidates: BootstrapCandidate[];
  problems: AdvertisementProblem[];
}

/** An address a candidate may have: a unicast IP literal that is not unspecified or multicast. */
export function usableAddress(host: string): string | undefined {
  const c = canonicalIp(host);
  if (c === undefined) return undefined;
  const scope = addressScope(c);
  if (scope === 'multicast' || scope === 'unspecified') return undefined;
  return c;
}

/**
 * The candidates a response offers (RFC 6763 §4-§6): each instance of our service type that some
 * PTR, SRV or TXT of the packet names, with an SRV (port, target) and a TXT of our overlay and
 * configuration, at the target's A/AAAA in the packet or else at the packet's source address.
 * Foreign overlays and configurations, our own advertisement and malformed ones are problems, never candidates.
 */
export function readAdvertisements(view: MdnsPacketView, self: Advertisement, source: string): ReadAdvertisements {
  const out: ReadAdvertisements = { candidates: [], problems: [] };
  if (view.kind !== 'response') return out;
  const suffix = `.${SERVICE_TYPE}`;
  const instances = new Set<string>();
  for (const r of view.records) {
    if (r.type === 'PTR' && r.name === SERVICE_TYPE && r.data.endsWith(suffix)) instances.add(r.data);
    if ((r.type === 'SRV' || r.type === 'TXT') && r.name.endsWith(suffix)) instances.add(r.name);
  }
  for (const inst of instances) {
    const srv = view.records.find((r): r is Extract<MdnsRecord, { type: 'SRV' }> => r.type === 'SRV' && r.name === inst);
    const txtRec = view.records.find((r): r is Extract<MdnsRecord, { type: 'TXT' }> => r.type === 'TXT' && r.name === inst);
    if (srv === undefined || txtRec === undefined) {
      // a bare PTR is a pointer to ask about, not a candidate (we ask for the instance on the next browse)
      out.problems.push(srv === undefined ? 'no-srv' : 'no-txt');
      continue;
    }
    const parsed = parseServiceTxt(txtRec.data);
    if (!parsed.ok) {
      out.problems.push(parsed.problem);
      continue;
    }
    const txt = parsed.txt;
    if (txt.overlay !== self.overlay) {
      out.problems.push('foreign-overlay');
      continue;
    }
    if (txt.fingerprint !== self.fingerprint) {
      out.problems.push('foreign-config');
      continue;
    }
    if (txt.nodeId === self.nodeId) {
      out.problems.push('own-advertisement');
      continue;
    }
    if (srv.ttl === 0) continue; // RFC 6762 §10.1 goodbye: nothing to offer
    if (srv.data.port === 0) {
      out.problems.push('bad-port');
      continue;
    }
    const target = srv.data.target;
    const addrs = view.records
      .filter((r): r is Extract<MdnsRecord, { type: 'A' | 'AAAA' }> => (r.type === 'A' || r.type === 'AAAA') && r.name === target)
      .map((r) => usableAddress(r.data));
    const hosts = addrs.filter((a): a is string => a !== undefined);
    if (addrs.length > 0 && hosts.length === 0) {
      out.problems.push('bad-address');
      continue;
    }
    // prefer the address family the packet came over; else the packet's source
    const fam = ipFamily(source);
    const chosen = hosts.find((h) => ipFamily(h) === fam) ?? hosts[0] ?? usableAddress(source);
    if (chosen === undefined) {
      out.problems.push('bad-address');
      continue;
    }
    out.candidates.push({ host: chosen, port: srv.data.port, source: 'mdns', nodeId: txt.nodeId });
  }
  return out;
}

/** The queries of a browse (RFC 6763 §4.1): PTR for our service type (QM, answers by multicast). */
export function browseQuestions(): MdnsQuestion[] {
  return [{ name: SERVICE_TYPE, type: 'PTR', unicastResponse: false }];
}

/** The unsolicited announcement (RFC 6762 §8.3): our PTR, SRV, TXT and host addresses. */
export function announcement(ad: Advertisement, link: LinkAddresses): MdnsRecord[] {
  const instance = instanceName(ad);
  const host = hostName(ad);
  return [
    rec('PTR', SERVICE_TYPE, instance, false),
    rec('SRV', instance, { priority: 0, weight: 0, port: ad.overlayPort, target: host }, true),
    rec('TXT', instance, encodeServiceTxt(ad), true),
    ...addressRecords(host, link, 'ANY', true),
  ];
}
