/**
 * Write grants (p2psip, issue 15): "Node-ID N may write Kinds with `grantedWrites` at this
 * Resource-ID until T". A grant is a dictionary value of Kind {@link WRITE_GRANT_KIND_ID} at the
 * same Resource-ID, keyed by N, its value T (uint64 ms since 1970, big-endian), signed by the
 * storing peer that made it. Grants are made by a KindGuard (the SIP usage makes one for the
 * signer of a verified digest proof), never by an outside Store, and move with the rest of the
 * resource by replication and hand-over (RFC 6940 §10.4, §10.5).
 */
import type { StoredDataValue } from '../codec/index.js';
import type { KindRecord } from './kind-record.js';
import { entryKey } from './kind-record.js';

/** Kind-ID of write grants, in the private-use range (RFC 6940 §14.6: 0xf0000000–0xfffffffe). */
export const WRITE_GRANT_KIND_ID = 0xf0000103;

/** Bytes of a grant value: the expiry, uint64. */
export const WRITE_GRANT_VALUE_SIZE = 8;

/** The dictionary value of a grant for `nodeId` until `untilMs` (wall clock). */
export function writeGrantValue(nodeId: Uint8Array, untilMs: number): StoredDataValue {
  const value = new Uint8Array(WRITE_GRANT_VALUE_SIZE);
  new DataView(value.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(untilMs))));
  return { model: 'dictionary', key: nodeId.slice(), value: { exists: true, value } };
}

/** The expiry of a grant value; undefined when the bytes are not one. */
export function decodeWriteGrant(value: Uint8Array): number | undefined {
  if (value.length !== WRITE_GRANT_VALUE_SIZE) return undefined;
  return Number(new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0));
}

/** When the grant for `nodeId` in `record` ends (ms), or undefined when there is none live at `now`. */
export function liveGrantUntil(record: KindRecord | undefined, nodeId: Uint8Array, now: number): number | undefined {
  if (record === undefined) return undefined;
  const e = record.entries.get(entryKey({ model: 'dictionary', key: nodeId, value: { exists: true, value: new Uint8Array(0) } }));
  if (e === undefined || e.expiresAt <= now || !e.data.value.value.exists) return undefined;
  const until = decodeWriteGrant(e.data.value.value.value);
  return until !== undefined && until > now ? until : undefined;
}
