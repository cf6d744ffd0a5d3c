/**
 * Voicemail in the overlay (issue 16): how a message left for an absent user is laid out in RELOAD
 * storage, and the client that writes, lists, reads and removes it.
 *
 * Layout. Two p2psip Kinds (private-use range, RFC 6940 §14.6), both USAGE-GUARD (voicemail-guard.ts):
 *
 *   P2PSIP-VOICEMAIL (0xf0000106, dictionary) under the user's Resource Name `user@domain` (the same
 *   Resource-ID as its SIP-REGISTRATION): the index, one entry per voicemail.
 *     key   = writer Node-ID ‖ time ms (uint64 BE) ‖ counter (uint32 BE): unique without
 *             coordination, its writer readable by the storing peer, ordered by time;
 *     value = UTF-8 JSON {v: 1, id, from, date, durationMs, format: 'pcmu', chunks, bytes}, where `id`
 *             is the key in hex, `date` the recording's wall-clock ms, `bytes` the audio's length.
 *     At most MAX_VOICEMAILS_PER_USER live entries per user; lifetime DEFAULT_VOICEMAIL_LIFETIME_S.
 *
 *   P2PSIP-VOICEMAIL-CHUNK (0xf0000107, single value) under `vm:<user@domain>:<id>:<i>`: chunk i of
 *   voicemail <id>, so one message's audio is spread over the ring (one RELOAD message carries at
 *   most 5,000 bytes: a value with its signature and certificate must stay near 3,200).
 *     value = writer Node-ID ‖ at most CHUNK_AUDIO_BYTES of G.711 µ-law (8,000 bytes/s: 0.3 s).
 *     A 120 s message is 400 chunks. Chunks live CHUNK_LIFETIME_MARGIN_S longer than their index
 *     entry (they are written before it). A reader takes a chunk only when its writer prefix is the
 *     Node-ID of the index key: a chunk someone else removed and wrote again is refused.
 *
 * Order. A voicemail is stored chunks first (at most `parallel` Stores in flight), the index entry
 * last: it is visible only whole. A chunk that fails stops the save, no index entry is written and
 * the chunks already written are removed (best effort: the rest expire). Removal is the reverse:
 * the index entry first (a short tombstone), then the chunks.
 *
 * Privacy (enrolled overlays, `sealing`). A fresh content key per voicemail; the index entry carries
 * it (`ck`) and is sealed to the user's certificates (sealed-box.ts) bound to `P2PSIP-VOICEMAIL
 * <user@domain> <id>`; each chunk's audio is AES-256-GCM under that key (IV ‖ ciphertext ‖ tag after
 * the writer's Node-ID), bound to its chunk name: storing peers see the sizes and the writer, never
 * the caller, the date or the audio; only peers enrolled as the user open them. A user the overlay
 * holds no certificate of is no user: nothing is recorded.
 */
import { P2psipError } from '../../lib/errors.js';
import { ReloadErrorCode, type StatKindResponse, type StoredData, type StoredDataValue } from '../../reload/codec/index.js';
import { looksSealed, newContentKey, openWithKey, SEALED_CHUNK_OVERHEAD, sealWithKey } from '../sealing/sealed-box.js';
import type { UserSealing } from '../sealing/user-sealing.js';
import { aorResourceName } from '../sip/aor-resource-id.js';

/** The index Kind (registered-kinds.ts names p2psip's Kinds). */
export const VOICEMAIL_KIND_ID = 0xf0000106;
/** The audio chunk Kind. */
export const VOICEMAIL_CHUNK_KIND_ID = 0xf0000107;

/** Live voicemails kept for one user (the next caller hears nothing recorded: the call fails as it would have). */
export const MAX_VOICEMAILS_PER_USER = 20;
/** Default lifetime of a voicemail, s (30 days). */
export const DEFAULT_VOICEMAIL_LIFETIME_S = 30 * 86_400;
/** Longest lifetime the storing peer accepts for an index entry, s (30 days). */
export const MAX_VOICEMAIL_LIFETIME_S = 30 * 86_400;
/** Chunks outlive their index entry by this much, s (they are written first). */
export const CHUNK_LIFETIME_MARGIN_S = 3600;
/** Lifetime of the tombstones of a removed voicemail, s (every replica learns of it, the box stays small). */
export const VOICEMAIL_TOMBSTONE_S = 600;
/** µ-law bytes per chunk: 0.3 s at 8,000 samples/s. */
export const CHUNK_AUDIO_BYTES = 2400;
/** Longest voicemail, ms. */
export const MAX_VOICEMAIL_MS = 120_000;
/** Chunks of the longest voicemail (400). */
export const MAX_VOICEMAIL_CHUNKS = Math.ceil((MAX_VOICEMAIL_MS * 8) / CHUNK_AUDIO_BYTES);
/** Longest text field of an index entry (the caller's From). */
export const MAX_VOICEMAIL_FIELD = 256;
/** Largest index value. */
export const MAX_INDEX_VALUE_BYTES = 1024;
/** Largest sealed index value (enrolled overlays): the entry and an envelope of up to 4 recipients. */
export const MAX_SEALED_INDEX_VALUE_BYTES = 3300;
/** Dictionary keys per user at the storing peer (live and tombstones): a Stat of the index fits one RELOAD message. */
export const VOICEMAIL_KIND_MAX_COUNT = 40;
/** Bytes after the writer Node-ID in an index key. */
export const KEY_SUFFIX_BYTES = 12;
/** Stores or Fetches of one operation in flight at once (default of VoicemailStoreOptions.parallel). */
export const DEFAULT_STORAGE_PARALLEL = 8;
/** Most index entries fetched for one listing (the rest are left: a Stat shows at most this many keys). */
export const MAX_LISTED = VOICEMAIL_KIND_MAX_COUNT;

export type VoicemailStoreErrorCode = 'VM_BAD_INDEX_VALUE' | 'VM_BAD_CHUNK' | 'VM_BAD_ID';

export class VoicemailStoreError extends P2psipError {
  declare readonly code: VoicemailStoreErrorCode;

  constructor(code: VoicemailStoreErrorCode, message: string) {
    super(code, message);
    this.name = 'VoicemailStoreError';
  }
}

/** One voicemail as its index entry describes it. */
export interface VoicemailEntry {
  /** The dictionary key in hex (writer Node-ID ‖ time ‖ counter). */
  readonly id: string;
  /** The caller: the INVITE's From, tag removed. */
  readonly from: string;
  /** When it was recorded, wall-clock ms. */
  readonly date: number;
  readonly durationMs: number;
  readonly format: 'pcmu';
  readonly chunks: number;
  /** Bytes of µ-law audio (= samples). */
  readonly bytes: number;
  /** Enrolled overlays: the key the chunks are sealed with (only inside a sealed index entry). */
  readonly chunkKey?: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8', { fatal: true });

export function encodeVoicemailEntry(e: VoicemailEntry): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, id: e.id, from: e.from, date: e.date, durationMs: e.durationMs, format: e.format, chunks: e.chunks, bytes: e.bytes, ...(e.chunkKey === undefined ? {} : { ck: Buffer.from(e.chunkKey).toString('base64') }) }));
}

function int(o: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new VoicemailStoreError('VM_BAD_INDEX_VALUE', `field '${name}' is not an integer in [${min}, ${max}]`);
  return v;
}

/** Reads an index value; throws VoicemailStoreError naming what is wrong. */
export function decodeVoicemailEntry(bytes: Uint8Array): VoicemailEntry {
  const bad = (why: string): VoicemailStoreError => new VoicemailStoreError('VM_BAD_INDEX_VALUE', why);
  if (bytes.length > MAX_INDEX_VALUE_BYTES) throw bad(`value of ${bytes.length} bytes, at most ${MAX_INDEX_VALUE_BYTES}`);
  let o: unknown;
  try {
    o = JSON.parse(utf8Decode.decode(bytes));
  } catch {
    throw bad('value is not UTF-8 JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('value is not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.v !== 1) throw bad(`unknown version ${String(r.v)}`);
  if (r.format !== 'pcmu') throw bad(`format ${String(r.format)} is not 'pcmu'`);
  const id = r.id;
  if (typeof id !== 'string' || !/^(?:[0-9a-f]{2}){13,64}$/.test(id)) throw bad("field 'id' is not a key in hex");
  const from = r.from;
  if (typeof from !== 'string' || from.length > MAX_VOICEMAIL_FIELD || /[\u0000-\u001f\u007f]/.test(from)) throw bad(`field 'from' is not a text of at most ${MAX_VOICEMAIL_FIELD} characters`);
  const bytesLen = int(r, 'bytes', 1, MAX_VOICEMAIL_CHUNKS * CHUNK_AUDIO_BYTES);
  const chunks = int(r, 'chunks', 1, MAX_VOICEMAIL_CHUNKS);
  if (chunks !== Math.ceil(bytesLen / CHUNK_AUDIO_BYTES)) throw bad(`${chunks} chunks do not hold ${bytesLen} bytes`);
  let chunkKey: Uint8Array | undefined;
  if (r.ck !== undefined) {
    if (typeof r.ck !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(r.ck)) throw bad("field 'ck' is not a 32-byte key in base64");
    chunkKey = new Uint8Array(Buffer.from(r.ck, 'base64'));
  }
  return { id, from, date: int(r, 'date', 0, Number.MAX_SAFE_INTEGER), durationMs: int(r, 'durationMs', 0, MAX_VOICEMAIL_MS), format: 'pcmu', chunks, bytes: bytesLen, ...(chunkKey === undefined ? {} : { chunkKey }) };
}

/** The dictionary key of a voicemail: writer Node-ID ‖ time ms (u64 BE) ‖ counter (u32 BE). */
export function voicemailKey(writer: Uint8Array, at: number, counter: number): Uint8Array {
  const key = new Uint8Array(writer.length + KEY_SUFFIX_BYTES);
  key.set(writer, 0);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  view.setBigUint64(writer.length, BigInt(Math.max(0, Math.floor(at))));
  view.setUint32(writer.length + 8, counter >>> 0);
  return key;
}

/** The writer Node-ID of an index key, or undefined when the key has the wrong length. */
export function voicemailKeyWriter(key: Uint8Array, nodeIdLength: number): Uint8Array | undefined {
  return key.length === nodeIdLength + KEY_SUFFIX_BYTES ? key.subarray(0, nodeIdLength) : undefined;
}

/** The key of a voicemail id (hex); throws VM_BAD_ID. */
export function keyOfId(id: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2}){13,64}$/.test(id)) throw new VoicemailStoreError('VM_BAD_ID', 'a voicemail id is its key in lowercase hex');
  return new Uint8Array(Buffer.from(id, 'hex'));
}

/** Resource Name of chunk `index` of voicemail `id` of `aor`. */
export function chunkResourceName(aor: string, id: string, index: number): string {
  return `vm:${aorResourceName(aor)}:${id}:${index}`;
}

/** What a sealed index entry is bound to. */
export function indexAad(aor: string, id: string): Uint8Array {
  return utf8.encode(`P2PSIP-VOICEMAIL ${aorResourceName(aor).toLowerCase()} ${id}`);
}

/** What a sealed chunk is bound to (its place: a chunk moved to another index or voicemail does not open). */
export function chunkAad(aor: string, id: string, index: number): Uint8Array {
  return utf8.encode(`P2PSIP-VOICEMAIL-CHUNK ${aorResourceName(aor).toLowerCase()} ${id} ${index}`);
}

/** A chunk's value: the writer's Node-ID, then the audio (sealed: IV ‖ ciphertext ‖ tag of it). */
export function encodeChunk(writer: Uint8Array, audio: Uint8Array, sealed = false): Uint8Array {
  const max = CHUNK_AUDIO_BYTES + (sealed ? SEALED_CHUNK_OVERHEAD : 0);
  const min = 1 + (sealed ? SEALED_CHUNK_OVERHEAD : 0);
  if (audio.length < min || audio.length > max) throw new VoicemailStoreError('VM_BAD_CHUNK', `a chunk holds ${min} to ${max} bytes of audio, not ${audio.length}`);
  const out = new Uint8Array(writer.length + audio.length);
  out.set(writer, 0);
  out.set(audio, writer.length);
  return out;
}

/** Splits a chunk's value; throws VM_BAD_CHUNK when it cannot be one (`sealed`: IV, audio and tag after the Node-ID). */
export function decodeChunk(value: Uint8Array, nodeIdLength: number, sealed = false): { writer: Uint8Array; audio: Uint8Array } {
  const extra = sealed ? SEALED_CHUNK_OVERHEAD : 0;
  if (value.length <= nodeIdLength + extra || value.length > nodeIdLength + CHUNK_AUDIO_BYTES + extra) {
    throw new VoicemailStoreError('VM_BAD_CHUNK', `a ${sealed ? 'sealed ' : ''}chunk is a Node-ID and ${1 + extra} to ${CHUNK_AUDIO_BYTES + extra} bytes (${nodeIdLength + 1 + extra}..${nodeIdLength + CHUNK_AUDIO_BYTES + extra} bytes), not ${value.length}`);
  }
  return { writer: value.subarray(0, nodeIdLength), audio: value.subarray(nodeIdLength) };
}

type Failure = { ok: false; errorCode: number; info: string };

/** The part of the overlay's storage client used here (OverlayStorage fits; = MessageBoxStorage). */
export interface VoicemailStorage {
  store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
  fetch(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure>;
  stat(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; kind: StatKindResponse | undefined } | Failure>;
}

export interface VoicemailStoreDeps {
  storage: VoicemailStorage;
  /** Our Node-ID: the first part of every key and chunk we write. */
  selfNodeId: Uint8Array;
  /** Wall-clock ms (keys, dates, expiry of what we read). */
  wallClock: () => number;
  /** Enrolled overlays: index entries sealed to the user's certificates, chunks under the entry's key. */
  sealing?: UserSealing;
}

export interface VoicemailStoreOptions {
  /** Lifetime of a voicemail, s (default 30 days; 60..MAX_VOICEMAIL_LIFETIME_S). */
  lifetimeS: number;
  /** Stores or Fetches of one operation in flight (default 8; 1..32). */
  parallel: number;
}

export const DEFAULT_VOICEMAIL_STORE_OPTIONS: Readonly<VoicemailStoreOptions> = Object.freeze({ lifetimeS: DEFAULT_VOICEMAIL_LIFETIME_S, parallel: DEFAULT_STORAGE_PARALLEL });

/** What a save ended in: 'full' is the storing peer's quota (Error_Data_Too_Large). */
export type SaveResult = { ok: true; entry: VoicemailEntry } | { ok: false; reason: 'full' | 'failed' | 'no-user'; info: string };
export type ListResult = { ok: true; entries: VoicemailEntry[] } | { ok: false; info: string };
export type AudioResult = { ok: true; audio: Uint8Array } | { ok: false; reason: 'missing' | 'failed'; info: string };
export type RemoveResult = { ok: true } | { ok: false; reason: 'forbidden' | 'failed'; info: string };

/** Runs `fn` on every item with at most `limit` in flight; stops starting new ones once one returns false. */
export async function runBounded<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<boolean>): Promise<boolean> {
  let next = 0;
  let ok = true;
  const worker = async (): Promise<void> => {
    while (ok && next < items.length) {
      const i = next++;
      let good: boolean;
      try {
        good = await fn(items[i]!, i);
      } catch {
        good = false;
      }
      if (!good) ok = false;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return ok;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export class VoicemailStore {
  private readonly options: VoicemailStoreOptions;
  private counter = 0;

  constructor(
    private readonly deps: VoicemailStoreDeps,
    options: Partial<VoicemailStoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_VOICEMAIL_STORE_OPTIONS, ...options };
    const { lifetimeS, parallel } = this.options;
    if (!Number.isInteger(lifetimeS) || lifetimeS < 60 || lifetimeS > MAX_VOICEMAIL_LIFETIME_S) throw new RangeError(`voicemail lifetime ${lifetimeS} s: an integer in [60, ${MAX_VOICEMAIL_LIFETIME_S}]`);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) throw new RangeError(`voicemail storage parallelism ${parallel}: an integer in [1, 32]`);
  }

  private get nodeIdLength(): number {
    return this.deps.selfNodeId.length;
  }

  /** Stores a voicemail of µ-law `audio` for `aor`: chunks first, the index entry last. */
  async save(aor: string, m: { from: string; durationMs: number; audio: Uint8Array }): Promise<SaveResult> {
    const maxBytes = MAX_VOICEMAIL_CHUNKS * CHUNK_AUDIO_BYTES;
    if (m.audio.length === 0 || m.audio.length > maxBytes) return { ok: false, reason: 'failed', info: `audio of ${m.audio.length} bytes: 1 to ${maxBytes}` };
    const date = Math.floor(this.deps.wallClock());
    this.counter = (this.counter + 1) >>> 0;
    const key = voicemailKey(this.deps.selfNodeId, date, this.counter);
    const id = hex(key);
    const from = m.from.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_VOICEMAIL_FIELD);
    const chunks = Math.ceil(m.audio.length / CHUNK_AUDIO_BYTES);
    const sealing = this.deps.sealing;
    const plainEntry: VoicemailEntry = { id, from, date, durationMs: Math.min(MAX_VOICEMAIL_MS, Math.max(0, Math.round(m.durationMs))), format: 'pcmu', chunks, bytes: m.audio.length };
    const entry: VoicemailEntry = sealing === undefined ? plainEntry : { ...plainEntry, chunkKey: newContentKey() };
    let indexValue = encodeVoicemailEntry(entry);
    if (sealing !== undefined) {
      // sealed first: a user without a certificate gets nothing written
      const sealed = await sealing.seal(aor, indexValue, indexAad(aor, id));
      if (!sealed.ok) return { ok: false, reason: sealed.reason === 'no-certificate' ? 'no-user' : 'failed', info: sealed.info };
      indexValue = sealed.sealed;
    }
    const indexes = Array.from({ length: chunks }, (_, i) => i);
    const written: number[] = [];
    let failure = '';
    const chunkLifetime = this.options.lifetimeS + CHUNK_LIFETIME_MARGIN_S;
    const whole = await runBounded(indexes, this.options.parallel, async (i) => {
      const audio = m.audio.subarray(i * CHUNK_AUDIO_BYTES, (i + 1) * CHUNK_AUDIO_BYTES);
      const piece = entry.chunkKey === undefined ? audio : sealWithKey(entry.chunkKey, audio, chunkAad(aor, id, i));
      const value: StoredDataValue = { model: 'single', value: { exists: true, value: encodeChunk(this.deps.selfNodeId, piece, entry.chunkKey !== undefined) } };
      const r = await this.deps.storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: chunkResourceName(aor, id, i) }, [value], { lifetime: chunkLifetime });
      if (r.ok) written.push(i);
      else if (failure === '') failure = `chunk ${i}: ${r.info}`;
      return r.ok;
    });
    if (!whole) {
      await this.removeChunks(aor, id, written);
      return { ok: false, reason: 'failed', info: failure || 'a chunk could not be stored' };
    }
    const value: StoredDataValue = { model: 'dictionary', key, value: { exists: true, value: indexValue } };
    const r = await this.deps.storage.store(VOICEMAIL_KIND_ID, { resourceName: aorResourceName(aor) }, [value], { lifetime: this.options.lifetimeS });
    if (r.ok) return { ok: true, entry };
    await this.removeChunks(aor, id, written);
    return { ok: false, reason: r.errorCode === ReloadErrorCode.DataTooLarge ? 'full' : 'failed', info: r.info };
  }

  /** The live index keys of `aor` (a Stat: keys only), oldest first. */
  async keys(aor: string): Promise<{ ok: true; keys: Uint8Array[] } | { ok: false; info: string }> {
    const listed = await this.deps.storage.stat(VOICEMAIL_KIND_ID, { resourceName: aorResourceName(aor) }, { keys: [] });
    if (!listed.ok) return listed.errorCode === ReloadErrorCode.NotFound ? { ok: true, keys: [] } : { ok: false, info: listed.info };
    const now = this.deps.wallClock();
    const keys: Uint8Array[] = [];
    for (const m of listed.kind?.values ?? []) {
      const v = m.metadata;
      if (v.model !== 'dictionary' || !v.value.exists || voicemailKeyWriter(v.key, this.nodeIdLength) === undefined) continue;
      if (Number(m.storageTime) + m.lifetime * 1000 <= now) continue;
      keys.push(v.key);
    }
    keys.sort(compareKeys);
    return { ok: true, keys: keys.slice(0, MAX_LISTED) };
  }

  /** The voicemails of `aor`, oldest first (a Stat, then one Fetch per entry, `parallel` at once). */
  async list(aor: string): Promise<ListResult> {
    const k = await this.keys(aor);
    if (!k.ok) return k;
    const found: Array<VoicemailEntry | undefined> = new Array(k.keys.length);
    let failure: string | undefined;
    await runBounded(k.keys, this.options.parallel, async (key, i) => {
      const r = await this.entry(aor, key);
      if (r === 'failed') failure ??= 'an index entry could not be fetched';
      else found[i] = r;
      return true;
    });
    const entries = found.filter((e): e is VoicemailEntry => e !== undefined);
    if (failure !== undefined && entries.length === 0 && k.keys.length > 0) return { ok: false, info: failure };
    return { ok: true, entries };
  }

  /** One index entry, undefined when gone or unreadable. */
  async entry(aor: string, key: Uint8Array): Promise<VoicemailEntry | undefined | 'failed'> {
    const res = await this.deps.storage.fetch(VOICEMAIL_KIND_ID, { resourceName: aorResourceName(aor) }, { keys: [key] });
    if (!res.ok) return res.errorCode === ReloadErrorCode.NotFound ? undefined : 'failed';
    const id = hex(key);
    const now = this.deps.wallClock();
    for (const { data } of res.values) {
      const v = data.value;
      if (v.model !== 'dictionary' || !v.value.exists || hex(v.key) !== id) continue;
      if (Number(data.storageTime) + data.lifetime * 1000 <= now) return undefined;
      try {
        let bytes: Uint8Array | undefined = v.value.value;
        // sealed: opened only by a peer enrolled as the user (another's key, or a moved value, does not open)
        if (looksSealed(bytes)) bytes = this.deps.sealing?.open(bytes, indexAad(aor, id));
        if (bytes === undefined) return undefined;
        const e = decodeVoicemailEntry(bytes);
        return e.id === id ? e : undefined; // an entry that names another key is not this one
      } catch {
        return undefined; // the storing peer checked it; what we cannot read is left to expire
      }
    }
    return undefined;
  }

  /** The µ-law audio of a voicemail: its chunks, `parallel` Fetches at once, each from the index key's writer. */
  async audio(aor: string, entry: VoicemailEntry): Promise<AudioResult> {
    const writer = keyOfId(entry.id).subarray(0, this.nodeIdLength);
    const out = new Uint8Array(entry.bytes);
    let problem: { reason: 'missing' | 'failed'; info: string } | undefined;
    const indexes = Array.from({ length: entry.chunks }, (_, i) => i);
    const whole = await runBounded(indexes, this.options.parallel, async (i) => {
      const res = await this.deps.storage.fetch(VOICEMAIL_CHUNK_KIND_ID, { resourceName: chunkResourceName(aor, entry.id, i) });
      if (!res.ok) {
        problem ??= res.errorCode === ReloadErrorCode.NotFound ? { reason: 'missing', info: `chunk ${i} is gone` } : { reason: 'failed', info: `chunk ${i}: ${res.info}` };
        return false;
      }
      const v = res.values[0]?.data.value;
      if (v === undefined || v.model !== 'single' || !v.value.exists) {
        problem ??= { reason: 'missing', info: `chunk ${i} is gone` };
        return false;
      }
      try {
        const c = decodeChunk(v.value.value, this.nodeIdLength, entry.chunkKey !== undefined);
        if (entry.chunkKey !== undefined) c.audio = openWithKey(entry.chunkKey, c.audio, chunkAad(aor, entry.id, i));
        const want = i === entry.chunks - 1 ? entry.bytes - i * CHUNK_AUDIO_BYTES : CHUNK_AUDIO_BYTES;
        if (hex(c.writer) !== hex(writer)) throw new VoicemailStoreError('VM_BAD_CHUNK', `chunk ${i} was written by another peer than the voicemail`);
        if (c.audio.length !== want) throw new VoicemailStoreError('VM_BAD_CHUNK', `chunk ${i} holds ${c.audio.length} bytes, ${want} expected`);
        out.set(c.audio, i * CHUNK_AUDIO_BYTES);
        return true;
      } catch (e) {
        problem ??= { reason: 'missing', info: e instanceof Error ? e.message : String(e) };
        return false;
      }
    });
    if (!whole) return { ok: false, ...(problem ?? { reason: 'failed', info: 'a chunk could not be read' }) };
    return { ok: true, audio: out };
  }

  /**
   * Removes a voicemail: the index entry (a tombstone of VOICEMAIL_TOMBSTONE_S), then its chunks
   * (best effort: a chunk whose removal fails expires). `entry` known: its chunk count; else fetched.
   */
  async remove(aor: string, id: string, entry?: VoicemailEntry): Promise<RemoveResult> {
    const key = keyOfId(id);
    let e = entry;
    if (e === undefined) {
      const found = await this.entry(aor, key);
      if (found !== 'failed') e = found;
    }
    const value: StoredDataValue = { model: 'dictionary', key, value: { exists: false, value: new Uint8Array(0) } };
    const r = await this.deps.storage.store(VOICEMAIL_KIND_ID, { resourceName: aorResourceName(aor) }, [value], { lifetime: VOICEMAIL_TOMBSTONE_S });
    if (!r.ok) return { ok: false, reason: r.errorCode === ReloadErrorCode.Forbidden ? 'forbidden' : 'failed', info: r.info };
    if (e !== undefined) await this.removeChunks(aor, id, Array.from({ length: e.chunks }, (_, i) => i));
    return { ok: true };
  }

  private async removeChunks(aor: string, id: string, indexes: readonly number[]): Promise<void> {
    const gone: StoredDataValue = { model: 'single', value: { exists: false, value: new Uint8Array(0) } };
    await runBounded(indexes, this.options.parallel, async (i) => {
      await this.deps.storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: chunkResourceName(aor, id, i) }, [gone], { lifetime: VOICEMAIL_TOMBSTONE_S });
      return true; // best effort: a chunk left expires with its lifetime
    });
  }
}

/** Index keys in time order (then counter, then writer). */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ta = va.getBigUint64(a.length - KEY_SUFFIX_BYTES);
  const tb = vb.getBigUint64(b.length - KEY_SUFFIX_BYTES);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ca = va.getUint32(a.length - 4);
  const cb = vb.getUint32(b.length - 4);
  if (ca !== cb) return ca - cb;
  const ha = hex(a);
  const hb = hex(b);
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}
