/**
 * The hook behind the USAGE-GUARD access policy (kind.ts, issue 15): the usage that defines a Kind
 * decides its original Stores at the responsible peer, with the values already held at the
 * Resource-ID in view. A guard may also ask the engine to keep nothing of the value (a digest
 * proof is checked, not kept) and to store other values it signed itself at the same Resource-ID
 * in the same atomic step (the write grant a verified proof earns). Pure: no I/O, no time but `now`.
 */
import type { StoredData } from '../codec/index.js';
import type { AccessIdentity } from './access-identity.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord } from './kind-record.js';

export interface GuardRequest {
  resource: Uint8Array;
  kind: KindDefinition;
  /** The value with its verified signature. */
  data: StoredData;
  /** The value's signer (its signature verified). */
  signer: AccessIdentity;
  /** The StoreReq's signer (the message signature verified). */
  requester: AccessIdentity;
  /** The engine's time base (wall-clock ms in real peers). */
  now: number;
  /** The live record of a Kind at the resource, as before this Store. */
  current(kindId: number): KindRecord | undefined;
  /** The configuration's Kinds (limits such as max-count). */
  kinds(kindId: number): KindDefinition | undefined;
}

export type GuardDecision =
  | {
      ok: true;
      /** False: the value is accepted but not stored (answered as stored, nothing replicated for it). */
      keep: boolean;
      /** Values signed by this peer to store at the same resource with it (e.g. a write grant). */
      also?: ReadonlyArray<{ kind: number; data: StoredData }>;
    }
  | {
      ok: false;
      /** RELOAD error code (default Error_Forbidden). */
      code?: number;
      info: string;
    };

export interface KindGuard {
  check(request: GuardRequest): GuardDecision;
}

/** The guards the engine knows, by Kind-ID. */
export type KindGuards = (kindId: number) => KindGuard | undefined;
