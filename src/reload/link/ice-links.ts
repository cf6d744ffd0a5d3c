/**
 * DTLS-UDP-SR overlay links negotiated by ICE (RFC 6940 §6.5.1.3–§6.5.1.14, §6.6.4), sans-I/O.
 *
 * One link's life: `start()` (from an Attach request we sent and its answer, or from an Attach
 * request we answer) builds an ICE agent (src/nat/ice) on the peer's shared UDP port with our
 * candidates now and the peer's, registers it with the NAT plane under its ufrag, and starts the
 * checks → `selected`: a flow is opened on the selected pair (through the host socket or a TURN
 * relay) and a DTLS association runs over it (§6.5.1.13: the Attach requester is the DTLS server,
 * the answerer the client; both present node certificates, checked against the overlay's trust and,
 * where known, the Node-ID of the Attach's other end) → open: Simple Reliability (sr-link.ts) carries
 * RELOAD messages, and the link is reported up to the same LinkLayerUser as the TLS links. ICE
 * consent freshness (RFC 7675) keeps the NAT bindings alive and, once lost, ends the link.
 *
 * Every `start()` id gets exactly one onLinkDown (after onLinkUp, or instead of it): 'failed' (no ICE
 * path, DTLS refused), 'timeout' (SR gave up, consent lost, negotiation over `negotiationTimeoutMs`),
 * 'closed' (either side closed). After `shutdown()` nothing more is reported.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { IceAgent } from '../../nat/ice/ice-agent.js';
import type { IceAgentOptions, IceSelectedPair, IceSnapshot } from '../../nat/ice/ice-agent-options.js';
import { makeLocalCandidate } from '../../nat/ice/ice-candidate.js';
import type { CandidateType, LocalCandidate, LocalCandidateInput, RemoteCandidateInput } from '../../nat/ice/ice-candidate.js';
import type { Base, Flow, StunSession } from '../../nat/nat-port.js';
import type { UdpAddress } from '../../nat/datagram-socket.js';
import { OverlayLinkType } from '../codec/index.js';
import type { AttachReqAns, IceCandidate } from '../codec/index.js';
import { fromIpAddressPort, toIpAddressPort } from '../overlay/candidates.js';
import type { IceAttachParams } from '../overlay/overlay-types.js';
import { ICE_LINK_PREFIX } from './composite-links.js';
import type { LinkDownReason, LinkLayerUser } from './link-layer.js';
import type { LinkError } from './link-error.js';
import { SrLink } from './sr-link.js';
import type { SrLinkOptions } from './sr-link-options.js';
import type { SrLinkStats } from './sr-link-types.js';

/** The peer's UDP port as the links need it (NatPort implements it). */
export interface IcePlane {
  send(base: Base, datagram: Uint8Array, to: UdpAddress): boolean;
  addSession(localUfrag: string, s: StunSession): boolean;
  removeSession(localUfrag: string, s?: StunSession): void;
  openFlow(base: Base, remote: UdpAddress, onDatagram: (d: Uint8Array) => void): Flow | undefined;
}

/** A secure datagram association (DTLS) over a flow; the platform builds it. */
export interface SecureChannel {
  start(): void;
  /** A datagram from the peer (ciphertext). */
  receive(datagram: Uint8Array): void;
  /** Application data to the peer; false when not open. */
  send(data: Uint8Array): boolean;
  close(): void;
}

export interface SecureChannelEvents {
  onOpen(peerCertificate: Uint8Array): void;
  onData(data: Uint8Array): void;
  onFailed(error: Error): void;
  onClosed(error: Error | undefined): void;
}

export interface SecureChannelFactory {
  /**
   * A channel in `role` whose datagrams go out through `send`; `expected`: Node-ID the peer's
   * certificate must carry (refused in the handshake otherwise), when known.
   */
  create(role: 'client' | 'server', send: (datagram: Uint8Array) => void, events: SecureChannelEvents, expected: Uint8Array | undefined): SecureChannel;
}

export interface IceLinksDeps {
  clock: Clock;
  random: Random;
  plane: IcePlane;
  /** Our candidates now (host, server-reflexive, relayed), as gathered by the NAT plane. */
  candidates(): LocalCandidateInput[];
  channels: SecureChannelFactory;
  /**
   * Our Node-ID: when both peers Attach to each other at once and ICE picks the same path (one DTLS
   * association per path), both ends keep the link the smaller Node-ID asked for.
   */
  selfNodeId?: Uint8Array;
}

export interface IceLinksOptions {
  /** ICE links (negotiating or open) at once (default 256); more are refused. */
  maxLinks?: number;
  /** Links with one node at once (default 8): one requester cannot take every slot. */
  maxPerPeer?: number;
  /**
   * true (default): RELOAD links, Simple Reliability over DTLS (§6.6.3). false: application
   * channels of AppAttach (§6.5.2), one application datagram per DTLS record, no SR — SIP over DTLS
   * retransmits at its own layer (RFC 3261 §17 timers for unreliable transports).
   */
  reliable?: boolean;
  /** Prefix of the link ids (default 'ice:'). */
  idPrefix?: string;
  /** ICE + DTLS must be done within this long (default 20,000 ms). */
  negotiationTimeoutMs?: number;
  ice?: IceAgentOptions;
  sr?: SrLinkOptions;
}

type Phase = 'ice' | 'dtls' | 'open' | 'ended';

interface Entry {
  readonly id: string;
  readonly controlling: boolean;
  readonly expected: Uint8Array | undefined;
  readonly agent: IceAgent;
  readonly ufrag: string;
  phase: Phase;
  pair: IceSelectedPair | undefined;
  flow: Flow | undefined;
  channel: SecureChannel | undefined;
  sr: SrLink | undefined;
  timer: TimerHandle | undefined;
  unsubscribe: Array<() => void>;
  startedAt: number;
  openedAt: number | undefined;
  pathKey?: string;
}

/** What /api/status shows of one ICE link. */
export interface IceLinkView {
  id: string;
  phase: Phase;
  role: 'controlling' | 'controlled';
  /** 'host→srflx' and the like (ours→theirs), once selected. */
  pair?: string;
  local?: string;
  remote?: string;
  base?: string;
  checkRttMs?: number;
  setupMs?: number;
  sr?: SrLinkStats;
  ice: IceSnapshot;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** How long the controlling agent waits for a better pair after the first valid one (RFC 8445 §8.1.1). */
export const NOMINATION_DELAY_MS = 250;

export class IceLinks {
  private readonly entries = new Map<string, Entry>();
  /** Which link holds each path (base + remote address): one DTLS association per path. */
  private readonly byPath = new Map<string, Entry>();
  /** Agents of Attaches being exchanged (prepare → start), by local ufrag. */
  private readonly prepared = new Map<string, { agent: IceAgent; timer: TimerHandle; controlling: boolean }>();
  private user: LinkLayerUser | undefined;
  /** Who takes media frames and bundles of them (first byte 0xD0–0xD3, issue 13) that arrive on an open link's path. */
  private rawUser: ((linkId: string, datagram: Uint8Array) => void) | undefined;
  private seq = 0;
  private down = false;
  private readonly maxLinks: number;
  private readonly negotiationTimeoutMs: number;
  readonly totals = { started: 0, opened: 0, iceFailed: 0, dtlsFailed: 0, consentLost: 0, timeouts: 0, refused: 0, duplicates: 0 };
  /** The last links that ended abnormally, newest last (at most 16), for the status page. */
  private readonly failures: Array<{ id: string; reason: string; phase: Phase; after: number; pair?: string }> = [];

  constructor(
    private readonly deps: IceLinksDeps,
    private readonly options: IceLinksOptions = {},
  ) {
    this.maxLinks = options.maxLinks ?? 256;
    this.negotiationTimeoutMs = options.negotiationTimeoutMs ?? 20_000;
  }

  setUser(user: LinkLayerUser): void {
    this.user = user;
  }

  /**
   * Media frames of the peers' relays (issue 13) share the link's path (its ICE pair, direct or through
   * TURN) outside DTLS: a datagram whose first byte is 0xD0–0xD3 (a frame, a bundle of frames, one
   * spare; outside RFC 7983's ranges, so never STUN, DTLS, TURN ChannelData or RTP) goes to `fn`, for
   * open links only.
   */
  setRawReceiver(fn: (linkId: string, datagram: Uint8Array) => void): void {
    this.rawUser = fn;
  }

  /** Sends a media frame on an open link's path, outside DTLS; false when the link is not open. */
  sendRaw(linkId: string, datagram: Uint8Array): boolean {
    const e = this.entries.get(linkId);
    if (e === undefined || e.phase !== 'open' || e.flow === undefined) return false;
    e.flow.send(datagram);
    return true;
  }

  /** The selected pair's candidate types ('host→host', 'srflx→relay', …) of a link, once selected. */
  pairTypes(linkId: string): string | undefined {
    return this.entries.get(linkId)?.pair?.types;
  }

  /**
   * Fresh ICE credentials and our DTLS-UDP-SR candidates (RFC 6940 §6.5.1.7); undefined without any.
   * The agent exists and listens from now on — the peer's first checks can overtake its Attach
   * answer (RFC 8445 §7.3: they are remembered and answered) — and is dropped if `start` does not
   * follow within the negotiation timeout.
   */
  prepare(controlling = true): IceAttachParams | undefined {
    if (this.down || this.entries.size + this.prepared.size >= this.maxLinks) return undefined;
    const local = this.deps.candidates();
    const candidates = local.map((c) => toAttachCandidate(makeLocalCandidate(c))).filter((c): c is IceCandidate => c !== undefined);
    if (candidates.length === 0) return undefined;
    const { ufrag, password } = freshCredentials(this.deps.random);
    let agent: IceAgent;
    try {
      agent = this.newAgent(ufrag, password, local, controlling);
    } catch {
      return undefined;
    }
    if (!this.deps.plane.addSession(ufrag, agent)) {
      agent.stop();
      return undefined;
    }
    const timer = this.deps.clock.setTimer(this.negotiationTimeoutMs, () => {
      if (this.prepared.get(ufrag)?.agent !== agent) return;
      this.prepared.delete(ufrag);
      this.deps.plane.removeSession(ufrag, agent);
      agent.stop();
    });
    this.prepared.set(ufrag, { agent, timer, controlling });
    return { ufrag, password, candidates };
  }

  release(local: IceAttachParams): void {
    const p = this.prepared.get(local.ufrag);
    if (p === undefined) return;
    this.prepared.delete(local.ufrag);
    p.timer.cancel();
    this.deps.plane.removeSession(local.ufrag, p.agent);
    p.agent.stop();
  }

  private newAgent(ufrag: string, password: string, candidates: LocalCandidateInput[], controlling: boolean): IceAgent {
    return new IceAgent(
      { clock: this.deps.clock, random: this.deps.random, host: { send: (base, d, to) => void this.deps.plane.send(base, d, to) } },
      { ufrag, password, candidates, role: controlling ? 'controlling' : 'controlled' },
      // Regular nomination waits for better pairs still being checked; across NATs those are the private
      // host candidates, which never succeed, so the whole wait was added to every link (≈1.1 s set-up
      // in the NAT lab). 250 ms still lets a same-LAN host pair (tens of ms) win over a relay.
      { software: 'p2psip', nominationDelayMs: NOMINATION_DELAY_MS, ...this.options.ice },
    );
  }

  /** True when the peer offered DTLS-UDP-SR candidates of an address family we have. */
  accepts(candidates: readonly IceCandidate[]): boolean {
    return candidates.some((c) => c.overlayLink === OverlayLinkType['DTLS-UDP-SR'] && fromIpAddressPort(c.addrPort) !== undefined);
  }

  start(local: IceAttachParams, remote: AttachReqAns, controlling: boolean, expected: Uint8Array | undefined): string | Error {
    if (this.down) return new Error('ICE links shut down');
    if (this.entries.size >= this.maxLinks) {
      this.totals.refused++;
      return new Error(`${this.maxLinks} ICE links already`);
    }
    if (expected !== undefined) {
      const peer = Buffer.from(expected);
      let n = 0;
      for (const x of this.entries.values()) if (x.expected !== undefined && peer.equals(Buffer.from(x.expected))) n++;
      const max = this.options.maxPerPeer ?? 8;
      if (n >= max) {
        this.release(local);
        this.totals.refused++;
        return new Error(`${max} ICE links with this node already`);
      }
    }
    const remoteCandidates = fromAttachCandidates(remote.candidates);
    const ready = this.prepared.get(local.ufrag);
    let agent: IceAgent;
    if (ready !== undefined && ready.controlling === controlling) {
      this.prepared.delete(local.ufrag);
      ready.timer.cancel();
      agent = ready.agent;
    } else {
      if (ready !== undefined) {
        this.prepared.delete(local.ufrag);
        ready.timer.cancel();
        this.deps.plane.removeSession(local.ufrag, ready.agent);
        ready.agent.stop();
      }
      try {
        agent = this.newAgent(local.ufrag, local.password, this.deps.candidates(), controlling);
      } catch (e) {
        this.totals.refused++;
        return e instanceof Error ? e : new Error(String(e));
      }
      if (!this.deps.plane.addSession(local.ufrag, agent)) {
        agent.stop();
        this.totals.refused++;
        return new Error('ICE session limit reached (or ufrag in use)');
      }
    }
    const id = `${this.options.idPrefix ?? ICE_LINK_PREFIX}${++this.seq}`;
    const e: Entry = {
      id,
      controlling,
      expected,
      agent,
      ufrag: local.ufrag,
      phase: 'ice',
      pair: undefined,
      flow: undefined,
      channel: undefined,
      sr: undefined,
      timer: undefined,
      unsubscribe: [],
      startedAt: this.deps.clock.now(),
      openedAt: undefined,
    };
    try {
      agent.start({ ufrag: utf8d.decode(remote.ufrag), password: utf8d.decode(remote.password), candidates: remoteCandidates });
    } catch (err) {
      this.deps.plane.removeSession(local.ufrag, agent);
      agent.stop();
      this.totals.refused++;
      return err instanceof Error ? err : new Error(String(err));
    }
    this.entries.set(id, e);
    this.totals.started++;
    e.unsubscribe.push(agent.events.on('selected', (pair) => this.selected(e, pair)));
    e.unsubscribe.push(
      agent.events.on('failed', (f) => {
        this.totals.iceFailed++;
        this.end(e, 'failed', new Error(`ICE: ${f.reason}`));
      }),
    );
    e.unsubscribe.push(
      agent.events.on('consent-lost', (c) => {
        this.totals.consentLost++;
        this.end(e, 'timeout', new Error(`ICE consent lost (no answer for ${c.silentMs} ms)`));
      }),
    );
    e.timer = this.deps.clock.setTimer(this.negotiationTimeoutMs, () => {
      e.timer = undefined;
      if (e.phase === 'ice' || e.phase === 'dtls') {
        this.totals.timeouts++;
        this.end(e, 'timeout', new Error(`ICE/DTLS not done within ${this.negotiationTimeoutMs} ms`));
      }
    });
    return id;
  }

  send(linkId: string, message: Uint8Array): boolean {
    const e = this.entries.get(linkId);
    if (e === undefined || e.phase !== 'open') return false;
    if (this.options.reliable === false) return e.channel?.send(message) ?? false;
    return e.sr?.send(message) ?? false;
  }

  close(linkId: string): void {
    const e = this.entries.get(linkId);
    if (e === undefined) return;
    // reported later, as LinkLayer does when its driver reports the close
    this.teardown(e, true);
    this.deps.clock.setTimer(0, () => {
      if (!this.down) this.user?.onLinkDown(linkId, 'closed');
    });
  }

  async shutdown(): Promise<void> {
    this.down = true;
    for (const [ufrag, p] of this.prepared) {
      p.timer.cancel();
      this.deps.plane.removeSession(ufrag, p.agent);
      p.agent.stop();
    }
    this.prepared.clear();
    for (const e of [...this.entries.values()]) this.teardown(e, true);
  }

  recentFailures(): ReadonlyArray<{ id: string; reason: string; phase: Phase; after: number; pair?: string }> {
    return this.failures;
  }

  linkIds(): string[] {
    return [...this.entries.keys()];
  }

  describe(): IceLinkView[] {
    return [...this.entries.values()].map((e) => {
      const v: IceLinkView = { id: e.id, phase: e.phase, role: e.controlling ? 'controlling' : 'controlled', ice: e.agent.describe() };
      if (e.pair !== undefined) {
        v.pair = e.pair.types;
        v.local = `${e.pair.local.address.host}:${e.pair.local.address.port}`;
        v.remote = `${e.pair.remoteAddress.host}:${e.pair.remoteAddress.port}`;
        v.base = e.pair.base;
        if (e.pair.rttMs !== undefined) v.checkRttMs = e.pair.rttMs;
      }
      if (e.openedAt !== undefined) v.setupMs = e.openedAt - e.startedAt;
      if (e.sr !== undefined) v.sr = e.sr.stats();
      return v;
    });
  }

  private selected(e: Entry, pair: IceSelectedPair): void {
    if (e.phase !== 'ice') return;
    e.pair = pair;
    e.phase = 'dtls';
    const key = `${pair.base}|${pair.remoteAddress.host}|${pair.remoteAddress.port}`;
    const holder = this.byPath.get(key);
    if (holder !== undefined && holder !== e) {
      // Both ends Attached to each other at once and ICE chose the same path twice. A DTLS association
      // is known by its path alone, so one of the two must go — the same one on both ends, or each end
      // keeps a different one and the handshake (server facing server) never completes: the link
      // asked for by the smaller Node-ID stays.
      if (this.keepsFirst(holder, e)) {
        this.totals.duplicates++;
        this.end(e, 'closed');
        return;
      }
      this.totals.duplicates++;
      this.end(holder, 'closed');
    }
    const flow = this.deps.plane.openFlow(pair.base, pair.remoteAddress, (d) => {
      if ((d[0]! & 0xfc) === 0xd0 && this.rawUser !== undefined) {
        if (e.phase === 'open') this.rawUser(e.id, d);
        return;
      }
      e.channel?.receive(d);
    });
    if (flow === undefined) {
      this.totals.duplicates++;
      this.end(e, 'closed');
      return;
    }
    e.flow = flow;
    e.pathKey = key;
    this.byPath.set(key, e);
    // §6.5.1.13: the node that sent the Attach request is the (D)TLS server
    const role = e.controlling ? 'server' : 'client';
    e.channel = this.deps.channels.create(role, (d) => flow.send(d), {
      onOpen: (cert) => this.opened(e, cert),
      onData: (d) => {
        if (this.options.reliable !== false) e.sr?.receive(d);
        else if (e.phase === 'open') this.user?.onLinkMessage(e.id, d);
      },
      onFailed: (err) => {
        this.totals.dtlsFailed++;
        this.end(e, 'failed', err);
      },
      onClosed: (err) => this.end(e, err === undefined ? 'closed' : 'failed', err),
    }, e.expected);
    e.channel.start();
  }

  /** Of two links on one path, true when `first` stays: the one asked for by the smaller Node-ID. */
  private keepsFirst(first: Entry, second: Entry): boolean {
    const self = this.deps.selfNodeId;
    const asker = (x: Entry): Uint8Array | undefined => (x.controlling ? self : x.expected);
    const a = asker(first);
    const b = asker(second);
    if (a === undefined || b === undefined) return true;
    return Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0;
  }

  private opened(e: Entry, peerCertificate: Uint8Array): void {
    if (e.phase !== 'dtls' || e.pair === undefined || e.channel === undefined) return;
    e.phase = 'open';
    e.openedAt = this.deps.clock.now();
    if (e.timer !== undefined) e.timer.cancel();
    e.timer = undefined;
    const channel = e.channel;
    const pair = e.pair;
    const user = this.user;
    if (this.options.reliable === false) {
      this.totals.opened++;
      user?.onLinkUp({ id: e.id, remote: pair.remoteAddress, local: pair.local.address, outbound: e.controlling, peerCertificate });
      return;
    }
    e.sr = new SrLink(
      e.id,
      {
        clock: this.deps.clock,
        channel: { send: (d) => void channel.send(d) },
        user: {
          onLinkMessage: (id, m) => this.user?.onLinkMessage(id, m),
          onLinkFailed: (_id, err: LinkError) => this.end(e, 'timeout', err),
          onLinkSuspect: (id) => this.user?.onLinkSuspect?.(id),
          onLinkRecovered: (id) => this.user?.onLinkRecovered?.(id),
          keepalive: (id) => this.user?.keepalive?.(id),
        },
      },
      { ...this.options.sr, ...(pair.rttMs === undefined ? {} : { initialRttMs: Math.max(1, pair.rttMs) }) },
    );
    this.totals.opened++;
    user?.onLinkUp({ id: e.id, remote: pair.remoteAddress, local: pair.local.address, outbound: e.controlling, peerCertificate });
  }

  /** Ends a link that the other side, the network or a limit ended: reported once. */
  private end(e: Entry, reason: LinkDownReason, error?: Error): void {
    if (e.phase === 'ended') return;
    if (reason !== 'closed') {
      this.failures.push({ id: e.id, reason: error?.message ?? reason, phase: e.phase, after: this.deps.clock.now() - e.startedAt, ...(e.pair === undefined ? {} : { pair: e.pair.types }) });
      if (this.failures.length > 16) this.failures.shift();
    }
    this.teardown(e, reason !== 'closed');
    if (!this.down) this.user?.onLinkDown(e.id, reason, error);
  }

  private teardown(e: Entry, closeChannel: boolean): void {
    if (e.phase === 'ended') return;
    e.phase = 'ended';
    this.entries.delete(e.id);
    if (e.timer !== undefined) e.timer.cancel();
    e.timer = undefined;
    for (const u of e.unsubscribe) u();
    e.sr?.close();
    if (closeChannel) e.channel?.close();
    e.flow?.close();
    if (e.pathKey !== undefined && this.byPath.get(e.pathKey) === e) this.byPath.delete(e.pathKey);
    e.agent.stop();
    this.deps.plane.removeSession(e.ufrag, e.agent);
  }
}

/** ice-chars (RFC 5245 §15.1): 16 chars of ufrag, 24 of password (RFC 6940 carries them as opaque). */
function freshCredentials(random: Random): { ufrag: string; password: string } {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const pick = (n: number): string => {
    let s = '';
    for (const b of random.bytes(n)) s += A[b & 63];
    return s;
  };
  return { ufrag: pick(16), password: pick(24) };
}

/** Our candidate in RFC 6940's encoding (§6.5.1.1), overlay link DTLS-UDP-SR. */
export function toAttachCandidate(c: LocalCandidate): IceCandidate | undefined {
  const addrPort = toIpAddressPort(c.address);
  if (addrPort === undefined) return undefined;
  const rel = c.related === undefined ? undefined : toIpAddressPort(c.related);
  return {
    addrPort,
    overlayLink: OverlayLinkType['DTLS-UDP-SR'],
    foundation: utf8.encode(c.foundation),
    priority: c.priority,
    type: c.type,
    ...(rel === undefined ? {} : { relAddrPort: rel }),
    extensions: [],
  };
}

/** The peer's DTLS-UDP-SR candidates as ICE remote candidates (others skipped). */
export function fromAttachCandidates(cands: readonly IceCandidate[]): RemoteCandidateInput[] {
  const out: RemoteCandidateInput[] = [];
  for (const c of cands) {
    if (c.overlayLink !== OverlayLinkType['DTLS-UDP-SR']) continue;
    const address = fromIpAddressPort(c.addrPort);
    if (address === undefined || address.port === 0) continue;
    const related = c.relAddrPort === undefined ? undefined : fromIpAddressPort(c.relAddrPort);
    out.push({ type: c.type as CandidateType, address, priority: c.priority, foundation: utf8d.decode(c.foundation), ...(related === undefined ? {} : { related }) });
  }
  return out;
}
