/**
 * A full ICE agent (RFC 8445) for one single-component stream, as RELOAD profiles it (RFC 6940
 * §6.5.1.3–§6.5.1.14): all candidates at once (no trickle), no default candidates, no subsequent
 * offer, regular nomination by the controlling side (the Attach requester), unused candidates freed
 * as soon as a pair is selected (§6.5.1.10.2), STUN consent checks as keepalives (RFC 7675).
 *
 * Sans-I/O: it owns no socket and no timer of its own. It sends through `host.send(base, …)` (the
 * owner routes by base: the UDP socket, or a TURN allocation), runs on the injected Clock and Random,
 * and is handed the STUN messages that belong to it (`receive`: requests whose USERNAME starts with
 * `localUfrag`, responses whose transaction `ownsTransaction`). Checks are StunClient transactions
 * (one client per base); responses are processed synchronously in `receive`, timeouts when the
 * transaction's outcome settles.
 *
 * Lifecycle: new → (start) checking → completed | failed; stop() from any state. Before `start()`
 * (the requester still waiting for the Attach answer) checks are answered and remembered, and become
 * triggered checks once the remote side is known (RFC 8445 §7.3, "early" checks).
 */
import type { TimerHandle } from '../../lib/clock.js';
import { EventHub } from '../../lib/event-hub.js';
import type { EventSource } from '../../lib/event-hub.js';
import { canonicalIp } from '../../lib/ip.js';
import type { StunOutcome } from '../stun/stun-client.js';
import { StunAttr, StunMethod, attr, checkIntegrity, readErrorCode, readText, shortTermKey } from '../stun/stun-message.js';
import type { DecodedStun, StunAddress } from '../stun/stun-message.js';
import { ConsentFreshness } from './consent-freshness.js';
import { addressKey, checkCredentials, generateTieBreaker, pairTypes, peerReflexivePriority, sameAddress } from './ice-candidate.js';
import type { LocalCandidate } from './ice-candidate.js';
import { IceCandidateSet } from './ice-candidate-set.js';
import { resolveIceOptions, zeroCounters } from './ice-agent-options.js';
import type {
  IceAgentDeps,
  IceAgentEvents,
  IceAgentOptions,
  IceAgentState,
  IceCounters,
  IceFailureCode,
  IceLocalParameters,
  IceRemoteParameters,
  IceSelectedPair,
  IceSnapshot,
  ResolvedIceOptions,
} from './ice-agent-options.js';
import { CheckList } from './ice-check-list.js';
import type { CandidatePair, ValidPair } from './ice-check-list.js';
import { checkAttributes, checkError, checkSuccess, mappedAddress, verifyCheck } from './ice-check-messages.js';
import type { IceRole } from './ice-check-messages.js';
import { IceError } from './ice-error.js';
import { IceTransactions, MAX_STALE_CHECKS } from './ice-transactions.js';
import type { IceTransaction } from './ice-transactions.js';

/** The agent's life (RFC 8445 §6.1.2.1 check-list states, plus new and stopped). */
const AGENT_TRANSITIONS: Readonly<Record<IceAgentState, readonly IceAgentState[]>> = {
  new: ['checking', 'stopped'],
  checking: ['completed', 'failed', 'stopped'],
  completed: ['stopped'],
  failed: ['stopped'],
  stopped: [],
};

/** Times a nomination check is repeated after a timeout before its pair fails. */
const NOMINATION_RETRIES = 2;
/** Added to 2 × RTT before a silent better pair is given up for nomination (timer and scheduling slack). */
const EARLY_NOMINATION_MARGIN_MS = 10;

/** A check received before `start()`. */
interface EarlyCheck {
  readonly from: StunAddress;
  readonly base: string;
  readonly localAddress: StunAddress | undefined;
  readonly remoteUfrag: string;
  readonly priority: number;
  readonly useCandidate: boolean;
}

export class IceAgent {
  readonly events: EventSource<IceAgentEvents>;
  private readonly hub = new EventHub<IceAgentEvents>();
  private readonly o: ResolvedIceOptions;
  private readonly ufrag: string;
  private readonly password: string;
  private readonly localKey: Uint8Array;
  private readonly tieBreaker: bigint;
  private currentRole: IceRole;
  private readonly cands: IceCandidateSet;
  private remote: { ufrag: string; key: Uint8Array } | undefined;
  private readonly list: CheckList;
  private readonly txs: IceTransactions;
  private early: EarlyCheck[] = [];
  private current: IceAgentState = 'new';
  private tickTimer: TimerHandle | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private nominationTimer: TimerHandle | undefined;
  /** When the nomination timer fires (clock ms). */
  private nominationAt = Infinity;
  /** When the first valid pair appeared (the latest nomination is `nominationDelayMs` after it). */
  private firstValidAt: number | undefined;
  private lastCheckAt = Number.NEGATIVE_INFINITY;
  private startedAt = 0;
  private nominatingPair: CandidatePair | undefined;
  private selectedPair: ValidPair | undefined;
  private report: IceSelectedPair | undefined;
  private consent: ConsentFreshness | undefined;
  private consentCheck: IceTransaction | undefined;
  private failure: { code: IceFailureCode; reason: string } | undefined;
  private readonly counts: IceCounters = zeroCounters();

  constructor(
    private readonly deps: IceAgentDeps,
    local: IceLocalParameters,
    options: IceAgentOptions = {},
  ) {
    this.o = resolveIceOptions(options);
    checkCredentials(local.ufrag, local.password, 'local');
    if (local.role !== 'controlling' && local.role !== 'controlled') throw new IceError('ICE_BAD_OPTION', 'ICE role must be controlling or controlled');
    if (!Array.isArray(local.candidates) || local.candidates.length > this.o.maxLocalCandidates) {
      throw new IceError('ICE_BAD_CANDIDATE', `at most ${this.o.maxLocalCandidates} local candidates (got ${Array.isArray(local.candidates) ? local.candidates.length : 'none'})`);
    }
    const tb = local.tieBreaker ?? generateTieBreaker(deps.random);
    if (typeof tb !== 'bigint' || tb < 0n || tb > 0xffff_ffff_ffff_ffffn) throw new IceError('ICE_BAD_OPTION', 'ICE tie-breaker must be a 64-bit unsigned bigint');
    this.events = this.hub;
    this.ufrag = local.ufrag;
    this.password = local.password;
    this.localKey = shortTermKey(local.password);
    this.tieBreaker = tb;
    this.currentRole = local.role;
    this.cands = new IceCandidateSet(local.candidates, this.o.maxPeerReflexive);
    this.list = new CheckList(this.o.maxPairs);
    this.txs = new IceTransactions({ ...deps, retransmitted: () => void this.counts.retransmissions++ }, this.o.maxPairs * (MAX_STALE_CHECKS + 1) + 4);
  }

  /** The ufrag the owner demultiplexes requests by (USERNAME `localUfrag:…`). */
  get localUfrag(): string {
    return this.ufrag;
  }

  /** What our Attach request or answer carries. */
  localParameters(): { ufrag: string; password: string; candidates: readonly LocalCandidate[] } {
    return { ufrag: this.ufrag, password: this.password, candidates: this.cands.signalled };
  }

  get role(): IceRole {
    return this.currentRole;
  }

  state(): IceAgentState {
    return this.current;
  }

  /** The selected pair, once `selected` was reported. */
  selected(): IceSelectedPair | undefined {
    return this.report;
  }

  counters(): IceCounters {
    return { ...this.counts };
  }

  /**
   * Starts the checks with the peer's parameters. Throws, having read and changed nothing, when the
   * peer offers more than `maxRemoteCandidates` candidates or bad credentials; single candidates that
   * cannot be used are skipped and counted.
   */
  start(remote: IceRemoteParameters): void {
    if (this.current !== 'new') throw new IceError('ICE_BAD_STATE', `ICE agent cannot start in state ${this.current}`);
    if (!Array.isArray(remote.candidates)) throw new IceError('ICE_BAD_CANDIDATE', 'the remote candidates are not a list');
    const n = remote.candidates.length;
    if (n > this.o.maxRemoteCandidates) {
      throw new IceError('ICE_TOO_MANY_CANDIDATES', `the peer offered ${n} candidates; at most ${this.o.maxRemoteCandidates} are accepted`);
    }
    checkCredentials(remote.ufrag, remote.password, 'remote');
    this.counts.remoteCandidatesIgnored += this.cands.setRemotes(remote.candidates);
    this.remote = { ufrag: remote.ufrag, key: shortTermKey(remote.password) };
    this.list.form(this.cands.signalled, this.cands.remotes(), this.currentRole === 'controlling', (c) => this.cands.baseOf(c));
    this.transition('checking');
    this.startedAt = this.deps.clock.now();
    this.deadlineTimer = this.deps.clock.setTimer(this.o.deadlineMs, () => {
      this.deadlineTimer = undefined;
      const c = this.list.counts();
      this.fail('timeout', `no pair selected within ${this.o.deadlineMs} ms (${c.succeeded} succeeded, ${c.failed} failed, ${c['in-progress']} in progress)`);
    });
    const early = this.early;
    this.early = [];
    for (const e of early) if (e.remoteUfrag === remote.ufrag) this.onPeerCheck(e.from, e.base, e.localAddress, e.priority, e.useCandidate);
    if (this.list.pairs().length === 0) {
      this.tickTimer = this.deps.clock.setTimer(0, () => {
        this.tickTimer = undefined;
        if (this.list.pairs().length === 0) this.fail('no-pairs', 'no candidate pair: no local and remote candidates of one address family');
        else this.scheduleTick();
      });
      return;
    }
    this.scheduleTick();
  }

  /** True when `tid` is one of our transactions (checks, consent checks) still listened to. */
  ownsTransaction(tid: Uint8Array): boolean {
    return this.txs.get(tid) !== undefined;
  }

  /**
   * A STUN message for this agent, received on `base` from `from` (`localAddress`: the address it
   * arrived at, when the owner knows it; else the base's candidate of `from`'s family is assumed).
   * True when consumed. After `stop()`, nothing is.
   */
  receive(msg: DecodedStun, from: StunAddress, base: string, localAddress?: StunAddress): boolean {
    if (this.current === 'stopped' || msg.method !== StunMethod.Binding) return false;
    const src = { host: canonicalIp(from.host) ?? from.host, port: from.port };
    if (msg.cls === 'request') return this.onRequest(msg, src, base, localAddress);
    if (msg.cls !== 'success' && msg.cls !== 'error') return false;
    const t = this.txs.get(msg.transactionId);
    if (t === undefined) return false;
    this.onResponse(t, msg, src, base);
    return true;
  }

  /** Cancels every transaction and timer; reports nothing more. Idempotent. */
  stop(): void {
    if (this.current === 'stopped') return;
    this.transition('stopped');
    this.cancelTimers();
    this.consent?.stop();
    this.txs.stop();
    this.consentCheck = undefined;
    this.early = [];
  }

  /** A snapshot for the status page. */
  describe(): IceSnapshot {
    const s: IceSnapshot = {
      state: this.current,
      role: this.currentRole,
      localUfrag: this.ufrag,
      pairs: this.list.counts(),
      validPairs: this.list.valid().length,
      triggeredQueue: this.list.queued(),
      localCandidates: this.cands.localCount,
      remoteCandidates: this.cands.remotes().length,
      pendingTransactions: this.txs.size,
      counters: this.counters(),
    };
    if (this.report !== undefined) {
      const r = this.report;
      s.selected = { types: r.types, local: addressKey(r.local.address), base: r.base, remote: addressKey(r.remoteAddress), rttMs: r.rttMs };
    }
    if (this.failure !== undefined) s.failure = { ...this.failure };
    if (this.consent !== undefined) s.consent = { state: this.consent.state, lastAnsweredMsAgo: this.deps.clock.now() - this.consent.lastGrantedAt };
    return s;
  }

  // ---- answering checks (RFC 8445 §7.3) ----

  private onRequest(msg: DecodedStun, from: StunAddress, base: string, localAddress: StunAddress | undefined): boolean {
    const user = readText(attr(msg, StunAttr.USERNAME));
    if (user === undefined || user.split(':', 1)[0] !== this.ufrag) return false; // a plain Binding request, or another session's
    const v = verifyCheck(msg, this.ufrag, this.localKey, this.remote?.ufrag);
    if (!v.ok) {
      if (v.status === 401) this.counts.badCredentials++;
      else this.counts.badRequests++;
      this.deps.host.send(base, checkError(msg, v.status, v.reason, v.authenticated ? this.localKey : undefined, v.unknown, this.o.software), from);
      return true;
    }
    this.counts.checksReceived++;
    // §7.3.1.1: a role conflict is answered 487 by the side that keeps its role, the other switches
    if (v.claimed !== undefined && v.claimed.role === this.currentRole) {
      this.counts.roleConflicts++;
      const oursWins = this.tieBreaker >= v.claimed.tieBreaker;
      if ((this.currentRole === 'controlling') === oursWins) {
        this.deps.host.send(base, checkError(msg, 487, 'Role Conflict', this.localKey, undefined, this.o.software), from);
        return true;
      }
      this.switchRole(this.currentRole === 'controlling' ? 'controlled' : 'controlling');
    }
    // §7.3.1.2: answered from the base it came to, XOR-MAPPED-ADDRESS = its source
    this.deps.host.send(base, checkSuccess(msg, from, this.localKey, this.o.software), from);
    if (this.current === 'new') this.remember({ from, base, localAddress, remoteUfrag: v.remoteUfrag, priority: v.priority, useCandidate: v.useCandidate });
    else if (this.current === 'checking') this.onPeerCheck(from, base, localAddress, v.priority, v.useCandidate);
    return true;
  }

  private remember(e: EarlyCheck): void {
    const i = this.early.findIndex((x) => x.base === e.base && sameAddress(x.from, e.from));
    if (i >= 0) {
      if (e.useCandidate) this.early[i] = e;
      return;
    }
    if (this.early.length >= this.o.maxEarlyChecks) {
      this.counts.refusedByLimit++;
      return;
    }
    this.counts.earlyChecks++;
    this.early.push(e);
  }

  /** §7.3.1.3–§7.3.1.5: learn a peer-reflexive remote candidate, trigger a check, note a nomination. */
  private onPeerCheck(from: StunAddress, base: string, localAddress: StunAddress | undefined, priority: number, useCandidate: boolean): void {
    const local = this.cands.baseFor(base, from, localAddress);
    if (local === undefined) return;
    const remote = this.cands.remoteAt(from, priority);
    if (remote === undefined) {
      this.counts.refusedByLimit++;
      return;
    }
    if (remote.learned) this.counts.peerReflexiveRemote++;
    const p = this.list.get(local, remote.candidate) ?? this.list.add(local, remote.candidate, this.currentRole === 'controlling');
    if (p === undefined) {
      this.counts.refusedByLimit++;
      return;
    }
    const nominate = useCandidate && this.currentRole === 'controlled';
    if (p.state === 'succeeded') {
      if (nominate && p.valid !== undefined) this.complete(p.valid);
      return;
    }
    if (p.state === 'in-progress') this.txs.retire(p, false);
    if (nominate) p.nominateOnSuccess = true;
    if (this.list.trigger(p)) this.counts.triggeredChecks++;
    this.scheduleTick();
  }

  // ---- sending checks (RFC 8445 §6.1.4, §7.2.4) ----

  /** The Ta pacing timer: one new check per tick, triggered ones first; it stops when there is nothing to do. */
  private scheduleTick(): void {
    if (this.current !== 'checking' || this.tickTimer !== undefined) return;
    const delay = Math.max(0, this.lastCheckAt + this.o.taMs - this.deps.clock.now());
    this.tickTimer = this.deps.clock.setTimer(delay, () => {
      this.tickTimer = undefined;
      if (this.current !== 'checking') return;
      const p = this.list.next();
      if (p === undefined) return;
      this.sendCheck(p);
      this.lastCheckAt = this.deps.clock.now();
      this.scheduleTick();
    });
  }

  private sendCheck(p: CandidatePair): void {
    const rto = Math.min(Math.max(this.o.taMs * this.list.active(), this.o.checkRtoMs), this.o.checkRtoMaxMs); // §14.3, clamped
    this.list.setState(p, 'in-progress');
    const first = p.firstCheckAt === undefined;
    p.firstCheckAt ??= this.deps.clock.now();
    const useCandidate = this.currentRole === 'controlling' && p.nominating;
    this.request(p, p.local.base, p.remote.address, peerReflexivePriority(p.local.priority), useCandidate, rto, this.o.checkTransmissions, this.o.checkLastWaitFactor);
    this.counts.checksSent++;
    // the last unchecked better pair has now been asked: the early-nomination time may be known
    if (first) this.maybeNominate();
  }

  private request(pair: CandidatePair | undefined, base: string, to: StunAddress, priority: number, useCandidate: boolean, rtoMs: number, transmissions: number, lastWaitFactor: number): IceTransaction {
    const remote = this.remote!;
    const attrs = checkAttributes({
      username: `${remote.ufrag}:${this.ufrag}`,
      priority,
      role: this.currentRole,
      tieBreaker: this.tieBreaker,
      useCandidate,
      ...(this.o.software === undefined ? {} : { software: this.o.software }),
    });
    const opts = { rtoMs, maxTransmissions: transmissions, lastWaitFactor, integrityKey: remote.key, fingerprint: true };
    return this.txs.start(base, to, attrs, opts, { pair, priority, role: this.currentRole, useCandidate }, (t, o) => this.onGiveUp(t, o));
  }

  /**
   * A transaction timed out (or was refused): the pair failed (§7.2.5.2.2), unless the check was
   * cancelled — or it was a nomination (our USE-CANDIDATE check, or the check that is to confirm the
   * peer's): that one is repeated up to NOMINATION_RETRIES times, since the other side may already
   * have concluded on it (a lost answer must not leave one side Completed and the other Failed).
   */
  private onGiveUp(t: IceTransaction, o: StunOutcome): void {
    this.txs.forget(t);
    if (t === this.consentCheck) this.consentCheck = undefined;
    const p = t.pair;
    if (p === undefined || t.cancelled || p.state !== 'in-progress' || this.current !== 'checking') return;
    const nominating = this.currentRole === 'controlling' ? p.nominating : p.nominateOnSuccess;
    if (nominating && o.kind === 'timeout' && p.retries < NOMINATION_RETRIES) {
      p.retries++;
      this.list.trigger(p);
      this.scheduleTick();
      return;
    }
    this.pairFailed(p);
  }

  // ---- answers to our checks (RFC 8445 §7.2.5) ----

  private onResponse(t: IceTransaction, msg: DecodedStun, from: StunAddress, base: string): void {
    if (!checkIntegrity(msg, this.remote!.key)) {
      this.counts.unauthenticatedResponses++; // RFC 8489 §9.1.4: as if never received; retransmissions go on
      return;
    }
    const rttMs = this.txs.rttOf(t);
    const symmetric = base === t.base && sameAddress(from, t.to);
    this.txs.answered(t, msg, from, symmetric);
    const p = t.pair;
    if (p === undefined) {
      if (t === this.consentCheck) this.consentCheck = undefined;
      if (symmetric && msg.cls === 'success') {
        this.counts.consentAnswers++;
        this.consent?.granted();
      }
      return;
    }
    if (this.current !== 'checking') return;
    if (!symmetric) {
      this.counts.nonSymmetricResponses++; // §7.2.5.2.1: the check failed
      if (!t.cancelled && p.state === 'in-progress') this.pairFailed(p);
      return;
    }
    if (msg.cls === 'error') {
      if (t.cancelled) return;
      if (readErrorCode(attr(msg, StunAttr.ERROR_CODE))?.code === 487) {
        // §7.2.5.1: take the other role than the one the check claimed, and check the pair again
        this.counts.roleConflicts++;
        if (this.currentRole === t.role) this.switchRole(t.role === 'controlling' ? 'controlled' : 'controlling');
        if (this.current === 'checking' && (p.state === 'in-progress' || p.state === 'waiting')) {
          this.list.trigger(p);
          this.scheduleTick();
        }
        return;
      }
      if (p.state === 'in-progress') this.pairFailed(p); // §7.2.5.2.4 unrecoverable
      return;
    }
    this.onSuccess(t, p, msg, rttMs);
  }

  /** §7.2.5.3: a successful check: peer-reflexive local candidate, valid pair, unfreezing, nomination. */
  private onSuccess(t: IceTransaction, p: CandidatePair, msg: DecodedStun, rttMs: number | undefined): void {
    if (p.state === 'succeeded' || p.state === 'failed') return; // a duplicate, or a late answer after failure
    const mapped = mappedAddress(msg);
    if (mapped === undefined) {
      if (!t.cancelled && p.state === 'in-progress') this.pairFailed(p);
      return;
    }
    const found = this.cands.localAt(mapped, p.local, t.priority);
    if (found === undefined) this.counts.refusedByLimit++;
    else if (found.learned) this.counts.peerReflexiveLocal++;
    this.txs.retire(p, true);
    this.list.setState(p, 'succeeded');
    this.counts.checksSucceeded++;
    const v = this.list.addValid(found?.candidate ?? p.local, p.remote, p, this.currentRole === 'controlling');
    p.valid = v;
    if (rttMs !== undefined) v.rttMs = rttMs;
    this.list.unfreezeFoundation(p.foundation); // §7.2.5.3.3
    if (this.currentRole === 'controlling' ? t.useCandidate : p.nominateOnSuccess) {
      this.complete(v); // §7.2.5.3.4
      return;
    }
    if (p === this.nominatingPair) this.nominatingPair = undefined; // answered without USE-CANDIDATE (the role changed meanwhile)
    this.maybeNominate();
    this.scheduleTick();
  }

  private pairFailed(p: CandidatePair): void {
    this.txs.retire(p, true);
    this.list.setState(p, 'failed');
    this.counts.pairsFailed++;
    if (p.valid !== undefined || p.nominating) {
      p.nominating = false;
      this.list.dropValidOf(p);
    }
    if (p === this.nominatingPair) this.nominatingPair = undefined;
    this.maybeNominate();
    if (this.list.allFailed()) {
      this.fail('all-pairs-failed', `all ${this.list.pairs().length} candidate pairs failed`);
      return;
    }
    this.scheduleTick();
  }

  // ---- nomination (RFC 8445 §8.1.1, regular) ----

  /**
   * Controlling side: nominate the best valid pair when nothing better can still succeed; else when
   * every better pair has had its first check out for twice the valid pair's RTT (plus
   * EARLY_NOMINATION_MARGIN_MS) with no answer — a better path answers faster than the one found, so it
   * would have — and at the latest `nominationDelayMs` after the first valid pair. Across NATs the
   * better pairs are the peers' private host candidates, which never answer: the fixed wait cost every
   * connection the whole delay.
   */
  private maybeNominate(): void {
    if (this.currentRole !== 'controlling' || this.current !== 'checking' || this.nominatingPair !== undefined) return;
    const best = this.list.bestValid();
    if (best === undefined) return;
    const pending = this.list.pendingPairsAbove(best.priority);
    if (pending.length === 0) {
      this.nominate(best);
      return;
    }
    const now = this.deps.clock.now();
    this.firstValidAt ??= now;
    const latest = this.firstValidAt + this.o.nominationDelayMs;
    let early: number | undefined;
    if (best.rttMs !== undefined) {
      early = -Infinity;
      for (const p of pending) {
        if (p.firstCheckAt === undefined) {
          early = undefined; // not asked yet: decided when its first check goes (sendCheck)
          break;
        }
        early = Math.max(early, p.firstCheckAt + 2 * best.rttMs + EARLY_NOMINATION_MARGIN_MS);
      }
    }
    const at = Math.min(latest, early ?? Infinity);
    if (at <= now) {
      this.counts.earlyNominations += at < latest ? 1 : 0;
      this.nominate(best);
      return;
    }
    if (this.nominationTimer !== undefined && this.nominationAt <= at) return;
    this.nominationTimer?.cancel();
    this.nominationAt = at;
    this.nominationTimer = this.deps.clock.setTimer(at - now, () => {
      this.nominationTimer = undefined;
      this.maybeNominate();
    });
  }

  /** Repeats the check that produced `v`, this time with USE-CANDIDATE. */
  private nominate(v: ValidPair): void {
    this.nominationTimer?.cancel();
    this.nominationTimer = undefined;
    this.nominationAt = Infinity;
    const p = v.checked;
    this.nominatingPair = p;
    p.nominating = true;
    this.counts.nominations++;
    this.list.trigger(p);
    this.scheduleTick();
  }

  private switchRole(to: IceRole): void {
    if (this.currentRole === to) return;
    this.currentRole = to;
    this.counts.roleSwitches++;
    this.list.reprioritize(to === 'controlling');
    if (to === 'controlled') {
      if (this.nominatingPair !== undefined) this.nominatingPair.nominating = false;
      this.nominatingPair = undefined;
      this.nominationTimer?.cancel();
      this.nominationTimer = undefined;
    }
    this.hub.emit('role-changed', { role: to });
    if (to === 'controlling') this.maybeNominate();
  }

  // ---- conclusion (RFC 8445 §8, RFC 6940 §6.5.1.10.2) ----

  private complete(v: ValidPair): void {
    if (this.current !== 'checking') return;
    this.transition('completed');
    v.nominated = true;
    this.selectedPair = v;
    this.cancelTimers();
    this.txs.cancelAll(); // unused candidates are freed at once
    this.list.conclude();
    const report: IceSelectedPair = {
      local: v.local,
      remote: v.remote,
      base: v.checked.local.base,
      remoteAddress: v.remote.address,
      types: pairTypes(v.local, v.remote),
      rttMs: v.rttMs,
      role: this.currentRole,
      afterMs: this.deps.clock.now() - this.startedAt,
    };
    this.report = report;
    this.consent = new ConsentFreshness(
      { clock: this.deps.clock, random: this.deps.random, probe: () => this.sendConsentCheck(), lost: (silentMs) => this.onConsentLost(silentMs) },
      { intervalMs: this.o.consentIntervalMs, jitter: this.o.consentJitter, timeoutMs: this.o.consentTimeoutMs },
    );
    this.consent.start();
    this.hub.emit('selected', report);
  }

  private fail(code: IceFailureCode, reason: string): void {
    if (this.current !== 'checking') return;
    this.transition('failed');
    this.failure = { code, reason };
    this.cancelTimers();
    this.txs.cancelAll();
    this.list.conclude();
    this.hub.emit('failed', { code, reason });
  }

  // ---- consent freshness (RFC 7675) ----

  /** One consent check on the selected pair; the previous one, if still in flight, is given up (one at a time). */
  private sendConsentCheck(): void {
    const v = this.selectedPair;
    if (this.current !== 'completed' || v === undefined) return;
    if (this.consentCheck !== undefined) this.txs.forget(this.consentCheck);
    const o = this.o;
    this.consentCheck = this.request(undefined, v.checked.local.base, v.remote.address, peerReflexivePriority(v.checked.local.priority), false, o.consentRtoMs, o.consentTransmissions, 1);
    this.counts.consentChecksSent++;
  }

  private onConsentLost(silentMs: number): void {
    if (this.consentCheck !== undefined) this.txs.forget(this.consentCheck);
    this.consentCheck = undefined;
    if (this.report !== undefined) this.hub.emit('consent-lost', { pair: this.report, silentMs });
  }

  /** The one place the agent's state changes. */
  private transition(to: IceAgentState): void {
    if (!AGENT_TRANSITIONS[this.current].includes(to)) throw new IceError('ICE_ILLEGAL_TRANSITION', `ICE agent: illegal transition ${this.current} -> ${to}`);
    this.current = to;
  }

  private cancelTimers(): void {
    for (const t of [this.tickTimer, this.deadlineTimer, this.nominationTimer]) t?.cancel();
    this.tickTimer = undefined;
    this.deadlineTimer = undefined;
    this.nominationTimer = undefined;
  }
}
