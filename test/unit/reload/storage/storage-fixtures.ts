// Shared fixtures of the storage tests: Kinds, identities, a fake verifier, StoredData builders.
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { StoreReq, StoredData, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { HashAlgorithm, SignatureAlgorithm } from '../../../../src/reload/codec/index.js';
import type { AccessIdentity, KindDefinition, StorageEngineOptions, StoredDataVerifier } from '../../../../src/reload/storage/index.js';
import { MemoryStorageBackend, StorageEngine, chordResourceId, nodeMultipleResourceName, toHex, userResourceName } from '../../../../src/reload/storage/index.js';

/** The overlay hash: SHA-1 truncated to 16 bytes (RFC 6940 §10.2 with NodeIdLength 16). */
export function hash(name: Uint8Array): Uint8Array {
  return chordResourceId(name, 16);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function nodeId(n: number): Uint8Array {
  const id = new Uint8Array(16);
  id[0] = n;
  id[15] = n;
  return id;
}

export const KIND = { SIP: 1, TURN: 2, CERT_NODE: 3, CERT_USER: 16, PROFILE: 100 } as const;

export const KINDS: readonly KindDefinition[] = [
  { id: KIND.SIP, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 4, maxSize: 100 },
  { id: KIND.TURN, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 50, maxNodeMultiple: 3 },
  { id: KIND.CERT_NODE, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: 5, maxSize: 100 },
  { id: KIND.CERT_USER, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 5, maxSize: 100 },
  { id: KIND.PROFILE, name: 'PROFILE', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 10 },
];

export function kinds(id: number): KindDefinition | undefined {
  return KINDS.find((k) => k.id === id);
}

export const ALICE: AccessIdentity = { userName: 'alice@example.com', nodeIds: [nodeId(0xa1)] };
export const BOB: AccessIdentity = { userName: 'bob@example.com', nodeIds: [nodeId(0xb0)] };
export const MALLORY: AccessIdentity = { userName: 'mallory@example.com', nodeIds: [nodeId(0x66)] };

export const aliceRes = hash(userResourceName(ALICE.userName));
export const bobRes = hash(userResourceName(BOB.userName));
export const aliceNodeRes = hash(ALICE.nodeIds[0]!);
export const aliceTurnRes = (i: number): Uint8Array => hash(nodeMultipleResourceName(ALICE.nodeIds[0]!, i));

/** The fake verifier: a signature value `sig:<user>` is a valid signature of that identity; anything else is bad. */
export class FakeVerifier implements StoredDataVerifier {
  readonly identities = new Map<string, AccessIdentity>();
  calls = 0;
  constructor(ids: readonly AccessIdentity[] = [ALICE, BOB, MALLORY]) {
    for (const id of ids) this.identities.set(toHex(utf8(`sig:${id.userName}`)), id);
  }
  verify(_resourceId: Uint8Array, _kindId: number, data: StoredData): { ok: true; signer: AccessIdentity } | { ok: false; info: string } {
    this.calls++;
    const who = this.identities.get(toHex(data.signature.signatureValue));
    return who ? { ok: true, signer: who } : { ok: false, info: 'signature does not verify' };
  }
}

/** A StoredData signed (in the fake scheme) by `by`. */
export function sd(by: AccessIdentity, storageTime: bigint, value: StoredDataValue, lifetime = 3600): StoredData {
  return {
    storageTime,
    lifetime,
    value,
    signature: {
      algorithm: { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.rsa },
      identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, certificateHash: utf8(by.userName) },
      signatureValue: utf8(`sig:${by.userName}`),
    },
  };
}

export const single = (v: string | Uint8Array, exists = true): StoredDataValue => ({ model: 'single', value: { exists, value: typeof v === 'string' ? utf8(v) : v } });
export const entry = (index: number, v: string, exists = true): StoredDataValue => ({ model: 'array', index, value: { exists, value: utf8(v) } });
export const dict = (key: Uint8Array, v: string, exists = true): StoredDataValue => ({ model: 'dictionary', key, value: { exists, value: utf8(v) } });

export function storeReq(resource: Uint8Array, kind: number, values: StoredData[], generationCounter = 0n, replicaNumber = 0): StoreReq {
  return { resource, replicaNumber, kindData: [{ kind, generationCounter, values }] };
}

export interface Harness {
  clock: ManualClock;
  backend: MemoryStorageBackend;
  verifier: FakeVerifier;
  engine: StorageEngine;
  reopen(): StorageEngine;
}

/** An engine on a ManualClock (starting at 1 000 000 ms) over a memory backend with the fake verifier. */
export function harness(options: StorageEngineOptions = {}): Harness {
  const clock = new ManualClock(1_000_000);
  const backend = new MemoryStorageBackend();
  const verifier = new FakeVerifier();
  const make = (): StorageEngine => new StorageEngine({ clock, backend, kinds, hashResourceName: hash, verifyStoredData: verifier }, options);
  const h: Harness = {
    clock,
    backend,
    verifier,
    engine: make(),
    reopen: () => {
      h.engine = make();
      return h.engine;
    },
  };
  return h;
}
