/**
 * Fixtures of the greeting tests: the in-memory voicemail storage (voicemail-fixtures.ts) that also
 * takes P2PSIP-VOICEMAIL-GREETING values through the real VoicemailGreetingGuard, with write grants
 * put in place by the test and a gate that holds greeting Fetches.
 */
import { entryKey, WRITE_GRANT_KIND_ID, writeGrantValue, type KindRecord } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/kind.js';
import { VoicemailGreetingGuard, type GreetingGuardOptions } from '../../../../src/usages/voicemail/greeting-guard.js';
import { GREETING_KIND_ID } from '../../../../src/usages/voicemail/greeting-store.js';
import { MemoryVoicemailStorage, storedData } from './voicemail-fixtures.js';

export const GREETING_KIND: KindDefinition = { id: GREETING_KIND_ID, name: 'P2PSIP-VOICEMAIL-GREETING', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: 512 };

export class MemoryGreetingStorage extends MemoryVoicemailStorage {
  readonly greetingGuard: VoicemailGreetingGuard;
  /** While set, greeting pointer Fetches wait for it. */
  gate: Promise<void> | undefined;

  constructor(now: () => number, signer: Uint8Array, o: Omit<GreetingGuardOptions, 'nodeIdLength'> = { closed: true }) {
    super(now, signer, { closed: o.closed });
    this.greetingGuard = new VoicemailGreetingGuard({ nodeIdLength: signer.length, ...o });
    this.guards[GREETING_KIND_ID] = this.greetingGuard;
    this.kindDefs[GREETING_KIND_ID] = GREETING_KIND;
    this.userName = 'alice@p2psip.local';
    this.resourceId = resourceIdOf;
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
