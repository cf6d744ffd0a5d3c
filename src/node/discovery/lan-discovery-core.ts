/**
 * LAN discovery, sans I/O (issue 15): answers mDNS queries for our DNS-SD service and the SIP
 * domain, browses for other peers of the same overlay and configuration (mDNS and the multicast
 * bootstrap Ping), and offers what it finds to a {@link BootstrapCandidateSink}. The platform adapter
 * (platform/lan-discovery.ts) owns the sockets and hands packets in; time and randomness are injected.
 *
 * Every input is bounded before it costs anything: packet size and counts ({@link viewOfPacket}),
 * a token bucket per source network, a global budget of answers, a bounded candidate table with a
 * re-offer throttle, and packets from sources that are on none of our links are dropped (RFC 6762
 * §11: a responder must not answer queries from off the local link).
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { SourceRateLimiter, type SourceRateLimit } from '../../nat/source-rate-limiter.js';
import type { BootstrapCandidate, BootstrapCandidateSink } from '../bootstrap-candidate.js';
import { BrowseBackoff, DEFAULT_BROWSE_BACKOFF, type BackoffOptions } from './browse-backoff.js';
import { DiscoveredCandidates, DEFAULT_DISCOVERED_CANDIDATES, type DiscoveredCandidatesOptions } from './discovered-candidates.js';
import { announcement, answerQuery, browseQuestions, hostName, instanceName, ownsName, readAdvertisements, SERVICE_TYPE, type Advertisement, type LinkAddresses } from './dns-sd-service.js';
import { DEFAULT_MDNS_LIMITS, viewOfPacket, type MdnsLimits, type MdnsQuestion, type MdnsRecord } from './mdns-model.js';
import { decodeBootstrapDatagram, encodeBootstrapAnswer, encodeBootstrapPing, type BootstrapSelf } from './multicast-bootstrap.js';
import { ProblemLog, type ProblemLogger } from './problem-log.js';

export const MDNS_PORT = 5353;
/** RFC 6762 §6.7: answers to legacy unicast queries carry a TTL of at most 10 s. */
const LEGACY_UNICAST_TTL_S = 10;
/** Pings whose answers we still accept. */
const MAX_OUTSTANDING_PINGS = 8;

export interface Endpoint {
  host: string;
  port: number;
}

export type MdnsOutgoing = { kind: 'query'; questions: MdnsQuestion[] } | { kind: 'response'; id: number; questions: MdnsQuestion[]; answers: MdnsRecord[]; additionals: MdnsRecord[] };

export interface LanDiscoveryTransport {
  /** Sends on the mDNS socket: to the group (224.0.0.251:5353) when `to` is absent, else unicast. */
  sendMdns(packet: MdnsOutgoing, to?: Endpoint): void;
  /** Sends a bootstrap datagram from the unicast socket: to the configured group when `to` is absent. */
  sendBootstrap(bytes: Uint8Array, to?: Endpoint): void;
}

export interface LanDiscoveryDeps {
  clock: Clock;
  random: Random;
  transport: LanDiscoveryTransport;
  /** Where candidates go (joining and merging decide what to do with them). */
  sink?: BootstrapCandidateSink;
  log?: ProblemLogger & { info(obj: object, msg: string): void };
  /** Our addresses on the subnet(s) that contain `source`; undefined: `source` is on none of our links. */
  linkAddresses(source: string): LinkAddresses | undefined;
  /** All our link addresses (for unsolicited announcements), loopback excluded when others exist. */
  allAddresses(): LinkAddresses;
}

export interface LanDiscoveryOptions {
  advertisement: Advertisement;
  /** Multicast bootstrap (undefined: off). */
  bootstrap?: BootstrapSelf;
  limits: MdnsLimits;
  table: DiscoveredCandidatesOptions;
  backoff: BackoffOptions;
  /** Per source network: packets accepted. */
  perSource: SourceRateLimit;
  /** Answers we send, all sources together, per second and burst. */
  answers: { ratePerS: number; burst: number };
}

export const DEFAULT_DISCOVERY_RATES: Pick<LanDiscoveryOptions, 'perSource' | 'answers'> = {
  perSource: { ratePerS: 20, burst: 40, maxSources: 256 },
  answers: { ratePerS: 20, burst: 40 },
};

export function discoveryOptions(advertisement: Advertisement, bootstrap?: BootstrapSelf): LanDiscoveryOptions {
  return {
    advertisement,
    ...(bootstrap === undefined ? {} : { bootstrap }),
    limits: DEFAULT_MDNS_LIMITS,
    table: DEFAULT_DISCOVERED_CANDIDATES,
    backoff: DEFAULT_BROWSE_BACKOFF,
    ...DEFAULT_DISCOVERY_RATES,
  };
}

export interface DiscoveryCounters {
  queriesAnswered: number;
  responsesRead: number;
  browses: number;
  pingsSent: number;
  pingsAnswered: number;
  candidatesOffered: number;
}

export class LanDiscovery {
  private readonly table: DiscoveredCandidates;
  private readonly backoff: BrowseBackoff;
  private readonly perSource: SourceRateLimiter;
  private readonly answerBudget: SourceRateLimiter;
  private readonly problems: ProblemLog;
  private readonly pings: bigint[] = [];
  private timer: TimerHandle | undefined;
  private announceTimer: TimerHandle | undefined;
  private running = false;
  readonly counters: DiscoveryCounters = { queriesAnswered: 0, responsesRead: 0, browses: 0, pingsSent: 0, pingsAnswered: 0, candidatesOffered: 0 };

  constructor(
    private readonly deps: LanDiscoveryDeps,
    private readonly options: LanDiscoveryOptions,
  ) {
    this.table = new DiscoveredCandidates(options.table);
    this.backoff = new BrowseBackoff(deps.random, options.backoff);
    this.perSource = new SourceRateLimiter(options.perSource);
    this.answerBudget = new SourceRateLimiter({ ...options.answers, maxSources: 1 });
    this.problems = new ProblemLog(deps.log, 'lan discovery');
  }

  /** Where candidates go from now on (the lead wires the joining logic's sink). */
  setSink(sink: BootstrapCandidateSink | undefined): void {
    if (sink === undefined) delete this.deps.sink;
    else this.deps.sink = sink;
  }

  /** RFC 6762 §8.3 announcement (twice, 1 s apart), then the browse: first query after 20–120 ms (§5.2). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.announce();
    this.announceTimer = this.deps.clock.setTimer(1000, () => this.announce());
    this.timer = this.deps.clock.setTimer(20 + Math.floor(this.deps.random.float() * 100), () => this.browse());
  }

  /** Stops the timers and says goodbye (RFC 6762 §10.1: our records with TTL 0). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.announceTimer?.cancel();
    const bye = announcement(this.options.advertisement, this.deps.allAddresses()).map((r) => ({ ...r, ttl: 0 }));
    this.deps.transport.sendMdns({ kind: 'response', id: 0, questions: [], answers: bye, additionals: [] });
  }

  private announce(): void {
    if (!this.running) return;
    const records = announcement(this.options.advertisement, this.deps.allAddresses());
    this.deps.transport.sendMdns({ kind: 'response', id: 0, questions: [], answers: records, additionals: [] });
  }

  private browse(): void {
    if (!this.running) return;
    this.counters.browses++;
    this.deps.transport.sendMdns({ kind: 'query', questions: browseQuestions() });
    const b = this.options.bootstrap;
    if (b !== undefined) {
      const tid = this.randomU64();
      this.pings.push(tid);
      if (this.pings.length > MAX_OUTSTANDING_PINGS) this.pings.shift();
      this.deps.transport.sendBootstrap(encodeBootstrapPing(b, tid));
      this.counters.pingsSent++;
    }
    this.timer = this.deps.clock.setTimer(this.backoff.next(), () => this.browse());
  }

  private randomU64(): bigint {
    return (BigInt(this.deps.random.u32()) << 32n) | BigInt(this.deps.random.u32());
  }

  /** Admission common to every packet: source rate and the on-link check. */
  private admit(from: Endpoint): LinkAddresses | undefined {
    if (!this.perSource.take(from.host, this.deps.clock.now())) {
      this.problems.note('rate-limited', { source: from.host });
      return undefined;
    }
    const link = this.deps.linkAddresses(from.host);
    if (link === undefined) this.problems.note('off-link', { source: from.host });
    return link;
  }

  /** A decoded mDNS packet (the `multicast-dns` package's object) of `size` bytes from `from`. */
  receiveMdns(packet: unknown, size: number, from: Endpoint): void {
    if (!this.running) return;
    const link = this.admit(from);
    if (link === undefined) return;
    const r = viewOfPacket(packet, size, this.options.limits);
    if (!r.ok) {
      this.problems.note(r.problem, { source: from.host, size });
      return;
    }
    const view = r.view;
    if (view.kind === 'query') {
      let a = answerQuery(view, this.options.advertisement, link);
      // RFC 6762 §6.7 legacy unicast (a plain DNS resolver pointed at 224.0.0.251:5353, e.g. a phone's
      // NAPTR/AAAA query for the SIP domain): "no such record" for a name we own, at once, instead of
      // the silence an mDNS querier expects and a unicast resolver would retry until it gives up
      if (a === undefined && from.port !== MDNS_PORT && view.questions.length > 0 && view.questions.every((q) => ownsName(q.name, this.options.advertisement))) {
        a = { answers: [], additionals: [], unicast: true };
      }
      if (a === undefined) return;
      if (!this.answerBudget.take('all', this.deps.clock.now())) {
        this.problems.note('answer-budget', { source: from.host });
        return;
      }
      this.counters.queriesAnswered++;
      if (from.port !== MDNS_PORT) {
        // RFC 6762 §6.7 legacy unicast (dig, a one-shot resolver): echo id and questions, short TTLs
        const cap = (rs: MdnsRecord[]): MdnsRecord[] => rs.map((x) => ({ ...x, ttl: Math.min(x.ttl, LEGACY_UNICAST_TTL_S), flush: false }));
        this.deps.transport.sendMdns({ kind: 'response', id: view.id, questions: view.questions, answers: cap(a.answers), additionals: cap(a.additionals) }, from);
      } else if (a.unicast) this.deps.transport.sendMdns({ kind: 'response', id: 0, questions: [], answers: a.answers, additionals: a.additionals }, from);
      else this.deps.transport.sendMdns({ kind: 'response', id: 0, questions: [], answers: a.answers, additionals: a.additionals });
      return;
    }
    this.counters.responsesRead++;
    const found = readAdvertisements(view, this.options.advertisement, from.host);
    for (const p of found.problems) if (p !== 'own-advertisement') this.problems.note(p, { source: from.host });
    for (const c of found.candidates) this.offer(c);
  }

  /** A datagram of the multicast bootstrap: `via` the group socket (Pings) or our unicast socket (answers). */
  receiveBootstrap(bytes: Uint8Array, from: Endpoint, via: 'group' | 'unicast'): void {
    const b = this.options.bootstrap;
    if (!this.running || b === undefined) return;
    if (this.admit(from) === undefined) return;
    const d = decodeBootstrapDatagram(bytes, b);
    if (!d.ok) {
      if (d.problem !== 'bootstrap-own') this.problems.note(d.problem, { source: from.host, size: bytes.length });
      return;
    }
    const m = d.value;
    const nodeId = Buffer.from(m.nodeId).toString('hex');
    if (m.kind === 'ping') {
      if (via !== 'group') return;
      if (!this.answerBudget.take('all', this.deps.clock.now())) {
        this.problems.note('answer-budget', { source: from.host });
        return;
      }
      this.deps.transport.sendBootstrap(encodeBootstrapAnswer(b, m, this.randomU64(), this.deps.clock.now()), from);
      this.counters.pingsAnswered++;
    } else {
      if (via !== 'unicast' || !this.pings.includes(m.transactionId) || (m.to !== undefined && Buffer.compare(Buffer.from(m.to), Buffer.from(b.nodeId)) !== 0)) {
        this.problems.note('bootstrap-unsolicited-answer', { source: from.host });
        return;
      }
    }
    this.offer({ host: from.host, port: m.port, source: 'multicast', nodeId });
  }

  private offer(c: BootstrapCandidate): void {
    if (!this.table.note(c, this.deps.clock.now())) return;
    this.counters.candidatesOffered++;
    this.deps.log?.info({ host: c.host, port: c.port, source: c.source, nodeId: c.nodeId }, 'lan discovery: bootstrap candidate');
    this.deps.sink?.offer(c);
  }

  /** What /api/status shows as `discovery`. */
  status(): object {
    const ad = this.options.advertisement;
    const b = this.options.bootstrap;
    return {
      enabled: true,
      service: SERVICE_TYPE,
      instance: instanceName(ad),
      host: hostName(ad),
      sipDomain: ad.sipDomain ?? null,
      fingerprint: ad.fingerprint,
      multicastBootstrap: b === undefined ? null : true,
      sink: this.deps.sink !== undefined,
      ...this.counters,
      candidates: this.table.list(),
      candidateEvictions: this.table.evictions,
      problems: this.problems.counters(),
    };
  }
}
