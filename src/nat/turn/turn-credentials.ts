/**
 * Credential lookups for the TURN server (a {@link TurnKeyLookup}): an operator's static users, and
 * the composition of several sources (static users first, then the overlay's per-peer credentials).
 */
import { longTermKey } from '../stun/stun-message.js';
import type { TurnKeyLookup } from './turn-server-auth.js';

/** Static users of one realm (`username → password`); keys are computed once. */
export function staticTurnUsers(realm: string, users: Readonly<Record<string, string>> | ReadonlyMap<string, string>): TurnKeyLookup {
  const keys = new Map<string, Uint8Array>();
  const entries = users instanceof Map ? [...users.entries()] : Object.entries(users);
  for (const [u, p] of entries) keys.set(u, longTermKey(u, realm, p));
  return (username, r) => (r === realm ? keys.get(username) : undefined);
}

/** The first key any of `lookups` gives. */
export function firstKey(...lookups: readonly TurnKeyLookup[]): TurnKeyLookup {
  return (username, realm) => {
    for (const l of lookups) {
      const k = l(username, realm);
      if (k !== undefined) return k;
    }
    return undefined;
  };
}
