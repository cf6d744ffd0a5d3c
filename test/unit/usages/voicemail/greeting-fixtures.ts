/**
 * Fixtures of the greeting tests: the in-memory voicemail storage (voicemail-fixtures.ts) that also
 * takes P2PSIP-VOICEMAIL-GREETING values through the real VoicemailGreetingGuard, with write grants
 * put in place by the test and a gate that holds greeting Fetches.
 */
import { ReloadErrorCode, type StoredData, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import { entryKey, WRITE_GRANT_KIND_ID, writeGrantValue, type GuardRequest, type KindRecord } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/kind.js';
import { VoicemailGreetingGuard, type GreetingGuardOptions } from '../../../../src/usages/voicemail/greeting-guard.js';
import { GREETING_KIND_ID } from '../../../../src/usages/voicemail/greeting-store.js';
import { MemoryVoicemailStorage, storedData, type StoreOp } from './voicemail-fixtures.js';

export const GREETING_KIND: KindDefinition = { id: GREETING_KIND_ID, name: 'P2PSIP-VOICEMAIL-GREETING', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: 512 };

type Failure = { ok: false; errorCode: number; info: string };

export class MemoryGreetingStorage extends MemoryVoicemailStorage {
  readonly greetingGuard: VoicemailGreetingGuard;
  /** The signer's certificate user name. */
  userName = 'alice@p2psip.local';
  /** While set, greeting pointer Fetches wait for it. */
  gate: Promise<void> | undefined;

  constructor(now: () => number, signer: Uint8Array, o: Omit<GreetingGuardOptions, 'nodeIdLength'> = { closed: true }) {
    super(now, signer, { closed: o.closed });
    this.greetingGuard = new VoicemailGreetingGuard({ nodeIdLength: signer.length, ...o });
  }

  /** A live write grant for `nodeId` at `resourceName` (as the user's REGISTER or mailbox call leaves it). */
  grant(resourceName: string, nodeId: Uint8Array, untilMs = this.now() + 3_600_000): void {
    const byKind = this.records.get(resourceName) ?? new Map<number, KindRecord>();
    const v = writeGrantValue(nodeId, untilMs);
    const rec: KindRecord = byKind.get(WRITE_GRANT_KIND_ID) ?? { kind: WRITE_GRANT_KIND_ID, model: 'dictionary', generation: 0n, replicaNumber: 0, entries: new Map() };
    rec.entries.set(entryKey(v), { data: storedData(v, 3600), receivedAt: this.now(), expiresAt: untilMs, size: 16 });
    byKind.set(WRITE_GRANT_KIND_ID, rec);
    this.records.set(resourceName, byKind);
  }

  override async store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts: { lifetime?: number } = {}): Promise<{ ok: true } | Failure> {
    if (kindId !== GREETING_KIND_ID) return super.store(kindId, ref, values, opts);
    await new Promise<void>((r) => setImmediate(r));
    const lifetime = opts.lifetime ?? 3600;
    for (const value of values) {
      const op: StoreOp = { kind: kindId, resourceName: ref.resourceName, value, lifetime };
      this.stores.push(op);
      const failed = this.failStore?.(op);
      if (failed !== undefined) return failed;
      const data: StoredData = storedData(value, lifetime, BigInt(Math.floor(this.now())));
      const byKind = this.records.get(ref.resourceName) ?? new Map<number, KindRecord>();
      const req: GuardRequest = {
        resource: resourceIdOf(ref.resourceName),
        kind: GREETING_KIND,
        data,
        signer: { userName: this.userName, nodeIds: [this.signer] },
        requester: { userName: this.userName, nodeIds: [this.signer] },
        now: this.now(),
        current: (k) => byKind.get(k),
        kinds: (k) => (k === GREETING_KIND_ID ? GREETING_KIND : undefined),
      };
      const d = this.greetingGuard.check(req);
      if (!d.ok) return { ok: false, errorCode: d.code ?? ReloadErrorCode.Forbidden, info: d.info };
      const rec: KindRecord = byKind.get(kindId) ?? { kind: kindId, model: 'single', generation: 0n, replicaNumber: 0, entries: new Map() };
      rec.entries.set(entryKey(value), { data, receivedAt: this.now(), expiresAt: this.now() + lifetime * 1000, size: 100 });
      rec.generation++;
      byKind.set(kindId, rec);
      this.records.set(ref.resourceName, byKind);
    }
    return { ok: true };
  }

  override async fetch(kindId: number, ref: { resourceName: string }, sel: { keys?: Uint8Array[] } = {}): ReturnType<MemoryVoicemailStorage['fetch']> {
    if (kindId === GREETING_KIND_ID && this.gate !== undefined) await this.gate;
    return super.fetch(kindId, ref, sel);
  }
}

/** A stand-in Resource-ID of a Resource Name (the guard only compares it with hashResourceName's). */
export function resourceIdOf(name: string): Uint8Array {
  const out = new Uint8Array(16);
  const b = new TextEncoder().encode(name);
  for (let i = 0; i < b.length; i++) out[i % 16] = (out[i % 16]! * 31 + b[i]!) & 0xff;
  return out;
}
