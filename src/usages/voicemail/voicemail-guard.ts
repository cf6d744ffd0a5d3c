/**
 * The storing peer's rules for voicemail (issue 16; USAGE-GUARD Kinds, reload/storage/kind-guard.ts;
 * the layout is voicemail-store.ts's):
 *
 * P2PSIP-VOICEMAIL (the index, a dictionary under `user@domain`):
 * - a new entry: the key is the signer's Node-ID and 12 bytes, the value reads as an index entry
 *   whose id is that key, its lifetime is at most MAX_VOICEMAIL_LIFETIME_S, and the user has fewer
 *   than `perUser` live voicemails (else Error_Data_Too_Large "mailbox full");
 * - a removal (exists = false): by its writer; or, in a closed overlay, by a peer holding a live
 *   write grant for the user here (the peer where the user proved its password: where it
 *   registered, where it calls the mailbox); in an open overlay by any peer (nothing is proven there).
 *
 * P2PSIP-VOICEMAIL-CHUNK (a single value under `vm:<user@domain>:<id>:<i>`):
 * - a new chunk: the value is the signer's Node-ID and 1..CHUNK_AUDIO_BYTES of audio, its lifetime
 *   at most MAX_VOICEMAIL_LIFETIME_S + CHUNK_LIFETIME_MARGIN_S; a live chunk is replaced only by its
 *   writer;
 * - a removal: by anyone. Whether the remover may remove the voicemail cannot be checked here (the
 *   user's write grants live at another Resource-ID), and a chunk without its index entry is
 *   unreachable garbage that expires. A reader takes a chunk only from the index key's writer, so
 *   a chunk removed and written again by someone else is not played.
 *
 * Enrolled overlays (option `sealed`, voicemail-store.ts "Privacy"): a new index entry must be a sealed
 * value (its envelope is checked, its content cannot be: the reader checks the id it is bound to) of
 * at most MAX_SEALED_INDEX_VALUE_BYTES, a removal comes from its writer or a peer enrolled as the user
 * (certificate user name → this Resource-ID); chunks must be sealed pieces (IV and tag around the audio).
 *
 * Replicas and hand-overs are not asked (their responsible peer was).
 */
import { ReloadErrorCode } from '../../reload/codec/index.js';
import { entryKey, liveGrantUntil, WRITE_GRANT_KIND_ID, type GuardDecision, type GuardRequest, type KindGuard } from '../../reload/storage/index.js';
import { counted, signerIsResourceUser, type GuardCounts } from '../guard-support.js';
import { bytesEqual } from '../../lib/bytes.js';
export type { GuardCounts } from '../guard-support.js';
import { readSealedHeader, SealedBoxError } from '../sealing/sealed-box.js';
import {
  CHUNK_AUDIO_BYTES,
  CHUNK_LIFETIME_MARGIN_S,
  decodeChunk,
  decodeVoicemailEntry,
  KEY_SUFFIX_BYTES,
  MAX_VOICEMAIL_LIFETIME_S,
  MAX_SEALED_INDEX_VALUE_BYTES,
  MAX_VOICEMAILS_PER_USER,
  VoicemailStoreError,
  voicemailKeyWriter,
} from './voicemail-store.js';

export interface VoicemailGuardOptions {
  nodeIdLength: number;
  /** Closed overlay: index removals by other peers need a write grant; open: anyone may remove. */
  closed: boolean;
  /** Live voicemails per user (default MAX_VOICEMAILS_PER_USER; 1..1000). */
  perUser?: number;
  /** Enrolled overlays: sealed values only; the user's own peers (certificate user name → Resource-ID) may remove. */
  sealed?: { userResourceId(userName: string): Uint8Array };
}

/** The guard of P2PSIP-VOICEMAIL (the index). */
export class VoicemailIndexGuard implements KindGuard {
  readonly counts: GuardCounts = { kept: 0, removed: 0, refused: 0 };
  private readonly perUser: number;

  constructor(private readonly options: VoicemailGuardOptions) {
    this.perUser = options.perUser ?? MAX_VOICEMAILS_PER_USER;
    if (!Number.isInteger(this.perUser) || this.perUser < 1 || this.perUser > 1000) throw new RangeError(`voicemails per user ${this.perUser}: an integer in [1, 1000]`);
  }

  check(r: GuardRequest): GuardDecision {
    return counted(this.counts, r, this.decide(r));
  }

  private decide(r: GuardRequest): GuardDecision {
    const v = r.data.value;
    if (v.model !== 'dictionary') return { ok: false, info: 'P2PSIP-VOICEMAIL is a dictionary' };
    const writer = voicemailKeyWriter(v.key, this.options.nodeIdLength);
    if (writer === undefined) return { ok: false, info: `a voicemail key is a Node-ID and ${KEY_SUFFIX_BYTES} bytes (${this.options.nodeIdLength + KEY_SUFFIX_BYTES}), not ${v.key.length}` };
    const byWriter = r.signer.nodeIds.some((n) => bytesEqual(n, writer));
    const sealed = this.options.sealed;
    if (!v.value.exists) {
      if (byWriter || (sealed === undefined && !this.options.closed)) return { ok: true, keep: true };
      if (sealed !== undefined) {
        if (signerIsResourceUser(r, (u) => sealed.userResourceId(u))) return { ok: true, keep: true };
        return { ok: false, info: 'a voicemail is removed by its writer or by a peer enrolled as its user' };
      }
      const grants = r.current(WRITE_GRANT_KIND_ID);
      if (r.signer.nodeIds.some((n) => liveGrantUntil(grants, n, r.now) !== undefined)) return { ok: true, keep: true };
      return { ok: false, info: 'a voicemail is removed by its writer or by a peer where its user registered (no write grant for the signer here)' };
    }
    if (!byWriter) return { ok: false, info: "the voicemail key does not name the signer's Node-ID" };
    if (r.data.lifetime > MAX_VOICEMAIL_LIFETIME_S) return { ok: false, info: `lifetime ${r.data.lifetime} s is past the ${MAX_VOICEMAIL_LIFETIME_S} s a voicemail is kept at most` };
    try {
      if (sealed !== undefined) {
        if (v.value.value.length > MAX_SEALED_INDEX_VALUE_BYTES) return { ok: false, info: `a sealed index entry of ${v.value.value.length} bytes, at most ${MAX_SEALED_INDEX_VALUE_BYTES}` };
        readSealedHeader(v.value.value);
      } else {
        const e = decodeVoicemailEntry(v.value.value);
        if (e.id !== Buffer.from(v.key).toString('hex')) return { ok: false, info: 'the index entry names another key than its own' };
        if (e.chunkKey !== undefined) return { ok: false, info: 'a chunk key is kept only inside a sealed entry' };
      }
    } catch (e) {
      return { ok: false, info: `not a voicemail index entry: ${e instanceof VoicemailStoreError || e instanceof SealedBoxError ? e.message : String(e)}` };
    }
    const record = r.current(r.kind.id);
    if (record?.entries.get(entryKey(v))?.data.value.value.exists === true) return { ok: true, keep: true }; // the writer storing it again
    let live = 0;
    for (const e of record?.entries.values() ?? []) if (e.data.value.value.exists && e.expiresAt > r.now) live++;
    if (live >= this.perUser) {
      return { ok: false, code: ReloadErrorCode.DataTooLarge, info: `mailbox full: ${live} voicemails are kept for this user (at most ${this.perUser})` };
    }
    return { ok: true, keep: true };
  }
}

/** The guard of P2PSIP-VOICEMAIL-CHUNK (the audio). */
export class VoicemailChunkGuard implements KindGuard {
  readonly counts: GuardCounts = { kept: 0, removed: 0, refused: 0 };

  /** `sealed` (enrolled overlays): chunks are sealed pieces. */
  constructor(private readonly options: { nodeIdLength: number; sealed?: boolean }) {}

  check(r: GuardRequest): GuardDecision {
    return counted(this.counts, r, this.decide(r));
  }

  private decide(r: GuardRequest): GuardDecision {
    const v = r.data.value;
    if (v.model !== 'single') return { ok: false, info: 'P2PSIP-VOICEMAIL-CHUNK is a single value' };
    if (!v.value.exists) return { ok: true, keep: true };
    const maxLifetime = MAX_VOICEMAIL_LIFETIME_S + CHUNK_LIFETIME_MARGIN_S;
    if (r.data.lifetime > maxLifetime) return { ok: false, info: `lifetime ${r.data.lifetime} s is past the ${maxLifetime} s a voicemail chunk is kept at most` };
    let writer: Uint8Array;
    try {
      writer = decodeChunk(v.value.value, this.options.nodeIdLength, this.options.sealed === true).writer;
    } catch (e) {
      return { ok: false, info: e instanceof VoicemailStoreError ? e.message : `not a chunk of at most ${CHUNK_AUDIO_BYTES} bytes of audio` };
    }
    if (!r.signer.nodeIds.some((n) => bytesEqual(n, writer))) return { ok: false, info: "the chunk does not begin with the signer's Node-ID" };
    for (const e of r.current(r.kind.id)?.entries.values() ?? []) {
      const held = e.data.value.value;
      if (!held.exists || e.expiresAt <= r.now || held.value.length < this.options.nodeIdLength) continue;
      if (!bytesEqual(held.value.subarray(0, this.options.nodeIdLength), writer)) return { ok: false, info: 'a voicemail chunk is replaced only by its writer' };
    }
    return { ok: true, keep: true };
  }
}
