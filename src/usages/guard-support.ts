/** What the usages' storing-peer guards (USAGE-GUARD Kinds) share: their counters and small checks. */
import type { GuardDecision, GuardRequest } from '../reload/storage/index.js';
import { bytesEqual } from '../lib/bytes.js';

/** Values a guard let in (new or replaced), removals it let in, and refusals. */
export interface GuardCounts {
  kept: number;
  removed: number;
  refused: number;
}

/** Counts `d` (a decision about `r`) in `counts` and returns it. */
export function counted(counts: GuardCounts, r: GuardRequest, d: GuardDecision): GuardDecision {
  if (!d.ok) counts.refused++;
  else if (r.data.value.value.exists) counts.kept++;
  else counts.removed++;
  return d;
}

/** Whether the signer is enrolled as the user whose Resource-ID this is (USER-MATCH, RFC 6940 §7.3.1). */
export function signerIsResourceUser(r: GuardRequest, userResourceId: (userName: string) => Uint8Array): boolean {
  return r.signer.userName !== '' && bytesEqual(userResourceId(r.signer.userName), r.resource);
}
