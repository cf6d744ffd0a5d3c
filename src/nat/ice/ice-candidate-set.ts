/**
 * The candidates one agent knows: its own (signalled, their bases, peer-reflexive ones learned from
 * answers, §7.2.5.3.1) and the peer's (signalled, peer-reflexive ones learned from checks, §7.3.1.3),
 * learned ones bounded by `maxPeerReflexive` each.
 */
import type { StunAddress } from '../stun/stun-message.js';
import { checkRemoteCandidate, computeFoundation, eliminateRedundant, makeLocalCandidate, sameAddress, sameFamily } from './ice-candidate.js';
import type { LocalCandidate, LocalCandidateInput, RemoteCandidate, RemoteCandidateInput } from './ice-candidate.js';

export class IceCandidateSet {
  /** What the Attach carries. */
  readonly signalled: readonly LocalCandidate[];
  private readonly locals: LocalCandidate[];
  /** The bases checks go from: host and relayed candidates (a reflexive one's base made up when not given). */
  private readonly bases: LocalCandidate[] = [];
  private readonly remoteList: RemoteCandidate[] = [];
  private learnedRemote = 0;
  private learnedLocal = 0;

  constructor(
    inputs: readonly LocalCandidateInput[],
    private readonly maxPeerReflexive: number,
  ) {
    this.signalled = eliminateRedundant(inputs.map(makeLocalCandidate));
    this.locals = [...this.signalled];
    for (const c of this.signalled) {
      const b = this.baseOf(c);
      if (!this.bases.includes(b)) this.bases.push(b);
    }
  }

  get localCount(): number {
    return this.locals.length;
  }

  remotes(): readonly RemoteCandidate[] {
    return this.remoteList;
  }

  /** Takes the peer's candidates; returns how many were skipped (unusable, or a duplicate address). */
  setRemotes(inputs: readonly RemoteCandidateInput[]): number {
    let skipped = 0;
    for (const input of inputs) {
      const c = checkRemoteCandidate(input);
      if (!c.ok) {
        skipped++;
        continue;
      }
      const i = this.remoteList.findIndex((r) => sameAddress(r.address, c.value.address));
      if (i < 0) this.remoteList.push(c.value);
      else {
        skipped++;
        if (this.remoteList[i]!.priority < c.value.priority) this.remoteList[i] = c.value;
      }
    }
    return skipped;
  }

  /** RFC 8445 §6.1.2.4: a reflexive candidate's base (host/relayed candidates are their own). */
  baseOf(c: LocalCandidate): LocalCandidate {
    if (c.type === 'host' || c.type === 'relay') return c;
    const found = this.signalled.find((h) => (h.type === 'host' || h.type === 'relay') && h.base === c.base && sameAddress(h.address, c.baseAddress));
    if (found !== undefined) return found;
    const made = this.bases.find((h) => h.base === c.base && sameAddress(h.address, c.baseAddress));
    if (made !== undefined) return made;
    return makeLocalCandidate({ type: 'host', address: c.baseAddress, base: c.base, localPreference: Math.floor(c.priority / 256) % 65_536 });
  }

  /**
   * The base candidate a check from `from` arrived on (§7.3.1.4): of base `base` and `from`'s family,
   * the one at `localAddress` when the owner knows it, else the best.
   */
  baseFor(base: string, from: StunAddress, localAddress: StunAddress | undefined): LocalCandidate | undefined {
    const fits = this.bases.filter((b) => b.base === base && sameFamily(b.address, from));
    if (localAddress !== undefined) {
      const exact = fits.find((b) => sameAddress(b.address, localAddress));
      if (exact !== undefined) return exact;
    }
    return fits[0];
  }

  /** The remote candidate at `from`, or a new peer-reflexive one (§7.3.1.3); undefined past the limit. */
  remoteAt(from: StunAddress, priority: number): { candidate: RemoteCandidate; learned: boolean } | undefined {
    const known = this.remoteList.find((r) => sameAddress(r.address, from));
    if (known !== undefined) return { candidate: known, learned: false };
    if (this.learnedRemote >= this.maxPeerReflexive) return undefined;
    this.learnedRemote++;
    const candidate: RemoteCandidate = { type: 'prflx', address: from, priority, foundation: `prflx${this.learnedRemote}` };
    this.remoteList.push(candidate);
    return { candidate, learned: true };
  }

  /**
   * Our candidate at `mapped` on the base of `checked` (the check's XOR-MAPPED-ADDRESS), or a new
   * peer-reflexive one with the PRIORITY the check carried (§7.2.5.3.1); undefined past the limit or for
   * an impossible address.
   */
  localAt(mapped: StunAddress, checked: LocalCandidate, priority: number): { candidate: LocalCandidate; learned: boolean } | undefined {
    const known = this.locals.find((c) => c.base === checked.base && sameAddress(c.address, mapped));
    if (known !== undefined) return { candidate: known, learned: false };
    if (this.learnedLocal >= this.maxPeerReflexive) return undefined;
    let candidate: LocalCandidate;
    try {
      candidate = makeLocalCandidate({
        type: 'prflx',
        address: mapped,
        base: checked.base,
        baseAddress: checked.baseAddress,
        related: checked.baseAddress,
        priority,
        foundation: computeFoundation('prflx', checked.baseAddress.host),
      });
    } catch {
      return undefined; // an address the peer made up (port 0, another family): not a candidate of ours
    }
    this.learnedLocal++;
    this.locals.push(candidate);
    return { candidate, learned: true };
  }
}
