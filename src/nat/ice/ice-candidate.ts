/**
 * ICE candidates for one single-component UDP stream (RFC 8445 §5.1, as profiled by RFC 6940
 * §6.5.1.3: one component, no default candidate): types, priorities (§5.1.2), foundations
 * (§5.1.1.3), redundancy (§5.1.3), the pair priority (§6.1.2.3) and the credential syntax (§5.3).
 *
 * A local candidate names its **base** twice: `base` is the owner's id of the socket it is sent
 * from ('host' for the peer's UDP port, a relay allocation id such as 'relay:1'), `baseAddress` the
 * transport address of that base (a host candidate's own address; a relayed candidate is its own base).
 */
import { fnv1a32 } from '../../lib/fnv1a.js';
import { canonicalIp, ipFamily } from '../../lib/ip.js';
import type { Random } from '../../lib/random.js';
import type { StunAddress } from '../stun/stun-message.js';
import { IceError } from './ice-error.js';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** RFC 8445 §5.1.2.2 recommended type preferences. */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = { host: 126, prflx: 110, srflx: 100, relay: 0 };

/** RELOAD uses a single component (RFC 6940 §6.5.1.5). */
export const ICE_COMPONENT = 1;

/** Highest local preference (RFC 8445 §5.1.2.1: a single-homed agent uses it for every candidate). */
export const MAX_LOCAL_PREFERENCE = 65_535;

export interface LocalCandidate {
  readonly type: CandidateType;
  /** The candidate's transport address (what the peer sends to). */
  readonly address: StunAddress;
  /** The owner's id of the socket/allocation checks and data go through ('host', 'relay:1'…). */
  readonly base: string;
  /** The base's transport address (= `address` for host and relayed candidates). */
  readonly baseAddress: StunAddress;
  /** Related address as signalled (srflx/prflx: the base; relay: the allocation's mapped address). */
  readonly related?: StunAddress;
  readonly priority: number;
  readonly foundation: string;
}

export interface RemoteCandidate {
  readonly type: CandidateType;
  readonly address: StunAddress;
  readonly priority: number;
  readonly foundation: string;
  readonly related?: StunAddress;
}

/** A local candidate as the owner gathered it; priority and foundation are computed when absent. */
export interface LocalCandidateInput {
  type: CandidateType;
  address: StunAddress;
  /** Socket/allocation id (see {@link LocalCandidate.base}). */
  base: string;
  /** The base's address; defaults to `address` (host, relay) or `related` (srflx, prflx). */
  baseAddress?: StunAddress;
  related?: StunAddress;
  priority?: number;
  /** RFC 8445 §5.1.2.1 local preference, 0–65,535 (default 65,535); ignored when `priority` is given. */
  localPreference?: number;
  foundation?: string;
  /** IP of the STUN/TURN server the candidate came from (part of the foundation, §5.1.1.3). */
  server?: string;
}

/** A remote candidate as signalled (RELOAD Attach IceCandidate). */
export interface RemoteCandidateInput {
  type: CandidateType;
  address: StunAddress;
  priority: number;
  foundation: string;
  related?: StunAddress;
}

/** RFC 8445 §5.1.2.1: (2^24)·type preference + (2^8)·local preference + (256 − component ID). */
export function candidatePriority(type: CandidateType, localPreference = MAX_LOCAL_PREFERENCE, componentId = ICE_COMPONENT): number {
  if (!Number.isInteger(localPreference) || localPreference < 0 || localPreference > MAX_LOCAL_PREFERENCE) {
    throw new IceError('ICE_BAD_CANDIDATE', `local preference ${localPreference} is not an integer in 0..65535`);
  }
  if (!Number.isInteger(componentId) || componentId < 1 || componentId > 256) throw new IceError('ICE_BAD_CANDIDATE', `component ID ${componentId} is not in 1..256`);
  return TYPE_PREFERENCE[type] * 2 ** 24 + localPreference * 2 ** 8 + (256 - componentId);
}

/**
 * The PRIORITY a check carries (RFC 8445 §7.1.1): what a peer-reflexive candidate learned from it
 * would have — the peer-reflexive type preference with the local candidate's local preference and component.
 */
export function peerReflexivePriority(localPriority: number): number {
  return TYPE_PREFERENCE.prflx * 2 ** 24 + (localPriority % 2 ** 24);
}

/**
 * RFC 8445 §5.1.1.3: candidates share a foundation when they have the same type, their bases the same
 * IP address, the same STUN/TURN server IP and the same transport. Here: a letter for the type and 8
 * hex digits of a hash of the rest (ice-chars, at most 32 of them).
 */
export function computeFoundation(type: CandidateType, baseHost: string, server?: string, transport = 'udp'): string {
  const base = canonicalIp(baseHost) ?? baseHost;
  const srv = server === undefined ? '' : (canonicalIp(server) ?? server);
  return `${type[0]}${fnv1a32(`${type}|${base}|${srv}|${transport.toLowerCase()}`)}`;
}

/**
 * RFC 8445 §6.1.2.3 pair priority: 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), with G the controlling
 * side's candidate priority and D the controlled side's. A bigint: the value needs 63 bits.
 */
export function pairPriority(controllingPriority: number, controlledPriority: number): bigint {
  const g = BigInt(controllingPriority);
  const d = BigInt(controlledPriority);
  const min = g < d ? g : d;
  const max = g < d ? d : g;
  return (min << 32n) + 2n * max + (g > d ? 1n : 0n);
}

/** `ip:port` with the canonical IP (IPv6 bracketed), for maps and comparisons. */
export function addressKey(a: StunAddress): string {
  const h = canonicalIp(a.host) ?? a.host;
  return h.includes(':') ? `[${h}]:${a.port}` : `${h}:${a.port}`;
}

export function sameAddress(a: StunAddress, b: StunAddress): boolean {
  return a.port === b.port && addressKey(a) === addressKey(b);
}

/** Same IP family (RFC 8445 §6.1.2.2 pairs only candidates of one family). */
export function sameFamily(a: StunAddress, b: StunAddress): boolean {
  return ipFamily(a.host) === ipFamily(b.host);
}

/** An address with its IP in canonical form; throws ICE_BAD_CANDIDATE for a name or a bad port. */
export function canonicalAddress(a: StunAddress, what: string): StunAddress {
  const host = canonicalIp(a.host);
  if (host === undefined) throw new IceError('ICE_BAD_CANDIDATE', `${what}: ${a.host} is not an IP literal`);
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65_535) throw new IceError('ICE_BAD_CANDIDATE', `${what}: port ${a.port} is not in 1..65535`);
  return { host, port: a.port };
}

/** A local candidate with its base, priority and foundation filled in and its addresses canonical. */
export function makeLocalCandidate(c: LocalCandidateInput): LocalCandidate {
  const what = `local ${c.type} candidate`;
  if (!Object.hasOwn(TYPE_PREFERENCE, c.type)) throw new IceError('ICE_BAD_CANDIDATE', `unknown candidate type ${String(c.type)}`);
  if (typeof c.base !== 'string' || c.base.length === 0) throw new IceError('ICE_BAD_CANDIDATE', `${what}: no base id`);
  const address = canonicalAddress(c.address, what);
  const related = c.related === undefined ? undefined : canonicalAddress(c.related, `${what} related address`);
  const reflexive = c.type === 'srflx' || c.type === 'prflx';
  const rawBase = c.baseAddress ?? (reflexive ? related : address);
  if (rawBase === undefined) throw new IceError('ICE_BAD_CANDIDATE', `${what} ${addressKey(address)}: no base address`);
  const baseAddress = canonicalAddress(rawBase, `${what} base`);
  if ((c.type === 'host' || c.type === 'relay') && !sameAddress(address, baseAddress)) {
    throw new IceError('ICE_BAD_CANDIDATE', `${what} ${addressKey(address)}: a ${c.type} candidate is its own base`);
  }
  if (!sameFamily(address, baseAddress) && c.type !== 'relay') throw new IceError('ICE_BAD_CANDIDATE', `${what} ${addressKey(address)}: base of another address family`);
  const priority = c.priority ?? candidatePriority(c.type, c.localPreference ?? MAX_LOCAL_PREFERENCE);
  if (!Number.isInteger(priority) || priority < 1 || priority > 0x7fff_ffff) throw new IceError('ICE_BAD_CANDIDATE', `${what}: priority ${priority} is not in 1..2^31-1`);
  const foundation = c.foundation ?? computeFoundation(c.type, baseAddress.host, c.server);
  if (!isFoundation(foundation)) throw new IceError('ICE_BAD_CANDIDATE', `${what}: foundation '${foundation}' is not 1–32 ice-chars`);
  const out: LocalCandidate = { type: c.type, address, base: c.base, baseAddress, priority, foundation, ...(related === undefined ? {} : { related }) };
  return out;
}

/**
 * A remote candidate with canonical addresses, or a reason it cannot be used (a peer's mistake is
 * skipped and counted by the agent, not thrown).
 */
export function checkRemoteCandidate(c: RemoteCandidateInput): { ok: true; value: RemoteCandidate } | { ok: false; reason: string } {
  if (typeof c !== 'object' || c === null) return { ok: false, reason: 'not an object' };
  if (!Object.hasOwn(TYPE_PREFERENCE, c.type)) return { ok: false, reason: `unknown type ${String(c.type)}` };
  const host = typeof c.address?.host === 'string' ? canonicalIp(c.address.host) : undefined;
  if (host === undefined) return { ok: false, reason: `address ${String(c.address?.host)} is not an IP literal` };
  if (!Number.isInteger(c.address.port) || c.address.port < 1 || c.address.port > 65_535) return { ok: false, reason: `port ${c.address.port} is not in 1..65535` };
  if (!Number.isInteger(c.priority) || c.priority < 1 || c.priority > 0x7fff_ffff) return { ok: false, reason: `priority ${c.priority} is not in 1..2^31-1` };
  if (typeof c.foundation !== 'string' || c.foundation.length < 1 || c.foundation.length > 32) return { ok: false, reason: 'foundation is not 1–32 characters' };
  let related: StunAddress | undefined;
  if (c.related !== undefined) {
    const rh = canonicalIp(c.related.host);
    if (rh !== undefined && Number.isInteger(c.related.port)) related = { host: rh, port: c.related.port };
  }
  const value: RemoteCandidate = { type: c.type, address: { host, port: c.address.port }, priority: c.priority, foundation: c.foundation, ...(related === undefined ? {} : { related }) };
  return { ok: true, value };
}

/**
 * RFC 8445 §5.1.3: of candidates with the same transport address and the same base, only the one with
 * the highest priority is kept. Order of the result: priority, highest first.
 */
export function eliminateRedundant(cands: readonly LocalCandidate[]): LocalCandidate[] {
  const best = new Map<string, LocalCandidate>();
  for (const c of cands) {
    const key = `${c.base}|${addressKey(c.baseAddress)}|${addressKey(c.address)}`;
    const had = best.get(key);
    if (had === undefined || c.priority > had.priority) best.set(key, c);
  }
  return [...best.values()].sort((a, b) => b.priority - a.priority);
}

const ICE_CHARS = /^[A-Za-z0-9+/]+$/;

/** RFC 8445 §5.3 ice-char strings: ALPHA / DIGIT / "+" / "/". */
export function isIceChars(s: string): boolean {
  return ICE_CHARS.test(s);
}

function isFoundation(s: string): boolean {
  return s.length >= 1 && s.length <= 32 && isIceChars(s);
}

/** Shortest password accepted (RFC 8445 §5.3 asks for 22 ice-chars, 128 bits; RELOAD peers seen with 16). */
export const MIN_PASSWORD_LENGTH = 16;

/** Throws ICE_BAD_CREDENTIALS unless ufrag is 4–256 and password 16–256 ice-chars. */
export function checkCredentials(ufrag: string, password: string, whose: string): void {
  if (typeof ufrag !== 'string' || ufrag.length < 4 || ufrag.length > 256 || !isIceChars(ufrag)) {
    throw new IceError('ICE_BAD_CREDENTIALS', `${whose} ufrag must be 4–256 ice-chars (A-Z a-z 0-9 + /)`);
  }
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > 256 || !isIceChars(password)) {
    throw new IceError('ICE_BAD_CREDENTIALS', `${whose} password must be ${MIN_PASSWORD_LENGTH}–256 ice-chars (A-Z a-z 0-9 + /)`);
  }
}

const ICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Fresh credentials (RFC 8445 §5.3): an 8-character ufrag (48 bits) and a 24-character password (144 bits). */
export function generateCredentials(random: Random): { ufrag: string; password: string } {
  const pick = (n: number): string => {
    let s = '';
    for (const b of random.bytes(n)) s += ICE_ALPHABET[b & 63];
    return s;
  };
  return { ufrag: pick(8), password: pick(24) };
}

/** A random 64-bit tie-breaker (RFC 8445 §5.2). */
export function generateTieBreaker(random: Random): bigint {
  const b = random.bytes(8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
}

/** 'host', 'srflx'… → what a status page shows for a pair: 'host→srflx'. */
export function pairTypes(local: { type: CandidateType }, remote: { type: CandidateType }): string {
  return `${local.type}→${remote.type}`;
}
