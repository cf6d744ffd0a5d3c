/**
 * What an {@link IceAgent} needs (host interface, clock, random), its settings with their defaults,
 * and what it reports (events, counters, snapshot).
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { StunAddress } from '../stun/stun-message.js';
import { IceError } from './ice-error.js';
import type { LocalCandidate, LocalCandidateInput, RemoteCandidate, RemoteCandidateInput } from './ice-candidate.js';
import type { IceRole } from './ice-check-messages.js';
import type { PairState } from './ice-check-list.js';
import type { ConsentState } from './consent-freshness.js';

/** How the agent sends: the owner routes by base (the UDP socket, or a TURN allocation as Send/ChannelData). */
export interface IceHost {
  /**
   * Sends `datagram` from the local base `base` ('host', 'relay:1'… as in the local candidates) to
   * `to`. Never throws; a datagram that cannot go is simply lost (checks retransmit).
   */
  send(base: string, datagram: Uint8Array, to: StunAddress): void;
}

export interface IceAgentDeps {
  clock: Clock;
  random: Random;
  host: IceHost;
}

/** Our side, known when the agent is built (it is what the Attach request/answer carries). */
export interface IceLocalParameters {
  /** ice-chars, 4–256 (RFC 8445 §5.3); see generateCredentials(). */
  ufrag: string;
  /** ice-chars, 16–256 (22+ recommended). */
  password: string;
  /** Gathered by the owner: host, server-reflexive, relayed. */
  candidates: LocalCandidateInput[];
  /** RFC 6940 §6.5.1.9: the Attach requester is controlling, the answerer controlled. */
  role: IceRole;
  /** 64-bit tie-breaker (RFC 8445 §5.2); random when absent. */
  tieBreaker?: bigint;
}

/** The peer's side, from its Attach request or answer (all candidates at once: no trickle). */
export interface IceRemoteParameters {
  ufrag: string;
  password: string;
  candidates: RemoteCandidateInput[];
}

export interface IceAgentOptions {
  /** Pacing of new checks, Ta (default 50 ms, RFC 8445 §14.2; a LAN deployment may use less). */
  taMs?: number;
  /**
   * Floor of a check's first RTO (default 100 ms). A check's RTO is RFC 8445 §14.3's
   * Ta × (Waiting + In-Progress pairs), clamped to [checkRtoMs, checkRtoMaxMs].
   */
  checkRtoMs?: number;
  /** Ceiling of a check's first RTO (default 500 ms). */
  checkRtoMaxMs?: number;
  /** Transmissions of one check, the RTO doubling each time (default 5: at 0, 1, 3, 7, 15 RTO). */
  checkTransmissions?: number;
  /** Wait after the last transmission, in RTOs (default 8: a check fails after 23 RTO, 2.3–11.5 s). */
  checkLastWaitFactor?: number;
  /** Candidate pairs in the check list at most (default 100, RFC 8445 §6.1.2.5). */
  maxPairs?: number;
  /** Remote candidates accepted; more and `start()` refuses (default 32). */
  maxRemoteCandidates?: number;
  /** Local candidates accepted by the constructor (default 16). */
  maxLocalCandidates?: number;
  /** Peer-reflexive candidates learned, remote and local each (default 8). */
  maxPeerReflexive?: number;
  /** Checks remembered that arrive before `start()` (default 16). */
  maxEarlyChecks?: number;
  /** No pair selected this long after `start()`: failed (default 10,000 ms). */
  deadlineMs?: number;
  /**
   * Regular nomination (RFC 8445 §8.1.1): the controlling agent nominates the best valid pair as
   * soon as no better pair can still succeed, or every better pair has been silent for twice the valid
   * pair's RTT since its first check, or at the latest this long after the first valid pair (default 1,000 ms).
   */
  nominationDelayMs?: number;
  /** Consent freshness (RFC 7675): mean interval (default 5,000 ms) … */
  consentIntervalMs?: number;
  /** … randomisation (default 0.2: 4–6 s) … */
  consentJitter?: number;
  /** … and expiry (default 30,000 ms). */
  consentTimeoutMs?: number;
  /** A consent check's RTO (default 500 ms) … */
  consentRtoMs?: number;
  /** … and transmissions (default 4: at 0, 0.5, 1.5, 3.5 s, given up at 4 s, before the next one). */
  consentTransmissions?: number;
  /** SOFTWARE attribute on checks and answers (none by default). */
  software?: string;
}

export type ResolvedIceOptions = Required<Omit<IceAgentOptions, 'software'>> & { software: string | undefined };

export const DEFAULT_ICE_OPTIONS: Readonly<ResolvedIceOptions> = {
  taMs: 50,
  checkRtoMs: 100,
  checkRtoMaxMs: 500,
  checkTransmissions: 5,
  checkLastWaitFactor: 8,
  maxPairs: 100,
  maxRemoteCandidates: 32,
  maxLocalCandidates: 16,
  maxPeerReflexive: 8,
  maxEarlyChecks: 16,
  deadlineMs: 10_000,
  nominationDelayMs: 1_000,
  consentIntervalMs: 5_000,
  consentJitter: 0.2,
  consentTimeoutMs: 30_000,
  consentRtoMs: 500,
  consentTransmissions: 4,
  software: undefined,
};

const INTEGER_OPTIONS = new Set(['checkTransmissions', 'maxPairs', 'maxRemoteCandidates', 'maxLocalCandidates', 'maxPeerReflexive', 'maxEarlyChecks', 'consentTransmissions']);

/** Options with defaults; throws ICE_BAD_OPTION on a value that is not usable. */
export function resolveIceOptions(o: IceAgentOptions): ResolvedIceOptions {
  const r: ResolvedIceOptions = { ...DEFAULT_ICE_OPTIONS };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  for (const [k, v] of Object.entries(r)) {
    if (k === 'software') {
      if (v !== undefined && typeof v !== 'string') throw new IceError('ICE_BAD_OPTION', 'ICE option software must be a string');
      continue;
    }
    const zeroOk = k === 'consentJitter' || k === 'taMs';
    const ok = typeof v === 'number' && Number.isFinite(v) && (zeroOk ? v >= 0 : v > 0) && (!INTEGER_OPTIONS.has(k) || Number.isInteger(v));
    if (!ok) throw new IceError('ICE_BAD_OPTION', `ICE option ${k} must be a ${INTEGER_OPTIONS.has(k) ? 'positive integer' : zeroOk ? 'number >= 0' : 'number > 0'}`);
  }
  if (r.consentJitter >= 1) throw new IceError('ICE_BAD_OPTION', 'ICE option consentJitter must be below 1');
  if (r.checkRtoMaxMs < r.checkRtoMs) throw new IceError('ICE_BAD_OPTION', 'ICE option checkRtoMaxMs must be >= checkRtoMs');
  return r;
}

export type IceAgentState = 'new' | 'checking' | 'completed' | 'failed' | 'stopped';

export type IceFailureCode = 'all-pairs-failed' | 'no-pairs' | 'timeout';

/** The pair ICE selected, reported once (RFC 8445 §8.1.1 nominated on both sides). */
export interface IceSelectedPair {
  /** Our candidate the peer sees (its type: host, srflx, prflx, relay) with its base. */
  readonly local: LocalCandidate;
  readonly remote: RemoteCandidate;
  /** Where application data goes from: `local.base` ('host', 'relay:1'…). */
  readonly base: string;
  /** Where it goes to. */
  readonly remoteAddress: StunAddress;
  /** 'host→srflx' and the like. */
  readonly types: string;
  /** RTT of the last unretransmitted successful check of the pair (RFC 6940 §6.6.3.1 first sample). */
  readonly rttMs: number | undefined;
  /** Our role when it was selected. */
  readonly role: IceRole;
  /** Milliseconds from `start()`. */
  readonly afterMs: number;
}

export interface IceAgentEvents {
  /** Once, when a pair is nominated: ICE is Completed. */
  selected: IceSelectedPair;
  /** Once, when ICE cannot complete. */
  failed: { code: IceFailureCode; reason: string };
  /** Once, after `selected`: no consent-check answer for `silentMs` (RFC 7675 §5.1). Stop sending. */
  'consent-lost': { pair: IceSelectedPair; silentMs: number };
  /** A role conflict (RFC 8445 §7.2.5.1, §7.3.1.1) switched our role. */
  'role-changed': { role: IceRole };
}

export interface IceCounters {
  /** Checks started (first transmissions; triggered and nomination checks included). */
  checksSent: number;
  /** Authenticated checks received (answered with success or 487). */
  checksReceived: number;
  /** Retransmissions of our STUN requests (checks and consent checks). */
  retransmissions: number;
  triggeredChecks: number;
  checksSucceeded: number;
  pairsFailed: number;
  /** Checks answered 401 (wrong ufrag or integrity). */
  badCredentials: number;
  /** Checks answered 400 or 420. */
  badRequests: number;
  roleConflicts: number;
  roleSwitches: number;
  /** Responses to our checks whose integrity did not verify (ignored, RFC 8489 §9.1.4). */
  unauthenticatedResponses: number;
  /** Responses from another address or onto another base (the check failed, RFC 8445 §7.2.5.2.1). */
  nonSymmetricResponses: number;
  peerReflexiveRemote: number;
  peerReflexiveLocal: number;
  /** Peer-reflexive candidates, pairs or early checks refused by a limit. */
  refusedByLimit: number;
  remoteCandidatesIgnored: number;
  earlyChecks: number;
  nominations: number;
  /** Of those, made before `nominationDelayMs` because every better pair stayed silent for 2 RTT (ice-agent.ts). */
  earlyNominations: number;
  consentChecksSent: number;
  consentAnswers: number;
}

export function zeroCounters(): IceCounters {
  return {
    checksSent: 0,
    checksReceived: 0,
    retransmissions: 0,
    triggeredChecks: 0,
    checksSucceeded: 0,
    pairsFailed: 0,
    badCredentials: 0,
    badRequests: 0,
    roleConflicts: 0,
    roleSwitches: 0,
    unauthenticatedResponses: 0,
    nonSymmetricResponses: 0,
    peerReflexiveRemote: 0,
    peerReflexiveLocal: 0,
    refusedByLimit: 0,
    remoteCandidatesIgnored: 0,
    earlyChecks: 0,
    nominations: 0,
    earlyNominations: 0,
    consentChecksSent: 0,
    consentAnswers: 0,
  };
}

/** A JSON-friendly picture for the status page. */
export interface IceSnapshot {
  state: IceAgentState;
  role: IceRole;
  localUfrag: string;
  selected?: { types: string; local: string; base: string; remote: string; rttMs: number | undefined };
  failure?: { code: IceFailureCode; reason: string };
  pairs: Record<PairState, number>;
  validPairs: number;
  triggeredQueue: number;
  localCandidates: number;
  remoteCandidates: number;
  pendingTransactions: number;
  consent?: { state: ConsentState; lastAnsweredMsAgo: number };
  counters: IceCounters;
}
