import type { StoredDataValue } from '../codec/index.js';
import type { KindDefinition } from './kind.js';
import type { AccessIdentity } from './access-identity.js';
import { bytesEqual } from './resource-id-ring.js';

/** The overlay's hash of a Resource Name, truncated to the Resource-ID length (RFC 6940 §5.2). */
export type HashResourceName = (name: Uint8Array) => Uint8Array;

export type AccessDecision = { ok: true } | { ok: false; info: string };

const utf8 = new TextEncoder();

/** The Resource Name of a user (USER-MATCH, USER-NODE-MATCH): the user name's UTF-8 bytes. */
export function userResourceName(userName: string): Uint8Array {
  return utf8.encode(userName);
}

/**
 * NODE-MULTIPLE Resource Name `Node-ID || i` (RFC 6940 §7.3.4). The RFC does not give i's
 * encoding; one octet is used, as the TURN usage's `uint8 iteration` (§9) that this policy serves.
 */
export function nodeMultipleResourceName(nodeId: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(nodeId.length + 1);
  out.set(nodeId, 0);
  out[nodeId.length] = i & 0xff;
  return out;
}

/** Largest i accepted by NODE-MULTIPLE: one octet. */
export const MAX_NODE_MULTIPLE = 255;

/**
 * RFC 6940 §7.3: may `signer` write `entry` of `kind` at `resourceId`? Pure. NODE-MULTIPLE accepts
 * i in 0..max-node-multiple (TURN counts d from 1 to turn-density, §9; 0 costs nothing to allow).
 */
export function checkAccessPolicy(
  kind: KindDefinition,
  resourceId: Uint8Array,
  entry: StoredDataValue,
  signer: AccessIdentity,
  hash: HashResourceName,
): AccessDecision {
  const userMatches = (): boolean => signer.userName.length > 0 && bytesEqual(hash(userResourceName(signer.userName)), resourceId);
  switch (kind.accessControl) {
    // RFC 6940 §7.3.1
    case 'USER-MATCH':
      return userMatches() ? { ok: true } : { ok: false, info: `USER-MATCH: user '${signer.userName}' does not hash to the Resource-ID` };
    // RFC 6940 §7.3.2
    case 'NODE-MATCH':
      return signer.nodeIds.some((n) => bytesEqual(hash(n), resourceId))
        ? { ok: true }
        : { ok: false, info: 'NODE-MATCH: no Node-ID of the signer hashes to the Resource-ID' };
    // RFC 6940 §7.3.3
    case 'USER-NODE-MATCH': {
      if (entry.model !== 'dictionary') return { ok: false, info: 'USER-NODE-MATCH applies to dictionary Kinds only' };
      // proxyPeerWrites / grantedWrites: the user-name half is relaxed (grantedWrites: replaced by a
      // write grant, which the storing peer checks in planStore; a fetcher trusts it)
      if (kind.proxyPeerWrites !== true && kind.grantedWrites !== true && !userMatches()) return { ok: false, info: `USER-NODE-MATCH: user '${signer.userName}' does not hash to the Resource-ID` };
      return signer.nodeIds.some((n) => bytesEqual(n, entry.key))
        ? { ok: true }
        : { ok: false, info: "USER-NODE-MATCH: the dictionary key is not the signer's Node-ID" };
    }
    // RFC 6940 §7.3.4
    case 'NODE-MULTIPLE': {
      const max = kind.maxNodeMultiple;
      if (max === undefined || !Number.isInteger(max) || max < 1) return { ok: false, info: 'NODE-MULTIPLE: the Kind has no max-node-multiple' };
      const top = Math.min(max, MAX_NODE_MULTIPLE);
      for (const n of signer.nodeIds) {
        for (let i = 0; i <= top; i++) if (bytesEqual(hash(nodeMultipleResourceName(n, i)), resourceId)) return { ok: true };
      }
      return { ok: false, info: `NODE-MULTIPLE: no H(Node-ID || i), i <= ${top}, of the signer is the Resource-ID` };
    }
    // p2psip (issue 15): the Kind's KindGuard decides original Stores (store-handler.ts); a value's
    // signature is all a replica or a fetcher checks
    case 'USAGE-GUARD':
      return { ok: true };
    default:
      return { ok: false, info: `unknown access control policy '${String(kind.accessControl)}'` };
  }
}
