/**
 * The pure heart of RFC 3261 §10.3 steps 6–8: merge a REGISTER's contacts into an AoR's bindings,
 * honouring Call-ID/CSeq ordering, '*', expiry and removal. Shared by every LocationService.
 *
 * A binding is kept long after its REGISTER, so it owns its strings (`detachNameAddr`,
 * `detachString`): a field parsed from the message is a view into the message's whole header
 * section, which it would otherwise keep alive (issue 14: ~25 KB per binding sent in a REGISTER
 * padded to 25 KB).
 */
import { detachNameAddr, detachString, formatNameAddr, uriEquals } from '../message/index.js';
import type { Binding, BindingChange, BindingUpdateResult } from './location-service.js';

export interface ApplyRegisterLimits {
  /** Most contacts one AoR may hold (default 16). */
  maxBindingsPerAor: number;
  /**
   * Most bytes one AoR's bindings may hold, each counted as its Contact as kept plus its Call-ID
   * ({@link bindingBytes}; default 16,384). A change that would go past it and adds bytes is refused.
   */
  maxAorBytes: number;
}

export const DEFAULT_APPLY_REGISTER_LIMITS: Readonly<ApplyRegisterLimits> = Object.freeze({
  maxBindingsPerAor: 16,
  maxAorBytes: 16_384,
});

const sizes = new WeakMap<Binding, number>();

/** What a binding costs towards maxAorBytes: its Contact as kept (name-addr, UTF-8) and its Call-ID. */
export function bindingBytes(b: Binding): number {
  let n = sizes.get(b);
  if (n === undefined) {
    n = Buffer.byteLength(formatNameAddr(b.contact)) + Buffer.byteLength(b.callId);
    sizes.set(b, n);
  }
  return n;
}

function totalBytes(bindings: readonly Binding[]): number {
  let n = 0;
  for (const b of bindings) n += bindingBytes(b);
  return n;
}

export function applyRegister(
  aor: string,
  existing: readonly Binding[],
  change: BindingChange,
  now: number,
  limits: ApplyRegisterLimits,
): BindingUpdateResult {
  const live = existing.filter((b) => b.expiresAt > now);
  if (change.contacts === '*') {
    // RFC 3261 §10.3 step 6: '*' removes every binding whose Call-ID differs or whose CSeq is lower.
    for (const b of live) {
      if (b.callId === change.callId && b.cseq > change.cseq) return { ok: false, reason: 'out-of-order' };
    }
    return { ok: true, bindings: [] };
  }
  const result = live.slice();
  // the AoR and Call-ID the new bindings share, copied once (when there is a new binding)
  let callId: string | undefined;
  for (const c of change.contacts) {
    const i = result.findIndex((b) => uriEquals(b.contact.uri, c.contact.uri));
    const old = i >= 0 ? result[i] : undefined;
    // §10.3 step 7: same Call-ID needs a higher CSeq, otherwise the update is aborted. The same
    // CSeq is the same request again: REGISTER is answered statelessly (§8.2.7), so a retransmission
    // reaches us and must get the same answer — the binding is left as it is.
    if (old !== undefined && old.callId === change.callId) {
      if (old.cseq > change.cseq) return { ok: false, reason: 'out-of-order' };
      if (old.cseq === change.cseq) continue;
    }
    if (c.expiresSec === 0) {
      if (i >= 0) result.splice(i, 1);
      continue;
    }
    const binding: Binding = {
      aor, // canonicalAor gives a string of its own (see LocalIdentity.canonicalAor)
      contact: detachNameAddr(c.contact),
      expiresAt: now + c.expiresSec * 1000,
      q: c.q,
      callId: (callId ??= detachString(change.callId)),
      cseq: change.cseq,
      source: change.source,
      flowId: change.flowId,
    };
    if (i >= 0) result[i] = binding;
    else result.push(binding);
  }
  if (result.length > limits.maxBindingsPerAor) return { ok: false, reason: 'too-many-bindings' };
  if (callId !== undefined) {
    const bytes = totalBytes(result);
    if (bytes > limits.maxAorBytes && bytes > totalBytes(live)) return { ok: false, reason: 'aor-too-large', limit: limits.maxAorBytes };
  }
  return { ok: true, bindings: sortByQ(result) };
}

/** Highest q first; equal q keeps registration order. */
export function sortByQ(bindings: Binding[]): Binding[] {
  return bindings
    .map((b, i) => ({ b, i }))
    .sort((x, y) => y.b.q - x.b.q || x.i - y.i)
    .map((x) => x.b);
}
