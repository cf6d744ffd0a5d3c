/**
 * The user record of a closed overlay (issue 15): who a user is and the HA1s of their password, kept
 * at H(`user@domain`) — the Resource-ID of the user's SIP registrations, so the same storing peers
 * hold both — as the single value of Kind P2PSIP-USER, which storing peers never answer in Fetch,
 * Stat or Find (KindDefinition.private). JSON, UTF-8, validated field by field on decode.
 *
 * Replacing an existing record (password change, removal = a tombstone) needs either an `auth`: a
 * digest answer made with the CURRENT password over a nonce bound to the new record's version and
 * contents ({@link updateNonce}), or a signer that is the record's owner (the peer that wrote it
 * last — the box where `p2psip user add` ran: the operator's override).
 */
import { createHash } from 'node:crypto';
import type { DigestAlgorithm } from '../../../sip/auth/credential-verifier.js';
import { computeDigestResponse as expectedResponse, computeHa1 as ha1 } from '../../../sip/auth/digest-math.js';

/** Record format version. */
export const USER_RECORD_FORMAT = 1;
/** Longest user part / realm accepted. */
export const MAX_USER_LENGTH = 64;
export const MAX_REALM_LENGTH = 253;
/** Lifetime of a live record in the overlay, s (10 years: "until removed"). */
export const USER_RECORD_LIFETIME_S = 10 * 365 * 24 * 3600;
/** Lifetime of a removal tombstone, s: long enough to reach every replica, then the name is free. */
export const USER_TOMBSTONE_LIFETIME_S = 24 * 3600;
/** method / uri of the digest answer that proves the current password for a record change. */
export const USER_UPDATE_METHOD = 'P2PSIP-USER';

/** A digest answer with the current password (the fields a phone would send; qop=auth). */
export interface UserUpdateAuth {
  algorithm: DigestAlgorithm;
  nonce: string;
  cnonce: string;
  nc: string;
  response: string;
}

export interface UserRecord {
  user: string;
  realm: string;
  /** HA1 = H(user:realm:password), lowercase hex; absent in a tombstone. */
  ha1Md5?: string;
  ha1Sha256?: string;
  /** Wall-clock ms the user was first created (kept across password changes). */
  created: number;
  /** 1 at creation, +1 per change. */
  version: number;
  /** Node-ID (hex) of the peer that wrote this version (must be the value's signer). */
  owner: string;
  /** A removal: the user no longer exists. */
  removed?: boolean;
  /** Proof of the previous version's password (absent at creation). */
  auth?: UserUpdateAuth;
}

const utf8 = new TextEncoder();
const USER_RE = /^[A-Za-z0-9._~!$&'()*+,;=%-]+$/;
const REALM_RE = /^[a-z0-9.-]+$/;
const HEX_RE = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);

/** Why a user name cannot be used, or undefined (the user part of a SIP URI, unescaped characters only). */
export function userNameProblem(user: string): string | undefined {
  if (user.length === 0 || user.length > MAX_USER_LENGTH) return `a user name has 1..${MAX_USER_LENGTH} characters`;
  if (!USER_RE.test(user)) return 'a user name has letters, digits and - . _ ~ ! $ & \' ( ) * + , ; = % only';
  return undefined;
}

/** The Resource Name of a user: `user@realm` (realm lowercase), as aor-resource-id.ts names the AoR. */
export function userResourceName(user: string, realm: string): string {
  return `${user}@${realm.toLowerCase()}`;
}

/** A new record (version 1) or the next version of one, with both HA1s of `password`. */
export function makeUserRecord(o: { user: string; realm: string; password: string; now: number; owner: string; previous?: UserRecord }): UserRecord {
  const realm = o.realm.toLowerCase();
  return {
    user: o.user,
    realm,
    ha1Md5: ha1('MD5', o.user, realm, o.password),
    ha1Sha256: ha1('SHA-256', o.user, realm, o.password),
    created: o.previous?.created ?? o.now,
    version: (o.previous?.version ?? 0) + 1,
    owner: o.owner,
  };
}

/** The tombstone that removes `previous`. */
export function makeTombstone(previous: UserRecord, owner: string): UserRecord {
  return { user: previous.user, realm: previous.realm, created: previous.created, version: previous.version + 1, owner, removed: true };
}

function body(r: UserRecord): object {
  return {
    v: USER_RECORD_FORMAT,
    user: r.user,
    realm: r.realm,
    ...(r.ha1Md5 === undefined ? {} : { ha1Md5: r.ha1Md5 }),
    ...(r.ha1Sha256 === undefined ? {} : { ha1Sha256: r.ha1Sha256 }),
    created: r.created,
    version: r.version,
    owner: r.owner,
    ...(r.removed === true ? { removed: true } : {}),
  };
}

/** The nonce an update's digest answer is made over: the new version and a hash of everything else in it. */
export function updateNonce(r: UserRecord): string {
  return `v${r.version}.${createHash('sha256').update(JSON.stringify(body(r))).digest('hex')}`;
}

/** The uri of an update's digest answer. */
export function updateUri(r: Pick<UserRecord, 'user' | 'realm'>): string {
  return `p2psip-user:${userResourceName(r.user, r.realm)}`;
}

/** Signs `next` as a change of the record whose password is `password` (what the CLI does, like a phone). */
export function withUpdateAuth(next: UserRecord, password: string, cnonce: string): UserRecord {
  const nonce = updateNonce(next);
  const nc = '00000001';
  const response = expectedResponse(ha1('SHA-256', next.user, next.realm, password), { algorithm: 'SHA-256', nonce, uri: updateUri(next), method: USER_UPDATE_METHOD, qop: 'auth', nc, cnonce });
  return { ...next, auth: { algorithm: 'SHA-256', nonce, cnonce, nc, response } };
}

export function encodeUserRecord(r: UserRecord): Uint8Array {
  return utf8.encode(JSON.stringify({ ...body(r), ...(r.auth === undefined ? {} : { auth: r.auth }) }));
}

export type UserRecordDecode = { ok: true; record: UserRecord } | { ok: false; error: string };

/** Parses and validates a record; never throws. */
export function decodeUserRecord(bytes: Uint8Array, maxBytes = 4096): UserRecordDecode {
  if (bytes.length > maxBytes) return { ok: false, error: `user record of ${bytes.length} bytes (max ${maxBytes})` };
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, error: 'user record is not JSON' };
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return { ok: false, error: 'user record is not an object' };
  const o = j as Record<string, unknown>;
  if (o['v'] !== USER_RECORD_FORMAT) return { ok: false, error: `user record format ${String(o['v'])} (this peer reads ${USER_RECORD_FORMAT})` };
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const int = (k: string): number | undefined => (Number.isSafeInteger(o[k]) && (o[k] as number) >= 0 ? (o[k] as number) : undefined);
  const user = str('user');
  const realm = str('realm');
  const owner = str('owner');
  const created = int('created');
  const version = int('version');
  if (user === undefined || userNameProblem(user) !== undefined) return { ok: false, error: 'user record: bad user' };
  if (realm === undefined || realm.length === 0 || realm.length > MAX_REALM_LENGTH || !REALM_RE.test(realm)) return { ok: false, error: 'user record: bad realm' };
  if (owner === undefined || !/^([0-9a-f]{2}){16,20}$/.test(owner)) return { ok: false, error: 'user record: bad owner' };
  if (created === undefined || version === undefined || version < 1) return { ok: false, error: 'user record: bad created/version' };
  const removed = o['removed'] === true;
  const md5 = str('ha1Md5');
  const sha = str('ha1Sha256');
  if (!removed && (md5 === undefined || !HEX_RE(32).test(md5) || sha === undefined || !HEX_RE(64).test(sha))) return { ok: false, error: 'user record: bad HA1' };
  if (removed && (md5 !== undefined || sha !== undefined)) return { ok: false, error: 'user record: a tombstone carries no HA1' };
  const record: UserRecord = { user, realm, created, version, owner, ...(removed ? { removed: true } : { ha1Md5: md5!, ha1Sha256: sha! }) };
  if (o['auth'] !== undefined) {
    const a = o['auth'] as Record<string, unknown>;
    const field = (k: string, re: RegExp): string | undefined => (typeof a?.[k] === 'string' && re.test(a[k] as string) ? (a[k] as string) : undefined);
    const algorithm = a?.['algorithm'] === 'MD5' || a?.['algorithm'] === 'SHA-256' ? (a['algorithm'] as DigestAlgorithm) : undefined;
    const nonce = field('nonce', /^[!-~]{1,200}$/);
    const cnonce = field('cnonce', /^[!-~]{1,200}$/);
    const nc = field('nc', /^[0-9a-f]{8}$/);
    const response = field('response', /^[0-9a-f]{32,64}$/);
    if (algorithm === undefined || nonce === undefined || cnonce === undefined || nc === undefined || response === undefined) return { ok: false, error: 'user record: bad auth' };
    record.auth = { algorithm, nonce, cnonce, nc, response };
  }
  return { ok: true, record };
}
