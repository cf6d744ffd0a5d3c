/** fast-check generators of RELOAD method bodies (RFC 6940 §6.4, §6.5, §7.4, §10; RFC 7904). */
import fc from 'fast-check';
import type { ConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import type { PingAns, PingReq } from '../../../../src/reload/codec/ping.js';
import type { ProbeAns, ProbeInformation, ProbeReq } from '../../../../src/reload/codec/probe.js';
import type { FetchAns, FetchReq, StoredDataSpecifier } from '../../../../src/reload/codec/fetch.js';
import type { FindAns, FindReq } from '../../../../src/reload/codec/find.js';
import type { DataModel } from '../../../../src/reload/codec/method-body.js';
import type { StatAns, StoredMetaData } from '../../../../src/reload/codec/stat.js';
import type { StoreAns, StoreKindData, StoreReq } from '../../../../src/reload/codec/store.js';
import type { DataValue, ModelEntry, StoredData } from '../../../../src/reload/codec/stored-data.js';
import type { ChordLeaveData, ChordRouteQueryAns, ChordUpdate } from '../../../../src/reload/codec/chord-update.js';
import type { JoinAns, JoinReq, LeaveReq } from '../../../../src/reload/codec/join-leave.js';
import type { RouteQueryReq } from '../../../../src/reload/codec/route-query.js';
import type { AppAttachReqAns, AttachReqAns, CandTypeName, IceCandidate } from '../../../../src/reload/codec/attach.js';
import type { SipRegistration } from '../../../../src/reload/codec/sip-registration.js';
import type { IpAddressPort } from '../../../../src/reload/codec/ip-address-port.js';
import { bytes, destinationList, rec, resourceDestination, routingDestination, signature, u8, u16, u32, u64 } from './arbitraries.js';

export const pingReq: fc.Arbitrary<PingReq> = rec({ padding: bytes(300) });
export const pingAns: fc.Arbitrary<PingAns> = rec({ responseId: u64, time: u64 });

export const probeReq: fc.Arbitrary<ProbeReq> = rec({ requestedInfo: fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 6 }) });

export const probeInformation: fc.Arbitrary<ProbeInformation> = fc.oneof(
  u32.map((responsiblePpb): ProbeInformation => ({ type: 'responsible_set', responsiblePpb })),
  u32.map((numResources): ProbeInformation => ({ type: 'num_resources', numResources })),
  u32.map((uptime): ProbeInformation => ({ type: 'uptime', uptime })),
  rec({ code: fc.integer({ min: 4, max: 255 }), value: bytes(12) }).map((v): ProbeInformation => ({ type: 'unknown', ...v })),
);

export const probeAns: fc.Arbitrary<ProbeAns> = rec({ probeInfo: fc.array(probeInformation, { maxLength: 5 }) });

export const configUpdateReq: fc.Arbitrary<ConfigUpdateReq> = fc.oneof(
  bytes(300).map((configData): ConfigUpdateReq => ({ type: 'config', configData })),
  fc.array(bytes(60), { maxLength: 4 }).map((kinds): ConfigUpdateReq => ({ type: 'kind', kinds })),
  rec({ code: fc.integer({ min: 3, max: 255 }), data: bytes(20) }).map((v): ConfigUpdateReq => ({ type: 'unknown', ...v })),
);

const MODELS: readonly (DataModel | undefined)[] = ['single', 'array', 'dictionary', undefined];

/** The data-model lookup the generated Kind-IDs follow: kind % 4 = single, array, dictionary, unknown. */
export const dataModelOf = (kind: number): DataModel | undefined => MODELS[kind % 4];

/** A Kind-ID whose model under {@link dataModelOf} is `model`. */
export function kindOf(model: DataModel | undefined): fc.Arbitrary<number> {
  const i = MODELS.indexOf(model);
  return fc.integer({ min: 0, max: 0x3fffffff }).map((k) => k * 4 + i);
}

/** The known-answer tests' lookup: Kind 1 single value, 2 array, 3 dictionary. */
export const KA_MODELS = (kind: number): DataModel | undefined => (kind === 1 ? 'single' : kind === 2 ? 'array' : kind === 3 ? 'dictionary' : undefined);

const knownModel = fc.constantFrom<DataModel>('single', 'array', 'dictionary');

export function modelEntry<V>(model: DataModel, value: fc.Arbitrary<V>): fc.Arbitrary<ModelEntry<V>> {
  switch (model) {
    case 'single':
      return value.map((v): ModelEntry<V> => ({ model, value: v }));
    case 'array':
      return fc.tuple(u32, value).map(([index, v]): ModelEntry<V> => ({ model, index, value: v }));
    case 'dictionary':
      return fc.tuple(bytes(12), value).map(([key, v]): ModelEntry<V> => ({ model, key, value: v }));
  }
}

export const dataValue: fc.Arbitrary<DataValue> = rec({ exists: fc.boolean(), value: bytes(40) });

export function storedData(model: DataModel): fc.Arbitrary<StoredData> {
  return rec({ storageTime: u64, lifetime: u32, value: modelEntry(model, dataValue), signature });
}

export const storeKindData: fc.Arbitrary<StoreKindData> = knownModel.chain((m) =>
  rec({ kind: kindOf(m), generationCounter: u64, values: fc.array(storedData(m), { maxLength: 3 }) }),
);

export const storeReq: fc.Arbitrary<StoreReq> = rec({ resource: bytes(32), replicaNumber: u8, kindData: fc.array(storeKindData, { maxLength: 3 }) });

export function nodeIds(nodeIdLength = 16, maxLength = 3): fc.Arbitrary<Uint8Array[]> {
  return fc.array(bytes(nodeIdLength, nodeIdLength), { maxLength });
}

export const storeAns: fc.Arbitrary<StoreAns> = rec({
  kindResponses: fc.array(rec({ kind: u32, generationCounter: u64, replicas: nodeIds() }), { maxLength: 3 }),
});

export const storedDataSpecifier: fc.Arbitrary<StoredDataSpecifier> = fc.oneof(
  rec({ kind: kindOf('single'), generation: u64 }).map((b): StoredDataSpecifier => ({ ...b, model: 'single' })),
  rec({ kind: kindOf('array'), generation: u64, indices: fc.array(rec({ first: u32, last: u32 }), { maxLength: 4 }) }).map(
    (b): StoredDataSpecifier => ({ ...b, model: 'array' }),
  ),
  rec({ kind: kindOf('dictionary'), generation: u64, keys: fc.array(bytes(10), { maxLength: 4 }) }).map((b): StoredDataSpecifier => ({ ...b, model: 'dictionary' })),
  rec({ kind: kindOf(undefined), generation: u64, data: bytes(10) }).map((b): StoredDataSpecifier => ({ ...b, model: 'unknown' })),
);

export const fetchReq: fc.Arbitrary<FetchReq> = rec({ resource: bytes(32), specifiers: fc.array(storedDataSpecifier, { maxLength: 4 }) });

export const fetchAns: fc.Arbitrary<FetchAns> = rec({
  kindResponses: fc.array(
    knownModel.chain((m) => rec({ kind: kindOf(m), generation: u64, values: fc.array(storedData(m), { maxLength: 3 }) })),
    { maxLength: 3 },
  ),
});

export function storedMetaData(model: DataModel): fc.Arbitrary<StoredMetaData> {
  const metaData = rec({ exists: fc.boolean(), valueLength: u32, hashAlgorithm: u8, hashValue: bytes(32) });
  return rec({ storageTime: u64, lifetime: u32, metadata: modelEntry(model, metaData) });
}

export const statAns: fc.Arbitrary<StatAns> = rec({
  kindResponses: fc.array(
    knownModel.chain((m) => rec({ kind: kindOf(m), generation: u64, values: fc.array(storedMetaData(m), { maxLength: 3 }) })),
    { maxLength: 3 },
  ),
});

export const findReq: fc.Arbitrary<FindReq> = rec({ resource: bytes(32), kinds: fc.uniqueArray(u32, { maxLength: 5 }) });
export const findAns: fc.Arbitrary<FindAns> = rec({ results: fc.array(rec({ kind: u32, closest: bytes(32) }), { maxLength: 4 }) });

const nodeId = (n = 16): fc.Arbitrary<Uint8Array> => bytes(n, n);

export const joinReq: fc.Arbitrary<JoinReq> = rec({ joiningPeerId: nodeId(), overlaySpecificData: bytes(40) });
export const joinAns: fc.Arbitrary<JoinAns> = rec({ overlaySpecificData: bytes(40) });
export const leaveReq: fc.Arbitrary<LeaveReq> = rec({ leavingPeerId: nodeId(), overlaySpecificData: bytes(40) });

export const routeQueryReq: fc.Arbitrary<RouteQueryReq> = rec({
  sendUpdate: fc.boolean(),
  destination: fc.oneof(routingDestination(16), resourceDestination),
  overlaySpecificData: bytes(20),
});

export const chordUpdate: fc.Arbitrary<ChordUpdate> = fc.oneof(
  u32.map((uptime): ChordUpdate => ({ uptime, type: 'peer_ready' })),
  rec({ uptime: u32, predecessors: nodeIds(), successors: nodeIds() }).map((v): ChordUpdate => ({ ...v, type: 'neighbors' })),
  rec({ uptime: u32, predecessors: nodeIds(), successors: nodeIds(), fingers: nodeIds(16, 6) }).map((v): ChordUpdate => ({ ...v, type: 'full' })),
);

export const chordLeaveData: fc.Arbitrary<ChordLeaveData> = fc.oneof(
  nodeIds().map((successors): ChordLeaveData => ({ type: 'from_succ', successors })),
  nodeIds().map((predecessors): ChordLeaveData => ({ type: 'from_pred', predecessors })),
);

export const chordRouteQueryAns: fc.Arbitrary<ChordRouteQueryAns> = rec({ nextPeer: nodeId() });

export const ipAddressPort: fc.Arbitrary<IpAddressPort> = fc.oneof(
  rec({ addr: bytes(4, 4), port: u16 }).map((v): IpAddressPort => ({ type: 'ipv4', ...v })),
  rec({ addr: bytes(16, 16), port: u16 }).map((v): IpAddressPort => ({ type: 'ipv6', ...v })),
  rec({ code: fc.integer({ min: 3, max: 255 }), data: bytes(20) }).map((v): IpAddressPort => ({ type: 'unknown', ...v })),
);

export const iceCandidate: fc.Arbitrary<IceCandidate> = fc
  .tuple(
    rec({
      addrPort: ipAddressPort,
      overlayLink: fc.integer({ min: 1, max: 255 }),
      foundation: bytes(32),
      priority: u32,
      extensions: fc.array(rec({ name: bytes(10), value: bytes(20) }), { maxLength: 2 }),
    }),
    fc.constantFrom<CandTypeName>('host', 'srflx', 'prflx', 'relay'),
    ipAddressPort,
  )
  .map(([base, type, rel]): IceCandidate => (type === 'host' ? { ...base, type } : { ...base, type, relAddrPort: rel }));

export const attachReqAns: fc.Arbitrary<AttachReqAns> = rec({
  ufrag: bytes(16),
  password: bytes(32),
  role: fc.constantFrom('active', 'passive', 'actpass').map((s) => new TextEncoder().encode(s)),
  candidates: fc.array(iceCandidate, { maxLength: 4 }),
  sendUpdate: fc.boolean(),
});

export const appAttachReqAns: fc.Arbitrary<AppAttachReqAns> = rec({
  ufrag: bytes(16),
  password: bytes(32),
  application: u16,
  role: bytes(8),
  candidates: fc.array(iceCandidate, { maxLength: 4 }),
});

export const sipRegistration: fc.Arbitrary<SipRegistration> = fc.oneof(
  bytes(60).map((uri): SipRegistration => ({ type: 'uri', uri })),
  rec({ contactPrefs: bytes(30), destinationList: destinationList(16) }).map((v): SipRegistration => ({ type: 'route', ...v })),
  rec({ code: fc.integer({ min: 3, max: 255 }), data: bytes(20) }).map((v): SipRegistration => ({ type: 'unknown', ...v })),
);
