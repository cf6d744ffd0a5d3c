/**
 * The three workloads of the codec benchmark, each a whole RELOAD message (RFC 6940 §6.3) with a
 * SecurityBlock: a StoreReq of one SIP-REGISTRATION route (Kind 1, dictionary, RFC 7904 §3.2), a
 * FetchReq of that Kind, and a CHORD-RELOAD full UpdateReq (RFC 6940 §10.7).
 * Sizes follow a typical deployment: 16-byte Node-IDs, SHA-256 certificate-hash signer
 * identities, RSA-2048 signatures (256 bytes), no certificates in the message.
 */
import {
  MessageCode,
  RELOAD_VERSION,
  decodeChordUpdate,
  decodeFetchReq,
  decodeReloadMessage,
  decodeStoreReq,
  encodeChordUpdate,
  encodeFetchReq,
  encodeReloadMessage,
  encodeSipRegistration,
  encodeStoreReq,
} from '../../src/reload/codec/index.js';
import type { BodyCodecOptions, ChordUpdate, Destination, FetchReq, ReloadMessage, Signature, StoreReq } from '../../src/reload/codec/index.js';

export interface CodecWorkload {
  readonly name: string;
  readonly description: string;
  /** Encodes the body, then the whole message; returns the bytes. */
  encode(): Uint8Array;
  /** Decodes the whole message, then the body; returns a value derived from it (kept as a sink). */
  decode(bytes: Uint8Array): number;
}

const SIP_REGISTRATION_KIND = 1;
const OPTIONS: BodyCodecOptions = { dataModelOf: (k) => (k === SIP_REGISTRATION_KIND ? 'dictionary' : undefined) };

function filled(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 167) & 0xff;
  return b;
}

function nodeId(seed: number): Uint8Array {
  return filled(16, seed);
}

// RFC 6940 §6.3.4: SHA-256 (4) + RSA (1), signer identified by the hash of its certificate
function rsaSignature(seed: number): Signature {
  return {
    algorithm: { hash: 4, signature: 1 },
    identity: { type: 'cert_hash', hashAlg: 4, certificateHash: filled(32, seed) },
    signatureValue: filled(256, seed + 1),
  };
}

function envelope(messageCode: number, body: Uint8Array, transactionId: bigint, destination: Destination): ReloadMessage {
  return {
    header: {
      overlay: 0x8c2e1a7f,
      configurationSequence: 3,
      version: RELOAD_VERSION,
      ttl: 100,
      fragment: { last: true, offset: 0 },
      length: 0,
      transactionId,
      maxResponseLength: 0,
      viaList: [{ type: 'node', nodeId: nodeId(1) }],
      destinationList: [destination],
      options: [],
    },
    contents: { messageCode, body, extensions: [] },
    securityBlock: { certificates: [], signature: rsaSignature(9) },
  };
}

/** The template message carrying a freshly encoded body (the only per-call allocation besides the codec's). */
function withBody(template: ReloadMessage, body: Uint8Array): ReloadMessage {
  return { header: template.header, contents: { ...template.contents, body }, securityBlock: template.securityBlock };
}

function decodeWhole(bytes: Uint8Array): ReloadMessage {
  const r = decodeReloadMessage(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

const resourceId = filled(16, 42);

function storeWorkload(): CodecWorkload {
  const registration = encodeSipRegistration({
    type: 'route',
    contactPrefs: new TextEncoder().encode('+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'),
    destinationList: [{ type: 'node', nodeId: nodeId(1) }],
  });
  const storeReq: StoreReq = {
    resource: resourceId,
    replicaNumber: 0,
    kindData: [
      {
        kind: SIP_REGISTRATION_KIND,
        generationCounter: 7n,
        values: [
          {
            storageTime: 1_795_000_000_000n,
            lifetime: 3600,
            value: { model: 'dictionary', key: nodeId(1), value: { exists: true, value: registration } },
            signature: rsaSignature(3),
          },
        ],
      },
    ],
  };
  const template = envelope(MessageCode.store_req, new Uint8Array(0), 0x1111n, { type: 'resource', resourceId });
  return {
    name: 'StoreReq SIP-REGISTRATION',
    description: 'StoreReq, Kind 1 (SIP-REGISTRATION, dictionary) with one route registration keyed by Node-ID, StoredData signed',
    encode: () => {
      const body = encodeStoreReq(storeReq, OPTIONS);
      return encodeReloadMessage(withBody(template, body));
    },
    decode: (bytes) => {
      const msg = decodeWhole(bytes);
      const r = decodeStoreReq(msg.contents.body, OPTIONS);
      if (!r.ok) throw r.error;
      return r.value.kindData.length;
    },
  };
}

function fetchWorkload(): CodecWorkload {
  const fetchReq: FetchReq = { resource: resourceId, specifiers: [{ kind: SIP_REGISTRATION_KIND, generation: 0n, model: 'dictionary', keys: [] }] };
  const template = envelope(MessageCode.fetch_req, new Uint8Array(0), 0x2222n, { type: 'resource', resourceId });
  return {
    name: 'FetchReq',
    description: 'FetchReq of Kind 1 (SIP-REGISTRATION, dictionary), all keys (empty key list)',
    encode: () => {
      const body = encodeFetchReq(fetchReq, OPTIONS);
      return encodeReloadMessage(withBody(template, body));
    },
    decode: (bytes) => {
      const msg = decodeWhole(bytes);
      const r = decodeFetchReq(msg.contents.body, OPTIONS);
      if (!r.ok) throw r.error;
      return r.value.specifiers.length;
    },
  };
}

function updateWorkload(): CodecWorkload {
  const ids = (n: number, seed: number): Uint8Array[] => Array.from({ length: n }, (_, i) => nodeId(seed + i));
  const update: ChordUpdate = { uptime: 86_400, type: 'full', predecessors: ids(3, 10), successors: ids(3, 20), fingers: ids(16, 30) };
  const template = envelope(MessageCode.update_req, new Uint8Array(0), 0x3333n, { type: 'node', nodeId: nodeId(5) });
  return {
    name: 'UpdateReq CHORD full',
    description: 'CHORD-RELOAD UpdateReq, type full: 3 predecessors, 3 successors, 16 fingers',
    encode: () => {
      const body = encodeChordUpdate(update);
      return encodeReloadMessage(withBody(template, body));
    },
    decode: (bytes) => {
      const msg = decodeWhole(bytes);
      const r = decodeChordUpdate(msg.contents.body);
      if (!r.ok) throw r.error;
      return r.value.uptime;
    },
  };
}

export function codecWorkloads(): CodecWorkload[] {
  return [storeWorkload(), fetchWorkload(), updateWorkload()];
}
