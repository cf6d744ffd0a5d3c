import { DestinationType, MAX_NODE_ID_LENGTH, MIN_NODE_ID_LENGTH } from '../codec/index.js';
import { fromHex, toHex } from './bytes-hex.js';

/**
 * The RELOAD URI of a Node-ID as certificates carry it (RFC 6940 §11.3, §14.15):
 * `reload://<hex Destination List>@<overlay>/`, the list holding one `node` Destination
 * (type 0x01, length, Node-ID bytes).
 */
export function reloadNodeUri(nodeId: Uint8Array, overlay: string): string {
  const dest = new Uint8Array(2 + nodeId.length);
  dest[0] = DestinationType.node;
  dest[1] = nodeId.length;
  dest.set(nodeId, 2);
  return `reload://${toHex(dest)}@${overlay}/`;
}

/**
 * The Node-ID and overlay of a RELOAD node URI, or undefined when `uri` is not one. Accepts the
 * RFC form (a Destination List of one node entry) and, leniently, a bare hex Node-ID.
 */
export function parseReloadNodeUri(uri: string): { nodeId: Uint8Array; overlay: string } | undefined {
  const m = /^reload:\/\/([0-9a-fA-F]+)@([^/@\s]+)\/$/.exec(uri);
  if (m === null) return undefined;
  const bytes = fromHex(m[1]!);
  if (bytes === undefined) return undefined;
  const overlay = m[2]!;
  if (bytes[0] === DestinationType.node && bytes[1] === bytes.length - 2 && isNodeIdLength(bytes.length - 2)) {
    return { nodeId: bytes.slice(2), overlay };
  }
  if (isNodeIdLength(bytes.length)) return { nodeId: bytes, overlay };
  return undefined;
}

function isNodeIdLength(n: number): boolean {
  return n >= MIN_NODE_ID_LENGTH && n <= MAX_NODE_ID_LENGTH;
}
