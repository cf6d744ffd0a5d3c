/**
 * Shared fixtures of the voicemail tests: an in-memory overlay storage that runs the real voicemail
 * guards on every Store (as the responsible peer would), counts the Stores in flight, and can be told
 * to fail some; a phone that sends RTP audio and RFC 4733 keys.
 */
import type { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode, type StatKindResponse, type StoredData, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import { entryKey, type GuardRequest, type KindGuard, type KindRecord, type StoredEntry } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/kind.js';
import { g711Encode } from '../../../../src/media/voicemail/g711.js';
import { buildTelephoneEvent, digitToEvent, type DtmfDigit } from '../../../../src/media/voicemail/rfc4733.js';
import { buildRtp } from '../../../../src/media/voicemail/rtp.js';
import { VoicemailChunkGuard, VoicemailIndexGuard } from '../../../../src/usages/voicemail/voicemail-guard.js';
import { VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_KIND_ID, type VoicemailStorage } from '../../../../src/usages/voicemail/voicemail-store.js';

export const INDEX_KIND: KindDefinition = { id: VOICEMAIL_KIND_ID, name: 'P2PSIP-VOICEMAIL', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: 40, maxSize: 1024 };
export const CHUNK_KIND: KindDefinition = { id: VOICEMAIL_CHUNK_KIND_ID, name: 'P2PSIP-VOICEMAIL-CHUNK', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: 2500 };

export function storedData(value: StoredDataValue, lifetime = 3600, storageTime = 1n): StoredData {
  return { storageTime, lifetime, value, signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } } as unknown as StoredData;
}

type Failure = { ok: false; errorCode: number; info: string };

/** One Store as the fake saw it. */
export interface StoreOp {
  kind: number;
  resourceName: string;
  value: StoredDataValue;
  lifetime: number;
}

/** Overlay storage in memory, checked by the voicemail guards, with a writer (signer) Node-ID. */
export class MemoryVoicemailStorage implements VoicemailStorage {
  readonly records = new Map<string, Map<number, KindRecord>>();
  readonly stores: StoreOp[] = [];
  readonly guards: Record<number, KindGuard>;
  /** The Kinds this storage takes, by id (the guards' `kind` and `kinds()`). */
  readonly kindDefs: Record<number, KindDefinition> = { [VOICEMAIL_KIND_ID]: INDEX_KIND, [VOICEMAIL_CHUNK_KIND_ID]: CHUNK_KIND };
  /** The signer's certificate user name. */
  userName = 'peer@p2psip.local';
  /** The Resource-ID the guards see for a Resource Name (default: zeros). */
  resourceId: (name: string) => Uint8Array = () => new Uint8Array(16);
  inFlight = 0;
  maxInFlight = 0;
  fetches = 0;
  /** Stores for which this returns a failure are refused with it. */
  failStore: ((op: StoreOp) => Failure | undefined) | undefined;
  failFetch: ((kind: number, resourceName: string) => Failure | undefined) | undefined;

  constructor(
    readonly now: () => number,
    public signer: Uint8Array,
    o: { closed?: boolean; perUser?: number } = {},
  ) {
    this.guards = {
      [VOICEMAIL_KIND_ID]: new VoicemailIndexGuard({ nodeIdLength: signer.length, closed: o.closed ?? true, ...(o.perUser === undefined ? {} : { perUser: o.perUser }) }),
      [VOICEMAIL_CHUNK_KIND_ID]: new VoicemailChunkGuard({ nodeIdLength: signer.length }),
    };
  }

  private async turn(): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((r) => setImmediate(r));
    this.inFlight--;
  }

  record(resourceName: string, kind: number): KindRecord | undefined {
    return this.records.get(resourceName)?.get(kind);
  }

  /** Live values (existing, not expired) of a Kind at a resource. */
  live(resourceName: string, kind: number): StoredEntry[] {
    const now = this.now();
    return [...(this.record(resourceName, kind)?.entries.values() ?? [])].filter((e) => e.data.value.value.exists && e.expiresAt > now);
  }

  /** Every resource name holding a live value of `kind`. */
  resourcesWith(kind: number): string[] {
    return [...this.records.keys()].filter((n) => this.live(n, kind).length > 0);
  }

  async store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts: { lifetime?: number } = {}): Promise<{ ok: true } | Failure> {
    await this.turn();
    const lifetime = opts.lifetime ?? 3600;
    for (const value of values) {
      const op: StoreOp = { kind: kindId, resourceName: ref.resourceName, value, lifetime };
      this.stores.push(op);
      const failed = this.failStore?.(op);
      if (failed !== undefined) return failed;
      const kind = this.kindDefs[kindId]!;
      const data = storedData(value, lifetime, BigInt(Math.floor(this.now())));
      const byKind = this.records.get(ref.resourceName) ?? new Map<number, KindRecord>();
      const req: GuardRequest = {
        resource: this.resourceId(ref.resourceName),
        kind,
        data,
        signer: { userName: this.userName, nodeIds: [this.signer] },
        requester: { userName: this.userName, nodeIds: [this.signer] },
        now: this.now(),
        current: (k) => byKind.get(k),
        kinds: (k) => this.kindDefs[k],
      };
      const d = this.guards[kindId]!.check(req);
      if (!d.ok) return { ok: false, errorCode: d.code ?? ReloadErrorCode.Forbidden, info: d.info };
      const rec: KindRecord = byKind.get(kindId) ?? { kind: kindId, model: kind.dataModel as 'dictionary', generation: 0n, replicaNumber: 0, entries: new Map() };
      rec.entries.set(entryKey(value), { data, receivedAt: this.now(), expiresAt: this.now() + lifetime * 1000, size: 100 });
      rec.generation++;
      byKind.set(kindId, rec);
      this.records.set(ref.resourceName, byKind);
    }
    return { ok: true };
  }

  async fetch(kindId: number, ref: { resourceName: string }, sel: { keys?: Uint8Array[] } = {}): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure> {
    await this.turn();
    this.fetches++;
    const failed = this.failFetch?.(kindId, ref.resourceName);
    if (failed !== undefined) return failed;
    const rec = this.record(ref.resourceName, kindId);
    if (rec === undefined) return { ok: false, errorCode: ReloadErrorCode.NotFound, info: 'nothing stored there' };
    const now = this.now();
    const wanted = sel.keys?.map((k) => `k${Buffer.from(k).toString('hex')}`);
    const values = [...rec.entries.entries()].filter(([k, e]) => e.expiresAt > now && (wanted === undefined || wanted.length === 0 || wanted.includes(k))).map(([, e]) => ({ data: e.data }));
    return { ok: true, values };
  }

  async stat(kindId: number, ref: { resourceName: string }): Promise<{ ok: true; kind: StatKindResponse | undefined } | Failure> {
    await this.turn();
    const rec = this.record(ref.resourceName, kindId);
    if (rec === undefined) return { ok: false, errorCode: ReloadErrorCode.NotFound, info: 'nothing stored there' };
    const now = this.now();
    const values = [...rec.entries.values()]
      .filter((e) => e.expiresAt > now)
      .map((e) => {
        const v = e.data.value;
        const meta = { exists: v.value.exists, valueLength: v.value.value.length, hashAlgorithm: 0, hashValue: new Uint8Array(0) };
        return { storageTime: e.data.storageTime, lifetime: e.data.lifetime, metadata: v.model === 'dictionary' ? { model: 'dictionary' as const, key: v.key, value: meta } : { model: 'single' as const, value: meta } };
      });
    return { ok: true, kind: { kind: kindId, generation: rec.generation, values } };
  }
}

/** A phone's RTP: 20 ms PCMU packets of `pcm`, paced on the clock, and key presses (RFC 4733, payload 101). */
export class Phone {
  private seq = 100;
  private ts = 5000;
  constructor(
    private readonly clock: ManualClock,
    private readonly to: (d: Uint8Array) => void,
  ) {}

  talk(pcm: Int16Array): void {
    const codes = g711Encode('pcmu', pcm);
    for (let k = 0; k * 160 < codes.length; k++) {
      this.to(buildRtp({ payloadType: 0, sequence: this.seq++ & 0xffff, timestamp: this.ts, ssrc: 77, payload: codes.subarray(160 * k, 160 * (k + 1)) }));
      this.ts += 160;
      this.clock.advance(20);
    }
  }

  key(d: DtmfDigit): void {
    for (let i = 0; i < 4; i++) {
      this.to(buildRtp({ payloadType: 101, sequence: this.seq++ & 0xffff, timestamp: this.ts, ssrc: 77, payload: buildTelephoneEvent({ event: digitToEvent(d), end: i > 0, volume: 10, duration: 800 }) }));
    }
    this.ts += 800;
    this.clock.advance(100);
  }
}

/** A phone's SDP offer: PCMU and telephone-event 101 at 192.0.2.10:40000. */
export const OFFER = ['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', 'm=audio 40000 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
/** An offer the voicemail cannot take: opus only. */
export const OPUS_ONLY = ['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', 'm=audio 40000 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2', ''].join('\r\n');

/** Waits (event-loop turns, no timers) until `cond` holds; fails naming `what`. */
export async function until(cond: () => boolean, what: string, turns = 3000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!cond()) throw new Error(`waited for ${what}`);
}

/** The node, user, time and phone address the voicemail service tests share. */
export const NODE = new Uint8Array(16).fill(0x5a);
export const ALICE = 'sip:alice@p2psip.local';
export const EPOCH = 1_700_000_000_000;
export const PHONE_RTP = { host: '192.0.2.10', port: 40000 };
