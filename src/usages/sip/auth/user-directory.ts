/**
 * The client side of the user directory (issue 15): what `p2psip user add|passwd|remove|list` asks
 * the local peer to do through its HTTP API. Records are Stored at H(`user@domain`) (user-record.ts);
 * the storing peers decide (user-directory-guards.ts). The directory is not enumerable — records are
 * private and spread over the ring — so `list` shows what THIS peer created or changed, kept in its
 * data directory.
 */
import type { Random } from '../../../lib/random.js';
import type { RecordStore } from '../../../lib/record-store.js';
import { ReloadErrorCode } from '../../../reload/codec/index.js';
import type { ClientStoreResult } from '../../../reload/storage/index.js';
import { P2PSIP_USER_KIND_ID } from '../../../reload/config/index.js';
import type { ProofStore } from './overlay-credential-verifier.js';
import { AUTH_REFUSAL_PREFIX } from './user-directory-guards.js';
import {
  USER_RECORD_LIFETIME_S,
  USER_TOMBSTONE_LIFETIME_S,
  encodeUserRecord,
  makeTombstone,
  makeUserRecord,
  userNameProblem,
  userResourceName,
  withUpdateAuth,
} from './user-record.js';
import type { UserRecord } from './user-record.js';

export interface UserDirectoryDeps {
  storage: ProofStore;
  /** Our Node-ID, hex (the owner of records we write). */
  ownNodeId: string;
  random: Random;
  /** Wall-clock ms. */
  wallClock: () => number;
  /** Where the users we created are remembered (absent: this run only). */
  known?: RecordStore;
}

export interface KnownUser {
  user: string;
  version: number;
  created: number;
  changed: number;
  removed?: boolean;
}

export type DirectoryResult =
  | { ok: true; user: string; aor: string; version: number }
  | { ok: false; status: 'bad-request' | 'exists' | 'unknown-user' | 'forbidden' | 'unavailable'; error: string };

/** Users remembered by `list` (the oldest forgotten past it). */
export const MAX_KNOWN_USERS = 10_000;

export class UserDirectory {
  private readonly known = new Map<string, KnownUser>();

  constructor(
    private readonly deps: UserDirectoryDeps,
    readonly realm: string,
  ) {
    for (const [k, v] of deps.known?.loadAll() ?? []) {
      try {
        const u = JSON.parse(v) as KnownUser;
        if (typeof u.version === 'number' && typeof u.created === 'number' && userNameProblem(k) === undefined) this.known.set(k, { ...u, user: k });
      } catch {
        deps.known?.delete(k);
      }
    }
  }

  /** The users this peer created or changed (never the whole directory). */
  list(): KnownUser[] {
    return [...this.known.values()].sort((a, b) => (a.user < b.user ? -1 : 1));
  }

  /** Creates a user: first claim wins. */
  async add(user: string, password: string): Promise<DirectoryResult> {
    const bad = this.check(user, password);
    if (bad) return bad;
    const now = this.deps.wallClock();
    const rec = makeUserRecord({ user, realm: this.realm, password, now, owner: this.deps.ownNodeId });
    return this.write(rec, USER_RECORD_LIFETIME_S);
  }

  /**
   * A new password: proven with the current one (`current`), or — when `current` is undefined — by
   * being the record's owner (the peer that wrote it last).
   */
  async passwd(user: string, current: string | undefined, password: string): Promise<DirectoryResult> {
    const bad = this.check(user, password);
    if (bad) return bad;
    return this.change(user, current, (version, created) => makeUserRecord({ user, realm: this.realm, password, now: this.deps.wallClock(), owner: this.deps.ownNodeId, previous: { ...this.stub(user, created), version } }), USER_RECORD_LIFETIME_S);
  }

  /** Removes a user (a tombstone; the name is free again when it ends), proven like {@link passwd}. */
  async remove(user: string, current: string | undefined): Promise<DirectoryResult> {
    const bad = this.check(user, current ?? 'x');
    if (bad) return bad;
    return this.change(user, current, (version, created) => makeTombstone({ ...this.stub(user, created), version }, this.deps.ownNodeId), USER_TOMBSTONE_LIFETIME_S);
  }

  private stub(user: string, created: number): UserRecord {
    return { user, realm: this.realm, created, version: 0, owner: this.deps.ownNodeId };
  }

  /** Writes version (known + 1); when the storing peer says the record is at another version, once more after it. */
  private async change(user: string, current: string | undefined, next: (previousVersion: number, created: number) => UserRecord, lifetime: number): Promise<DirectoryResult> {
    const k = this.known.get(user);
    let version = k?.version ?? 1;
    const created = k?.created ?? this.deps.wallClock();
    for (let attempt = 0; attempt < 2; attempt++) {
      let rec = next(version, created);
      if (current !== undefined) rec = withUpdateAuth(rec, current, Buffer.from(this.deps.random.bytes(8)).toString('hex'));
      const r = await this.write(rec, lifetime);
      if (r.ok || r.status !== 'exists') return r;
      const m = /\(version (\d+)\)/.exec(r.error);
      const held = m === null ? undefined : Number(m[1]);
      if (held === undefined || held === version) return r;
      version = held;
    }
    return { ok: false, status: 'unavailable', error: 'the record changed while we wrote it; try again' };
  }

  private check(user: string, password: string): DirectoryResult | undefined {
    const bad = userNameProblem(user);
    if (bad !== undefined) return { ok: false, status: 'bad-request', error: bad };
    if (password.length === 0 || password.length > 256) return { ok: false, status: 'bad-request', error: 'a password has 1..256 characters' };
    return undefined;
  }

  private async write(rec: UserRecord, lifetime: number): Promise<DirectoryResult> {
    let r: ClientStoreResult;
    try {
      r = await this.deps.storage.store(P2PSIP_USER_KIND_ID, { resourceName: userResourceName(rec.user, rec.realm) }, [{ model: 'single', value: { exists: true, value: encodeUserRecord(rec) } }], { lifetime });
    } catch (e) {
      return { ok: false, status: 'unavailable', error: e instanceof Error ? e.message : String(e) };
    }
    const aor = `sip:${userResourceName(rec.user, rec.realm)}`;
    if (!r.ok) {
      if (r.errorCode !== ReloadErrorCode.Forbidden) return { ok: false, status: 'unavailable', error: `RELOAD error ${r.errorCode}: ${r.info}` };
      const reason = new RegExp(`${AUTH_REFUSAL_PREFIX}([a-z-]+)`).exec(r.info)?.[1];
      const status = reason === 'user-exists' ? 'exists' : reason === 'unknown-user' ? 'unknown-user' : 'forbidden';
      return { ok: false, status, error: r.info.slice(r.info.indexOf(AUTH_REFUSAL_PREFIX) >= 0 ? r.info.indexOf(AUTH_REFUSAL_PREFIX) : 0) };
    }
    this.remember({ user: rec.user, version: rec.version, created: rec.created, changed: this.deps.wallClock(), ...(rec.removed === true ? { removed: true } : {}) });
    return { ok: true, user: rec.user, aor, version: rec.version };
  }

  private remember(u: KnownUser): void {
    this.known.delete(u.user);
    if (this.known.size >= MAX_KNOWN_USERS) {
      const oldest = this.known.keys().next().value as string;
      this.known.delete(oldest);
      this.deps.known?.delete(oldest);
    }
    this.known.set(u.user, u);
    this.deps.known?.put(u.user, JSON.stringify({ version: u.version, created: u.created, changed: u.changed, ...(u.removed ? { removed: true } : {}) }));
  }
}
