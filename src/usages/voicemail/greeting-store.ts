/**
 * A user's own voicemail greeting in the overlay (issue 16: "plays a greeting — a default one,
 * generated; users can record their own"), and the client that writes, reads and removes it.
 *
 * Layout. Public (callers' peers play it: nothing is encrypted):
 *
 *   P2PSIP-VOICEMAIL-GREETING (0xf000010a, single value, USAGE-GUARD: greeting-guard.ts) under the
 *   user's Resource Name `user@domain` (the Resource-ID of its SIP-REGISTRATION, where a closed
 *   overlay's P2PSIP-WRITE-GRANTs live): the pointer,
 *     value = UTF-8 JSON {v: 1, id, writer, durationMs, format: 'pcmu', chunks, bytes}, `id` 16 random
 *             bytes in hex, `writer` the writing peer's Node-ID in hex.
 *   The audio, G.711 µ-law, in the existing P2PSIP-VOICEMAIL-CHUNK Kind (voicemail-store.ts's chunk
 *   value: writer Node-ID ‖ at most CHUNK_AUDIO_BYTES of audio) under `vmg:<user@domain>:<id>:<i>`.
 *   At most MAX_GREETING_MS (20 s: 160,000 bytes, 67 chunks). Every chunk holds at least
 *   MIN_CHUNK_AUDIO_BYTES (a tail shorter than that, under 8 ms, is dropped): an enrolled overlay's
 *   chunk guard takes only values at least as long as a sealed piece (IV and tag around the audio).
 *
 * Order. Chunks first (`parallel` Stores in flight), the pointer last: a greeting is visible only
 * whole. A chunk that fails stops the save and the chunks written are removed (best effort). Replacing
 * a greeting writes a new id, then removes the old chunks (best effort: the rest expire). Removal:
 * the pointer (a short tombstone), then its chunks.
 *
 * Lifetime. The chunk Kind's guard keeps a chunk at most MAX_VOICEMAIL_LIFETIME_S (30 days) and an
 * hour, so a greeting lives DEFAULT_GREETING_LIFETIME_S (30 days). {@link GreetingStore.renew} stores it
 * again (new id) once less than RENEW_BEFORE_S is left: the voicemail service calls it when the user
 * opens its mailbox. A greeting whose user never calls the mailbox for 30 days is gone: the default
 * greeting plays again and the user records it anew.
 *
 * Reading. One Fetch of the pointer on every load (a new greeting is heard at once); the audio is
 * cached by (user, id) for at most `cacheSize` greetings. A reader takes a chunk only when its writer
 * prefix is the pointer's writer.
 */
import { P2psipError } from '../../lib/errors.js';
import type { Random } from '../../lib/random.js';
import { ReloadErrorCode, type StoredDataValue } from '../../reload/codec/index.js';
import { aorResourceName } from '../sip/aor-resource-id.js';
import {
  CHUNK_AUDIO_BYTES,
  CHUNK_LIFETIME_MARGIN_S,
  DEFAULT_STORAGE_PARALLEL,
  MAX_VOICEMAIL_LIFETIME_S,
  VOICEMAIL_CHUNK_KIND_ID,
  VOICEMAIL_TOMBSTONE_S,
  decodeChunk,
  encodeChunk,
  runBounded,
  type VoicemailStorage,
} from './voicemail-store.js';

/** The greeting pointer Kind (= P2PSIP_VOICEMAIL_GREETING_KIND_ID of reload/config/registered-kinds.ts). */
export const GREETING_KIND_ID = 0xf000010a;
/** Longest greeting, ms. */
export const MAX_GREETING_MS = 20_000;
/** µ-law bytes of the longest greeting (8,000 a second). */
export const MAX_GREETING_BYTES = MAX_GREETING_MS * 8;
/** Chunks of the longest greeting (67). */
export const MAX_GREETING_CHUNKS = Math.ceil(MAX_GREETING_BYTES / CHUNK_AUDIO_BYTES);
/** Fewest audio bytes in a chunk of a greeting (8 ms; more than a sealed piece's IV and tag). */
export const MIN_CHUNK_AUDIO_BYTES = 64;
/** Longest lifetime of a pointer the guard takes, s: the chunks' (30 days; they live an hour longer). */
export const MAX_GREETING_LIFETIME_S = MAX_VOICEMAIL_LIFETIME_S;
/** Lifetime of a greeting, s (30 days). */
export const DEFAULT_GREETING_LIFETIME_S = MAX_GREETING_LIFETIME_S;
/** {@link GreetingStore.renew} stores the greeting again once less than this is left, s (20 days). */
export const RENEW_BEFORE_S = 20 * 86_400;
/** Largest pointer value, bytes. */
export const MAX_GREETING_VALUE_BYTES = 512;
/** Bytes of a greeting id (hex: twice as many characters). */
export const GREETING_ID_BYTES = 16;
/** Greetings whose audio is kept in memory (default of GreetingStoreOptions.cacheSize). */
export const DEFAULT_GREETING_CACHE = 16;

export type GreetingErrorCode = 'VM_BAD_GREETING';

export class GreetingError extends P2psipError {
  declare readonly code: GreetingErrorCode;

  constructor(message: string) {
    super('VM_BAD_GREETING', message);
    this.name = 'GreetingError';
  }
}

/** What the pointer says. */
export interface GreetingPointer {
  /** 16 bytes in lowercase hex: names the chunks. */
  readonly id: string;
  /** The Node-ID of the peer that wrote it (and its chunks), lowercase hex. */
  readonly writer: string;
  readonly durationMs: number;
  readonly format: 'pcmu';
  readonly chunks: number;
  /** Bytes of µ-law audio (= samples). */
  readonly bytes: number;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8', { fatal: true });
const ID_RE = new RegExp(`^[0-9a-f]{${2 * GREETING_ID_BYTES}}$`);
const WRITER_RE = /^(?:[0-9a-f]{2}){1,64}$/;

export function encodeGreetingPointer(g: GreetingPointer): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, id: g.id, writer: g.writer, durationMs: g.durationMs, format: g.format, chunks: g.chunks, bytes: g.bytes }));
}

function int(o: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new GreetingError(`field '${name}' is not an integer in [${min}, ${max}]`);
  return v;
}

/** Reads a pointer value; throws GreetingError naming what is wrong. */
export function decodeGreetingPointer(bytes: Uint8Array): GreetingPointer {
  if (bytes.length > MAX_GREETING_VALUE_BYTES) throw new GreetingError(`value of ${bytes.length} bytes, at most ${MAX_GREETING_VALUE_BYTES}`);
  let o: unknown;
  try {
    o = JSON.parse(utf8Decode.decode(bytes));
  } catch {
    throw new GreetingError('value is not UTF-8 JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new GreetingError('value is not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.v !== 1) throw new GreetingError(`unknown version ${String(r.v)}`);
  if (r.format !== 'pcmu') throw new GreetingError(`format ${String(r.format)} is not 'pcmu'`);
  if (typeof r.id !== 'string' || !ID_RE.test(r.id)) throw new GreetingError(`field 'id' is not ${GREETING_ID_BYTES} bytes in lowercase hex`);
  if (typeof r.writer !== 'string' || !WRITER_RE.test(r.writer)) throw new GreetingError("field 'writer' is not a Node-ID in lowercase hex");
  const bytesLen = int(r, 'bytes', 1, MAX_GREETING_BYTES);
  const chunks = int(r, 'chunks', 1, MAX_GREETING_CHUNKS);
  if (chunks !== Math.ceil(bytesLen / CHUNK_AUDIO_BYTES)) throw new GreetingError(`${chunks} chunks do not hold ${bytesLen} bytes`);
  return { id: r.id, writer: r.writer, durationMs: int(r, 'durationMs', 0, MAX_GREETING_MS), format: 'pcmu', chunks, bytes: bytesLen };
}

/** Resource Name of chunk `index` of greeting `id` of `aor`. */
export function greetingChunkResourceName(aor: string, id: string, index: number): string {
  return `vmg:${aorResourceName(aor)}:${id}:${index}`;
}

export interface GreetingStoreDeps {
  /** The overlay's storage (VoicemailStorage: OverlayStorage fits). */
  storage: VoicemailStorage;
  /** Our Node-ID: the pointer's writer, the first part of every chunk we write. */
  selfNodeId: Uint8Array;
  /** Wall-clock ms (expiry of what we read, renewal). */
  wallClock: () => number;
  /** Greeting ids. */
  random: Random;
}

export interface GreetingStoreOptions {
  /** Lifetime of a greeting, s (default 30 days; 60..MAX_GREETING_LIFETIME_S). */
  lifetimeS: number;
  /** Stores or Fetches in flight for one greeting (default 8; 1..32). */
  parallel: number;
  /** Greetings whose audio is kept (default 16; 0..1,000). */
  cacheSize: number;
}

export const DEFAULT_GREETING_STORE_OPTIONS: Readonly<GreetingStoreOptions> = Object.freeze({ lifetimeS: DEFAULT_GREETING_LIFETIME_S, parallel: DEFAULT_STORAGE_PARALLEL, cacheSize: DEFAULT_GREETING_CACHE });

/** A save: 'forbidden' is the storing peer's refusal of the pointer (its reason in `info`). */
export type GreetingSaveResult = { ok: true; greeting: GreetingPointer } | { ok: false; reason: 'bad-audio' | 'forbidden' | 'failed'; info: string };
export type GreetingLoadResult = { ok: true; greeting: GreetingPointer; audio: Uint8Array } | { ok: false; reason: 'none' } | { ok: false; reason: 'failed'; info: string };
export type GreetingRemoveResult = { ok: true } | { ok: false; reason: 'none' | 'forbidden' | 'failed'; info: string };

type PointerRead = { ok: true; pointer: GreetingPointer; expiresAt: number } | { ok: true; pointer: undefined } | { ok: false; info: string };

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export class GreetingStore {
  private readonly options: GreetingStoreOptions;
  /** Audio by `<resource name>#<id>`, least recently used first. */
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    private readonly deps: GreetingStoreDeps,
    options: Partial<GreetingStoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_GREETING_STORE_OPTIONS, ...options };
    const { lifetimeS, parallel, cacheSize } = this.options;
    if (!Number.isInteger(lifetimeS) || lifetimeS < 60 || lifetimeS > MAX_GREETING_LIFETIME_S) throw new RangeError(`greeting lifetime ${lifetimeS} s: an integer in [60, ${MAX_GREETING_LIFETIME_S}]`);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) throw new RangeError(`greeting storage parallelism ${parallel}: an integer in [1, 32]`);
    if (!Number.isInteger(cacheSize) || cacheSize < 0 || cacheSize > 1000) throw new RangeError(`greeting cache size ${cacheSize}: an integer in [0, 1000]`);
  }

  /** Greetings whose audio is cached. */
  get cached(): number {
    return this.cache.size;
  }

  /**
   * Stores `whole` (G.711 µ-law, 8 kHz, MIN_CHUNK_AUDIO_BYTES..MAX_GREETING_BYTES bytes; a tail of
   * fewer than MIN_CHUNK_AUDIO_BYTES after the last full chunk is dropped) as the greeting of `aor`: the
   * chunks, then the pointer; the chunks of the greeting it replaces are removed after.
   */
  async save(aor: string, whole: Uint8Array): Promise<GreetingSaveResult> {
    if (whole.length < MIN_CHUNK_AUDIO_BYTES || whole.length > MAX_GREETING_BYTES) return { ok: false, reason: 'bad-audio', info: `a greeting is ${MIN_CHUNK_AUDIO_BYTES} to ${MAX_GREETING_BYTES} bytes of µ-law (${MAX_GREETING_MS / 1000} s), not ${whole.length}` };
    const tail = whole.length % CHUNK_AUDIO_BYTES;
    const audio = tail > 0 && tail < MIN_CHUNK_AUDIO_BYTES ? whole.subarray(0, whole.length - tail) : whole;
    const name = aorResourceName(aor);
    const old = await this.pointer(aor);
    const id = hex(this.deps.random.bytes(GREETING_ID_BYTES));
    const chunks = Math.ceil(audio.length / CHUNK_AUDIO_BYTES);
    const greeting: GreetingPointer = { id, writer: hex(this.deps.selfNodeId), durationMs: Math.round(audio.length / 8), format: 'pcmu', chunks, bytes: audio.length };
    const written: number[] = [];
    let failure = '';
    const chunkLifetime = this.options.lifetimeS + CHUNK_LIFETIME_MARGIN_S;
    const allStored = await runBounded(
      Array.from({ length: chunks }, (_, i) => i),
      this.options.parallel,
      async (i) => {
        const part = audio.subarray(i * CHUNK_AUDIO_BYTES, (i + 1) * CHUNK_AUDIO_BYTES);
        const value: StoredDataValue = { model: 'single', value: { exists: true, value: encodeChunk(this.deps.selfNodeId, part) } };
        const r = await this.deps.storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: greetingChunkResourceName(aor, id, i) }, [value], { lifetime: chunkLifetime });
        if (r.ok) written.push(i);
        else if (failure === '') failure = `chunk ${i}: ${r.info}`;
        return r.ok;
      },
    );
    if (!allStored) {
      await this.removeChunks(aor, id, written);
      return { ok: false, reason: 'failed', info: failure || 'a chunk could not be stored' };
    }
    const value: StoredDataValue = { model: 'single', value: { exists: true, value: encodeGreetingPointer(greeting) } };
    const r = await this.deps.storage.store(GREETING_KIND_ID, { resourceName: name }, [value], { lifetime: this.options.lifetimeS });
    if (!r.ok) {
      await this.removeChunks(aor, id, written);
      return { ok: false, reason: r.errorCode === ReloadErrorCode.Forbidden ? 'forbidden' : 'failed', info: r.info };
    }
    this.remember(name, id, audio.slice());
    if (old.ok && old.pointer !== undefined && old.pointer.id !== id) {
      this.cache.delete(`${name}#${old.pointer.id}`);
      await this.removeChunks(aor, old.pointer.id, Array.from({ length: old.pointer.chunks }, (_, i) => i));
    }
    return { ok: true, greeting };
  }

  /** The greeting of `aor` with its audio (µ-law): one Fetch of the pointer, the chunks unless cached. */
  async load(aor: string): Promise<GreetingLoadResult> {
    const p = await this.pointer(aor);
    if (!p.ok) return { ok: false, reason: 'failed', info: p.info };
    if (p.pointer === undefined) return { ok: false, reason: 'none' };
    const g = p.pointer;
    const key = `${aorResourceName(aor)}#${g.id}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { ok: true, greeting: g, audio: hit };
    }
    const out = new Uint8Array(g.bytes);
    let problem = '';
    const whole = await runBounded(
      Array.from({ length: g.chunks }, (_, i) => i),
      this.options.parallel,
      async (i) => {
        const res = await this.deps.storage.fetch(VOICEMAIL_CHUNK_KIND_ID, { resourceName: greetingChunkResourceName(aor, g.id, i) });
        const v = res.ok ? res.values[0]?.data.value : undefined;
        if (v === undefined || v.model !== 'single' || !v.value.exists) {
          problem ||= res.ok || res.errorCode === ReloadErrorCode.NotFound ? `chunk ${i} is gone` : `chunk ${i}: ${res.info}`;
          return false;
        }
        let c: { writer: Uint8Array; audio: Uint8Array };
        try {
          c = decodeChunk(v.value.value, this.deps.selfNodeId.length);
        } catch (e) {
          problem ||= `chunk ${i}: ${e instanceof Error ? e.message : String(e)}`;
          return false;
        }
        const want = i === g.chunks - 1 ? g.bytes - i * CHUNK_AUDIO_BYTES : CHUNK_AUDIO_BYTES;
        if (hex(c.writer) !== g.writer) problem ||= `chunk ${i} was written by another peer than the greeting`;
        else if (c.audio.length !== want) problem ||= `chunk ${i} holds ${c.audio.length} bytes, ${want} expected`;
        else {
          out.set(c.audio, i * CHUNK_AUDIO_BYTES);
          return true;
        }
        return false;
      },
    );
    if (!whole) return { ok: false, reason: 'failed', info: problem || 'a chunk could not be read' };
    this.remember(aorResourceName(aor), g.id, out);
    return { ok: true, greeting: g, audio: out };
  }

  /** Back to the default greeting: the pointer (a tombstone), then its chunks (best effort). */
  async remove(aor: string): Promise<GreetingRemoveResult> {
    const p = await this.pointer(aor);
    if (!p.ok) return { ok: false, reason: 'failed', info: p.info };
    if (p.pointer === undefined) return { ok: false, reason: 'none', info: `${aor} has no greeting of its own` };
    const gone: StoredDataValue = { model: 'single', value: { exists: false, value: new Uint8Array(0) } };
    const r = await this.deps.storage.store(GREETING_KIND_ID, { resourceName: aorResourceName(aor) }, [gone], { lifetime: VOICEMAIL_TOMBSTONE_S });
    if (!r.ok) return { ok: false, reason: r.errorCode === ReloadErrorCode.Forbidden ? 'forbidden' : 'failed', info: r.info };
    this.cache.delete(`${aorResourceName(aor)}#${p.pointer.id}`);
    await this.removeChunks(aor, p.pointer.id, Array.from({ length: p.pointer.chunks }, (_, i) => i));
    return { ok: true };
  }

  /**
   * Stores the greeting of `aor` again (a new id, a full lifetime) when less than RENEW_BEFORE_S of
   * its lifetime is left (`renewed` false: still fresh); 'none': the user has no greeting.
   */
  async renew(aor: string): Promise<{ ok: true; renewed: boolean } | { ok: false; reason: 'none' | 'forbidden' | 'failed'; info: string }> {
    const p = await this.pointer(aor);
    if (!p.ok) return { ok: false, reason: 'failed', info: p.info };
    if (p.pointer === undefined) return { ok: false, reason: 'none', info: `${aor} has no greeting of its own` };
    if (p.expiresAt - this.deps.wallClock() > RENEW_BEFORE_S * 1000) return { ok: true, renewed: false };
    const loaded = await this.load(aor);
    if (!loaded.ok) return loaded.reason === 'none' ? { ok: false, reason: 'none', info: 'the greeting is gone' } : loaded;
    const saved = await this.save(aor, loaded.audio);
    if (!saved.ok) return { ok: false, reason: saved.reason === 'forbidden' ? 'forbidden' : 'failed', info: saved.info };
    return { ok: true, renewed: true };
  }

  /** The live pointer of `aor` (one Fetch); `pointer` undefined when there is none (or it cannot be read). */
  private async pointer(aor: string): Promise<PointerRead> {
    const res = await this.deps.storage.fetch(GREETING_KIND_ID, { resourceName: aorResourceName(aor) });
    if (!res.ok) return res.errorCode === ReloadErrorCode.NotFound ? { ok: true, pointer: undefined } : { ok: false, info: res.info };
    const data = res.values[0]?.data;
    if (data === undefined || data.value.model !== 'single' || !data.value.value.exists) return { ok: true, pointer: undefined };
    const expiresAt = Number(data.storageTime) + data.lifetime * 1000;
    if (expiresAt <= this.deps.wallClock()) return { ok: true, pointer: undefined };
    try {
      return { ok: true, pointer: decodeGreetingPointer(data.value.value.value), expiresAt };
    } catch {
      return { ok: true, pointer: undefined }; // the storing peer checked it; what we cannot read is left to expire
    }
  }

  private remember(name: string, id: string, audio: Uint8Array): void {
    if (this.options.cacheSize === 0) return;
    const key = `${name}#${id}`;
    this.cache.delete(key);
    this.cache.set(key, audio);
    while (this.cache.size > this.options.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  private async removeChunks(aor: string, id: string, indexes: readonly number[]): Promise<void> {
    const gone: StoredDataValue = { model: 'single', value: { exists: false, value: new Uint8Array(0) } };
    await runBounded(indexes, this.options.parallel, async (i) => {
      await this.deps.storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: greetingChunkResourceName(aor, id, i) }, [gone], { lifetime: VOICEMAIL_TOMBSTONE_S });
      return true; // best effort: a chunk left expires with its lifetime
    });
  }
}
