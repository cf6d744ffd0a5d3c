/**
 * The storing peer's rules for P2PSIP-MESSAGE (issue 16; a USAGE-GUARD Kind, reload/storage/kind-guard.ts):
 *
 * - a new message: the key names the signer's Node-ID (a peer writes only its own entries), the value
 *   reads as a kept message, its lifetime is at most MAX_KEPT_LIFETIME_S, and the recipient has fewer
 *   than `perRecipient` live messages (else Error_Data_Too_Large "message box full");
 * - a removal (exists = false, a delivered message): by its writer; or, in a closed overlay, by a peer
 *   holding a live write grant for the recipient here — the peer where the recipient proved its
 *   password, i.e. where it registered; in an open overlay by any peer (nothing is proven there);
 * - enrolled overlays (option `sealed`): a new message must be a sealed value (sealed-box.ts: encrypted
 *   to the recipient's certificates; its content is not readable here, its envelope is checked), and a
 *   removal is accepted from its writer or from a peer enrolled as the recipient (its certificate's user
 *   name is this Resource Name), not from anyone.
 *
 * Replicas and hand-overs are not asked (their responsible peer was).
 */
import { ReloadErrorCode } from '../../reload/codec/index.js';
import { entryKey, liveGrantUntil, WRITE_GRANT_KIND_ID, type GuardDecision, type GuardRequest, type KindGuard } from '../../reload/storage/index.js';
import { counted, signerIsResourceUser, type GuardCounts } from '../guard-support.js';
import { bytesEqual } from '../../lib/bytes.js';
import { readSealedHeader, SealedBoxError } from '../sealing/sealed-box.js';
import { decodeKeptMessage, keyWriter, MAX_KEPT_LIFETIME_S, MAX_KEPT_PER_RECIPIENT, MAX_KEPT_VALUE_BYTES, MessageBoxError } from './message-box.js';

export interface MessageBoxGuardOptions {
  nodeIdLength: number;
  /** Closed overlay: removals by other peers need a write grant; open: anyone may remove. */
  closed: boolean;
  perRecipient?: number;
  /**
   * Enrolled overlays: values are sealed to the recipient, and the recipient's own peers (certificate
   * user name → this Resource-ID, `userResourceId`) may remove them.
   */
  sealed?: { userResourceId(userName: string): Uint8Array };
}



export class MessageBoxGuard implements KindGuard {
  readonly counts: GuardCounts = { kept: 0, removed: 0, refused: 0 };
  private readonly perRecipient: number;

  constructor(private readonly options: MessageBoxGuardOptions) {
    this.perRecipient = options.perRecipient ?? MAX_KEPT_PER_RECIPIENT;
  }

  check(r: GuardRequest): GuardDecision {
    return counted(this.counts, r, this.decide(r));
  }

  private decide(r: GuardRequest): GuardDecision {
    const v = r.data.value;
    if (v.model !== 'dictionary') return { ok: false, info: 'P2PSIP-MESSAGE is a dictionary' };
    const writer = keyWriter(v.key, this.options.nodeIdLength);
    if (writer === undefined) return { ok: false, info: `a message key is a Node-ID and 12 bytes (${this.options.nodeIdLength + 12}), not ${v.key.length}` };
    const byWriter = r.signer.nodeIds.some((n) => bytesEqual(n, writer));
    if (!v.value.exists) {
      const sealed = this.options.sealed;
      if (byWriter || (sealed === undefined && !this.options.closed)) return { ok: true, keep: true };
      if (sealed !== undefined) {
        if (signerIsResourceUser(r, (u) => sealed.userResourceId(u))) return { ok: true, keep: true };
        return { ok: false, info: "a kept message is removed by its writer or by a peer enrolled as its recipient" };
      }
      const grants = r.current(WRITE_GRANT_KIND_ID);
      if (r.signer.nodeIds.some((n) => liveGrantUntil(grants, n, r.now) !== undefined)) return { ok: true, keep: true };
      return { ok: false, info: "a kept message is removed by its writer or by a peer where its recipient registered (no write grant for the signer here)" };
    }
    if (!byWriter) return { ok: false, info: "the message key does not name the signer's Node-ID" };
    if (r.data.lifetime > MAX_KEPT_LIFETIME_S) return { ok: false, info: `lifetime ${r.data.lifetime} s is past the ${MAX_KEPT_LIFETIME_S} s a message is kept at most` };
    try {
      if (this.options.sealed === undefined) decodeKeptMessage(v.value.value);
      else {
        if (v.value.value.length > MAX_KEPT_VALUE_BYTES) return { ok: false, info: `a sealed message of ${v.value.value.length} bytes, at most ${MAX_KEPT_VALUE_BYTES}` };
        readSealedHeader(v.value.value);
      }
    } catch (e) {
      return { ok: false, info: `not a kept message: ${e instanceof MessageBoxError || e instanceof SealedBoxError ? e.message : String(e)}` };
    }
    const record = r.current(r.kind.id);
    if (record?.entries.has(entryKey(v)) === true) return { ok: true, keep: true }; // the writer storing it again
    let live = 0;
    for (const e of record?.entries.values() ?? []) if (e.data.value.value.exists && e.expiresAt > r.now) live++;
    if (live >= this.perRecipient) {
      return { ok: false, code: ReloadErrorCode.DataTooLarge, info: `message box full: ${live} messages are kept for this user (at most ${this.perRecipient})` };
    }
    return { ok: true, keep: true };
  }
}
