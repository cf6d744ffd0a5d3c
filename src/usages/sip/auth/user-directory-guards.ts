/**
 * The storing peers' side of the user directory (issue 15): KindGuards (reload/storage/kind-guard.ts)
 * for P2PSIP-USER and P2PSIP-AUTH-PROOF, run by the responsible peer of H(`user@domain`) on
 * original Stores.
 * - P2PSIP-USER: first claim wins; a change or removal of an existing user needs a digest answer
 *   made with the current password over the new version (user-record.ts), or the record's owner.
 * - P2PSIP-AUTH-PROOF: the phone's digest answer is recomputed from the record's HA1; (nonce, cnonce,
 *   nc) is single use here; a good proof is not kept but earns its signer a write grant for the
 *   user's registrations (reload/storage/write-grant.ts), signed by this peer. A refusal's info
 *   starts with `p2psip-auth:<reason>:` for the verifier (overlay-credential-verifier.ts).
 * Every table is bounded; time is the request's `now` (no clock of its own).
 */
import type { StoredData, StoredDataValue } from '../../../reload/codec/index.js';
import type { GuardDecision, GuardRequest, KindGuard, KindRecord } from '../../../reload/storage/index.js';
import { WRITE_GRANT_KIND_ID, bytesEqual, liveGrantUntil, toHex, writeGrantValue } from '../../../reload/storage/index.js';
import type { HashResourceName } from '../../../reload/storage/index.js';
import { P2PSIP_USER_KIND_ID } from '../../../reload/config/index.js';
import { decodeAuthProof } from './auth-proof.js';
import { computeDigestResponse as expectedResponse, sameHex } from '../../../sip/auth/digest-math.js';
import { USER_UPDATE_METHOD, decodeUserRecord, updateNonce, updateUri, userResourceName } from './user-record.js';
import type { UserRecord } from './user-record.js';

/** Why a proof or a record change was refused (the first word after `p2psip-auth:` in the info). */
export type DirectoryRefusal =
  | 'unknown-user'
  | 'bad-response'
  | 'replay'
  | 'rate-limited'
  | 'grants-full'
  | 'bad-proof'
  | 'user-exists'
  | 'bad-record'
  | 'not-authorized';

export const AUTH_REFUSAL_PREFIX = 'p2psip-auth:';

export interface UserDirectoryGuardDeps {
  /** The overlay's hash of a Resource Name (a record must live at the hash of its `user@realm`). */
  hashResourceName: HashResourceName;
  /** Signs a write grant this peer stores (our identity; storage time after every earlier one). */
  signGrant(resource: Uint8Array, value: StoredDataValue, lifetimeS: number): StoredData;
}

export interface UserDirectoryGuardOptions {
  /** The only realm of records and proofs (the overlay's SIP domain). */
  realm: string;
  /** How long a grant lasts after the proof that earned it, ms (default 2 h; each proof renews it). */
  grantMs?: number;
  /** Proofs per second one signer may send here (default 5, bursts of {@link proofBurst}). */
  proofsPerSecond?: number;
  proofBurst?: number;
  /** Signers whose proof rate is tracked (default 1,024; the least recently seen forgotten first). */
  maxTrackedSigners?: number;
  /** How long a (nonce, cnonce, nc) is remembered, ms (default 15 min: past any front's nonce lifetime). */
  replayWindowMs?: number;
  /** Most (nonce, cnonce, nc) remembered (default 10,000; the oldest forgotten first). */
  maxReplayEntries?: number;
}

export const DEFAULT_USER_DIRECTORY_GUARD_OPTIONS = Object.freeze({
  grantMs: 2 * 3600 * 1000,
  proofsPerSecond: 5,
  proofBurst: 10,
  maxTrackedSigners: 1024,
  replayWindowMs: 15 * 60 * 1000,
  maxReplayEntries: 10_000,
});

const refuse = (reason: DirectoryRefusal, detail: string): GuardDecision => ({ ok: false, info: `${AUTH_REFUSAL_PREFIX}${reason}: ${detail}` });

/** The user record held at a resource (live, not a tombstone), from its P2PSIP-USER record. */
export function heldUserRecord(record: KindRecord | undefined): UserRecord | undefined {
  const e = record?.entries.values().next().value;
  if (e === undefined || !e.data.value.value.exists) return undefined;
  const d = decodeUserRecord(e.data.value.value.value);
  return d.ok ? d.record : undefined;
}

export class UserDirectoryGuards {
  readonly stats = { proofsAccepted: 0, proofsRefused: 0, recordsAccepted: 0, recordsRefused: 0 };
  private readonly opts: Required<Omit<UserDirectoryGuardOptions, 'realm'>> & { realm: string };
  /** key → when first seen (insertion order = age). */
  private readonly seen = new Map<string, number>();
  /** signer hex → token bucket (insertion order = least recently seen first). */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly deps: UserDirectoryGuardDeps,
    options: UserDirectoryGuardOptions,
  ) {
    this.opts = { ...DEFAULT_USER_DIRECTORY_GUARD_OPTIONS, ...options, realm: options.realm.toLowerCase() };
    for (const k of ['grantMs', 'proofsPerSecond', 'proofBurst', 'maxTrackedSigners', 'replayWindowMs', 'maxReplayEntries'] as const) {
      if (!(this.opts[k] > 0)) throw new RangeError(`${k} must be > 0`);
    }
  }

  /** The guard of Kind P2PSIP-USER. */
  readonly userGuard: KindGuard = { check: (r) => this.count('records', this.checkUser(r)) };
  /** The guard of Kind P2PSIP-AUTH-PROOF. */
  readonly proofGuard: KindGuard = { check: (r) => this.count('proofs', this.checkProof(r)) };

  private count(what: 'records' | 'proofs', d: GuardDecision): GuardDecision {
    const key = what === 'records' ? (d.ok ? 'recordsAccepted' : 'recordsRefused') : d.ok ? 'proofsAccepted' : 'proofsRefused';
    this.stats[key]++;
    return d;
  }

  private checkUser(r: GuardRequest): GuardDecision {
    const v = r.data.value.value;
    if (!v.exists) return refuse('bad-record', 'a user is removed with a tombstone record, not a deletion');
    const d = decodeUserRecord(v.value);
    if (!d.ok) return refuse('bad-record', d.error);
    const next = d.record;
    if (next.realm !== this.opts.realm) return refuse('bad-record', `realm ${next.realm} is not this overlay's (${this.opts.realm})`);
    if (!bytesEqual(this.deps.hashResourceName(new TextEncoder().encode(userResourceName(next.user, next.realm))), r.resource)) {
      return refuse('bad-record', `the record of ${next.user}@${next.realm} belongs at H(${next.user}@${next.realm}), not at this Resource-ID`);
    }
    const signerHex = r.signer.nodeIds[0] === undefined ? '' : toHex(r.signer.nodeIds[0]);
    if (next.owner !== signerHex) return refuse('bad-record', "the record's owner must be its signer's Node-ID");
    const cur = heldUserRecord(r.current(P2PSIP_USER_KIND_ID));
    if (cur === undefined || cur.removed === true) {
      // first claim wins (a removed user's name is free again)
      if (next.removed === true) return refuse('unknown-user', `no user ${next.user}@${next.realm} to remove`);
      if (cur === undefined && next.version !== 1) return refuse('unknown-user', `no user ${next.user}@${next.realm} to change (a new user is version 1)`);
      if (cur !== undefined && next.version <= cur.version) return refuse('bad-record', `version ${next.version} is not after the removed record's ${cur.version}`);
      return { ok: true, keep: true };
    }
    if (next.version <= cur.version) return refuse('user-exists', `${cur.user}@${cur.realm} exists (version ${cur.version}); a change needs a higher version and the current password`);
    if (next.user !== cur.user) return refuse('bad-record', 'the user name of a record never changes');
    if (cur.owner === signerHex && next.auth === undefined) return { ok: true, keep: true }; // the owner's override
    const a = next.auth;
    if (a === undefined) return refuse('not-authorized', `changing ${cur.user}@${cur.realm} needs a digest answer made with the current password`);
    if (a.nonce !== updateNonce(next)) return refuse('not-authorized', 'the digest answer was not made over this record');
    const ha1 = a.algorithm === 'MD5' ? cur.ha1Md5 : cur.ha1Sha256;
    if (ha1 === undefined) return refuse('not-authorized', 'no HA1 for that algorithm');
    const want = expectedResponse(ha1, { algorithm: a.algorithm, nonce: a.nonce, uri: updateUri(next), method: USER_UPDATE_METHOD, qop: 'auth', nc: a.nc, cnonce: a.cnonce });
    if (!sameHex(want, a.response)) return refuse('not-authorized', 'the digest answer was not made with the current password');
    return { ok: true, keep: true };
  }

  private checkProof(r: GuardRequest): GuardDecision {
    const signer = r.signer.nodeIds[0];
    if (signer === undefined) return refuse('bad-proof', 'the signer has no Node-ID');
    if (!this.take(toHex(signer), r.now)) return refuse('rate-limited', `more than ${this.opts.proofsPerSecond} proofs per second from this peer`);
    if (!r.data.value.value.exists) return refuse('bad-proof', 'an empty proof');
    const d = decodeAuthProof(r.data.value.value.value);
    if (!d.ok) return refuse('bad-proof', d.error);
    const user = heldUserRecord(r.current(P2PSIP_USER_KIND_ID));
    if (user === undefined || user.removed === true) return refuse('unknown-user', 'no such user in the directory');
    if ('ownerClaim' in d) {
      // static registrations: the record's owner (its last writer) may register the user without a password
      if (d.ownerClaim.user !== user.user || d.ownerClaim.realm.toLowerCase() !== user.realm) return refuse('unknown-user', 'the claim names another user or realm');
      if (toHex(signer) !== user.owner) return refuse('bad-response', "an owner's claim from a peer that is not the record's owner");
      return this.grant(r, signer);
    }
    const c = d.credentials;
    const name = c.username.includes('@') ? c.username : userResourceName(c.username, c.realm);
    if (name !== userResourceName(user.user, user.realm) || c.realm.toLowerCase() !== user.realm) return refuse('unknown-user', 'the answer names another user or realm');
    this.forgetOld(r.now);
    const key = `${toHex(r.resource)} ${c.nonce} ${c.cnonce ?? ''} ${c.nc ?? ''}`;
    if (this.seen.has(key)) return refuse('replay', 'this nonce / cnonce / nc was used before');
    const ha1 = c.algorithm === 'MD5' ? user.ha1Md5 : user.ha1Sha256;
    if (ha1 === undefined || !sameHex(expectedResponse(ha1, c), c.response)) return refuse('bad-response', 'the answer was not made with the password');
    if (this.seen.size >= this.opts.maxReplayEntries) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, r.now);
    // a REGISTER earns the right to write the user's registration, a PUBLISH (issue 16) the right to write
    // its presence — the same write grant; other requests (a call) are just verified. A PUBLISH when the
    // user's grants are all taken by other peers is still verified (its presence stays at this peer).
    const method = c.method.toUpperCase();
    if (method === 'REGISTER') return this.grant(r, signer);
    if (method === 'PUBLISH') {
      const g = this.grant(r, signer);
      return g.ok ? g : { ok: true, keep: false };
    }
    return { ok: true, keep: false };
  }

  /** A write grant for `signer` until now + grantMs, unless the user has max-count other grantees. */
  private grant(r: GuardRequest, signer: Uint8Array): GuardDecision {
    const grants = r.current(WRITE_GRANT_KIND_ID);
    if (liveGrantUntil(grants, signer, r.now) === undefined) {
      const live = [...(grants?.entries.values() ?? [])].filter((e) => e.expiresAt > r.now).length;
      if (live >= (r.kinds(WRITE_GRANT_KIND_ID)?.maxCount ?? 1)) return refuse('grants-full', `${live} peers hold grants for this user already`);
    }
    const lifetimeS = Math.ceil(this.opts.grantMs / 1000);
    const grant = this.deps.signGrant(r.resource, writeGrantValue(signer, r.now + this.opts.grantMs), lifetimeS);
    return { ok: true, keep: false, also: [{ kind: WRITE_GRANT_KIND_ID, data: grant }] };
  }

  /** Token bucket per signer; false when it is empty. */
  private take(signer: string, now: number): boolean {
    let b = this.buckets.get(signer);
    if (b === undefined) {
      if (this.buckets.size >= this.opts.maxTrackedSigners) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.opts.proofBurst, at: now };
    } else this.buckets.delete(signer);
    b.tokens = Math.min(this.opts.proofBurst, b.tokens + (Math.max(0, now - b.at) * this.opts.proofsPerSecond) / 1000);
    b.at = now;
    this.buckets.set(signer, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private forgetOld(now: number): void {
    for (const [k, at] of this.seen) {
      if (now - at < this.opts.replayWindowMs) break;
      this.seen.delete(k);
    }
  }

  /** Sizes of the bounded tables (for /api/status). */
  tables(): { replay: number; signers: number } {
    return { replay: this.seen.size, signers: this.buckets.size };
  }
}
