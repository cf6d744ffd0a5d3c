/**
 * The storing peer's rules for P2PSIP-VOICEMAIL-GREETING (issue 16; a USAGE-GUARD Kind,
 * reload/storage/kind-guard.ts; the layout is greeting-store.ts's): the pointer to a user's own
 * greeting, a single value under the user's Resource Name `user@domain`.
 *
 * - A new pointer: the value reads as a greeting pointer (greeting-store.ts's codec: at most 20 s of
 *   audio, its chunk count matching its length) whose `writer` is the signer's Node-ID (its chunks
 *   are checked against that writer by every reader), and its lifetime is at most
 *   MAX_GREETING_LIFETIME_S.
 * - Closed overlay (`closed: true`): a write or a removal needs a live P2PSIP-WRITE-GRANT for the
 *   signer's Node-ID at this Resource-ID — the peer where the user proved its password (where it
 *   registered, where it called its mailbox). Another member cannot change a user's greeting.
 * - Enrolled overlay (`userMatch`): the signer's certificate user name must be the Resource Name (its
 *   hash the Resource-ID): only the user's own peer writes or removes its greeting.
 * - Open overlay (neither): any peer may write or remove any user's greeting — nothing is proven
 *   there (a user is whoever says so), as for SIP-REGISTRATION itself.
 *
 * The audio chunks are P2PSIP-VOICEMAIL-CHUNK values (voicemail-guard.ts's VoicemailChunkGuard).
 * Replicas and hand-overs are not asked (their responsible peer was).
 */
import { counted, type GuardCounts } from '../guard-support.js';
import { bytesEqual } from '../../lib/bytes.js';
import { liveGrantUntil, userResourceName, WRITE_GRANT_KIND_ID, type GuardDecision, type GuardRequest, type KindGuard } from '../../reload/storage/index.js';
import { decodeGreetingPointer, GreetingError, MAX_GREETING_LIFETIME_S } from './greeting-store.js';

export interface GreetingGuardOptions {
  nodeIdLength: number;
  /** Closed overlay: writes and removals need a live write grant for the signer at the resource. */
  closed: boolean;
  /**
   * Enrolled overlay: the signer's certificate user name, hashed as a Resource Name, must be the
   * Resource-ID (`hashResourceName`: the overlay's, e.g. chordResourceId of `nodeIdLength` bytes).
   */
  userMatch?: { hashResourceName: (name: Uint8Array) => Uint8Array };
}

export type GreetingGuardCounts = GuardCounts;

export class VoicemailGreetingGuard implements KindGuard {
  readonly counts: GreetingGuardCounts = { kept: 0, removed: 0, refused: 0 };

  constructor(private readonly options: GreetingGuardOptions) {
    if (!Number.isInteger(options.nodeIdLength) || options.nodeIdLength < 1 || options.nodeIdLength > 64) throw new RangeError(`Node-ID length ${options.nodeIdLength}: an integer in [1, 64]`);
  }

  check(r: GuardRequest): GuardDecision {
    return counted(this.counts, r, this.decide(r));
  }

  private decide(r: GuardRequest): GuardDecision {
    const v = r.data.value;
    if (v.model !== 'single') return { ok: false, info: 'P2PSIP-VOICEMAIL-GREETING is a single value' };
    const who = this.mayWrite(r);
    if (who !== undefined) return { ok: false, info: who };
    if (!v.value.exists) return { ok: true, keep: true };
    if (r.data.lifetime > MAX_GREETING_LIFETIME_S) return { ok: false, info: `lifetime ${r.data.lifetime} s is past the ${MAX_GREETING_LIFETIME_S} s a greeting is kept at most` };
    let writer: string;
    try {
      writer = decodeGreetingPointer(v.value.value).writer;
    } catch (e) {
      return { ok: false, info: `not a greeting pointer: ${e instanceof GreetingError ? e.message : String(e)}` };
    }
    if (writer.length !== 2 * this.options.nodeIdLength || !r.signer.nodeIds.some((n) => Buffer.from(n).toString('hex') === writer)) {
      return { ok: false, info: "the greeting's writer is not the signer's Node-ID" };
    }
    return { ok: true, keep: true };
  }

  /** Why the signer may not change this user's greeting, or undefined when it may. */
  private mayWrite(r: GuardRequest): string | undefined {
    const m = this.options.userMatch;
    if (m !== undefined && (r.signer.userName.length === 0 || !bytesEqual(m.hashResourceName(userResourceName(r.signer.userName)), r.resource))) {
      return `a greeting is written by its user: the signer's user name '${r.signer.userName.slice(0, 80)}' is not this Resource Name`;
    }
    if (this.options.closed) {
      const grants = r.current(WRITE_GRANT_KIND_ID);
      if (!r.signer.nodeIds.some((n) => liveGrantUntil(grants, n, r.now) !== undefined)) {
        return "a greeting is written by a peer where its user proved its password (no live write grant for the signer here)";
      }
    }
    return undefined;
  }
}
