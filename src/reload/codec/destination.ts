import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.3.2.2 DestinationType codes (128..255 are not allowed: the top bit marks the compressed form). */
export const DestinationType = { node: 1, resource: 2, opaque_id_type: 3 } as const;

/** RFC 6940 §11.1: NodeIdLength is 16..20 bytes per overlay, 16 by default. */
export const DEFAULT_NODE_ID_LENGTH = 16;
export const MIN_NODE_ID_LENGTH = 16;
export const MAX_NODE_ID_LENGTH = 20;

/**
 * One entry of a Via or Destination List (RFC 6940 §6.3.2.2):
 * - `node`: a Node-ID (exactly NodeIdLength bytes);
 * - `resource`: a Resource-ID (`opaque<0..2^8-1>`), only last in a Destination List, never in a Via List;
 * - `opaque`: a compressed list meaningful only to the peer that made it (`opaque<0..2^8-1>`);
 * - `compressed`: the 2-byte form, a uint16 whose top bit is 1 (e.g. a Connection Table index);
 * - `unknown`: a DestinationType this code does not know (4..127), kept so it can be forwarded.
 */
export type Destination =
  | { type: 'node'; nodeId: Uint8Array }
  | { type: 'resource'; resourceId: Uint8Array }
  | { type: 'opaque'; opaqueId: Uint8Array }
  | { type: 'compressed'; id: number }
  | { type: 'unknown'; code: number; data: Uint8Array };

/** Fails unless `n` is a NodeIdLength the RFC allows (16..20). */
export function checkNodeIdLength(n: number, fail: (detail: string) => never): void {
  if (!Number.isInteger(n) || n < MIN_NODE_ID_LENGTH || n > MAX_NODE_ID_LENGTH) {
    fail(`NodeIdLength ${String(n)} is outside ${MIN_NODE_ID_LENGTH}..${MAX_NODE_ID_LENGTH}`);
  }
}

/** Reads one Destination (either form) at the reader's position. */
export function readDestination(r: Reader, nodeIdLength: number): Destination {
  const at = r.offset;
  const first = r.u8('type');
  if ((first & 0x80) !== 0) {
    // RFC 6940 §6.3.2.2: a uint16 with the top bit set is an opaque_id of 2 bytes
    return { type: 'compressed', id: (first << 8) | r.u8('opaque_id') };
  }
  if (first === 0) r.fail('type', 'invalidDestinationType (0)', at);
  const lengthAt = r.offset;
  const data = r.take(r.u8('length'), 'destination_data', 'length', lengthAt);
  let d: Destination;
  switch (first) {
    case DestinationType.node:
      if (data.remaining !== nodeIdLength) r.fail('length', `a Node-ID is ${nodeIdLength} bytes, got ${data.remaining}`, lengthAt);
      d = { type: 'node', nodeId: data.bytes(nodeIdLength, 'node_id') };
      break;
    case DestinationType.resource:
      d = { type: 'resource', resourceId: data.opaque(1, 'resource_id') };
      break;
    case DestinationType.opaque_id_type:
      d = { type: 'opaque', opaqueId: data.opaque(1, 'opaque_id') };
      break;
    default:
      d = { type: 'unknown', code: first, data: data.bytes(data.remaining, 'data') };
  }
  data.expectEnd();
  return d;
}

/** Writes one Destination. */
export function writeDestination(w: Writer, d: Destination, nodeIdLength: number): void {
  if (typeof d !== 'object' || d === null) w.fail('', 'not a Destination');
  switch (d.type) {
    case 'compressed':
      if (!Number.isInteger(d.id) || d.id < 0x8000 || d.id > 0xffff) w.fail('opaque_id', `compressed id ${String(d.id)} must be 0x8000..0xffff`);
      w.u16(d.id, 'opaque_id');
      return;
    case 'node':
      if (!(d.nodeId instanceof Uint8Array) || d.nodeId.length !== nodeIdLength) {
        w.fail('node_id', `a Node-ID is ${nodeIdLength} bytes`);
      }
      w.u8(DestinationType.node, 'type');
      w.prefixed(1, 'length', () => w.bytes(d.nodeId, 'node_id'));
      return;
    case 'resource':
      w.u8(DestinationType.resource, 'type');
      w.prefixed(1, 'length', () => w.opaque(1, d.resourceId, 'resource_id', 254));
      return;
    case 'opaque':
      w.u8(DestinationType.opaque_id_type, 'type');
      w.prefixed(1, 'length', () => w.opaque(1, d.opaqueId, 'opaque_id', 254));
      return;
    case 'unknown':
      if (!Number.isInteger(d.code) || d.code < 4 || d.code > 127) w.fail('type', `unknown DestinationType ${String(d.code)} must be 4..127`);
      w.u8(d.code, 'type');
      w.opaque(1, d.data, 'destination_data');
      return;
    default:
      w.fail('type', 'not a Destination');
  }
}

/** Reads a Via or Destination List filling `r` (RFC 6940 §6.3.2). */
export function readDestinationList(r: Reader, nodeIdLength: number, isVia: boolean): Destination[] {
  const list = r.items((it) => readDestination(it, nodeIdLength));
  checkResourcePlacement(list, isVia, (i, detail) => r.fail(`[${i}]`, detail));
  return list;
}

/** Writes the entries of a Via or Destination List (no length: the caller back-patches it). */
export function writeDestinationList(w: Writer, list: readonly Destination[], nodeIdLength: number, isVia: boolean): void {
  if (!Array.isArray(list)) w.fail('', 'not a list');
  checkResourcePlacement(list, isVia, (i, detail) => w.fail(`[${i}]`, detail));
  list.forEach((d, i) => w.scoped(`[${i}]`, () => writeDestination(w, d, nodeIdLength)));
}

// RFC 6940 §6.3.2.2: a Resource-ID appears only last in a Destination List, never in a Via List.
function checkResourcePlacement(list: readonly Destination[], isVia: boolean, fail: (index: number, detail: string) => never): void {
  for (let i = 0; i < list.length; i++) {
    if (list[i]?.type !== 'resource') continue;
    if (isVia) fail(i, 'a Resource-ID must not appear in a Via List');
    if (i !== list.length - 1) fail(i, 'a Resource-ID may only be the last entry of a Destination List');
  }
}
