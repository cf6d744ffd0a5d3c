/**
 * SIP between peers over the connection AppAttach opens (RFC 6940 §6.5.2, RFC 7904 §4): ICE on the
 * overlay UDP port, then DTLS with the node certificates (the Attach requester is the DTLS server,
 * the answerer the client, §6.5.1.13; the certificate must be the Node-ID's the AppAttach went to or
 * came from), then one SIP message per DTLS record. Across NATs this is the only way SIP reaches the
 * other peer; everywhere it is the way that proves which peer sent a request (issue 12: the SIP
 * front accepts peer-to-peer SIP only over these authenticated channels).
 *
 * To the SIP stack a channel looks like a UDP peer at the channel's remote address (the ICE pair's):
 * ChannelTransportDriver sends datagrams addressed there into the channel and hands what comes out
 * of it to the SIP front's UDP listener — so transactions, Via `received`/`rport` and responses work
 * unchanged. In-dialog requests follow Record-Route to the other peer's SIP front address, which the
 * peer announced in its AppAttach: those addresses are aliases of its channel.
 *
 * Limits: channels at once (the ICE links' maxLinks); aliases per channel (8); a connect waits at most
 * `openTimeoutMs`.
 */
import type { Clock } from '../../lib/clock.js';
import { sameIp } from '../../lib/ip.js';
import type { AppAttachReqAns, AttachReqAns, IceCandidate } from '../../reload/codec/index.js';
import type { LinkDownReason, LinkInfo, LinkLayerUser } from '../../reload/link/link-layer.js';
import type { IceAttachParams } from '../../reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';

/** The ICE channels below (IceLinks in application mode). */
export interface SipChannelLinks {
  prepare(controlling: boolean): IceAttachParams | undefined;
  accepts(candidates: readonly IceCandidate[]): boolean;
  start(local: IceAttachParams, remote: AttachReqAns, controlling: boolean, expected: Uint8Array | undefined): string | Error;
  release(local: IceAttachParams): void;
  send(linkId: string, data: Uint8Array): boolean;
  close(linkId: string): void;
  setUser(user: LinkLayerUser): void;
  /** Media frames on a link's path outside DTLS (issue 13). */
  sendRaw?(linkId: string, datagram: Uint8Array): boolean;
  setRawReceiver?(fn: (linkId: string, datagram: Uint8Array) => void): void;
  /** The selected candidate pair's types, e.g. 'host→host'. */
  pairTypes?(linkId: string): string | undefined;
}

interface Channel {
  readonly id: string;
  readonly nodeHex: string;
  remote: TransportAddress | undefined;
  aliases: TransportAddress[];
  open: boolean;
  waiters: Array<(ok: boolean) => void>;
  /** SIP messages for the peer while its channel is being opened (sent once open, dropped if it fails). */
  queued: Uint8Array[];
}

const MAX_ALIASES = 8;
/** Messages held per channel being opened; SIP retransmits what does not fit. */
const MAX_QUEUED = 16;

export interface SipChannelsOptions {
  /** How long a connect waits for ICE and DTLS (default 12,000 ms). */
  openTimeoutMs?: number;
  /** Told about channels opening, closing and refusing messages (`p2psip up --log-level debug`). */
  log?: { debug(obj: object, msg: string): void };
  /**
   * Our Node-ID: with it two peers AppAttaching to each other at once open one channel, not two
   * (RFC 6940 §6.5.1.2's tie-break, which §6.5.2 carries over to AppAttach).
   */
  selfNodeId?: Uint8Array;
}

/** An AppAttach of ours in flight (§6.5.1.2): waiting for its answer, or answered and connecting. */
export interface Outgoing {
  state: 'awaiting' | 'connecting';
  /** We answered the peer's own AppAttach instead (our Node-ID is the smaller): its channel serves. */
  cancelled: boolean;
}

export class SipChannels {
  private readonly byId = new Map<string, Channel>();
  private onMessage: ((from: TransportAddress, data: Uint8Array) => void) | undefined;
  private readonly closedListeners: Array<(nodeHex: string) => void> = [];
  private readonly openTimeoutMs: number;
  private readonly log: SipChannelsOptions['log'];
  private readonly selfHex: string | undefined;
  private readonly outgoing = new Map<string, Outgoing>();
  /** Waiters for a channel to a peer to appear (the other side of a tie-break opens it). */
  private readonly appearWaiters = new Map<string, Array<() => void>>();
  /** The open channel media frames to a peer went into last (forgotten when it closes). */
  private readonly mediaRoute = new Map<string, Channel>();
  readonly stats = { opened: 0, failed: 0, closed: 0, messagesIn: 0, messagesOut: 0, aliasConflicts: 0, glareCancelled: 0, glareRefused: 0 };

  constructor(
    private readonly links: SipChannelLinks,
    private readonly clock: Clock,
    opts: SipChannelsOptions = {},
  ) {
    this.openTimeoutMs = opts.openTimeoutMs ?? 12_000;
    this.log = opts.log;
    this.selfHex = opts.selfNodeId === undefined ? undefined : Buffer.from(opts.selfNodeId).toString('hex');
    const self = this;
    const user: LinkLayerUser = {
      onLinkUp: (l: LinkInfo) => self.up(l),
      onLinkMessage: (id: string, m: Uint8Array) => self.message(id, m),
      onLinkDown: (id: string, reason: LinkDownReason) => self.down(id, reason),
    };
    links.setUser(user);
  }

  /** Where datagrams that come out of channels go (the transport driver). */
  setReceiver(fn: (from: TransportAddress, data: Uint8Array) => void): void {
    this.onMessage = fn;
  }

  /**
   * Media frames of the peers' relays (issue 13) travel on the channel's ICE path beside the DTLS
   * association: `fn` gets those of open channels, with the Node-ID (hex) they came from.
   */
  onMedia(fn: (nodeHex: string, frame: Uint8Array) => void): void {
    this.links.setRawReceiver?.((id, d) => {
      const ch = this.byId.get(id);
      if (ch !== undefined && ch.open) fn(ch.nodeHex, d);
    });
  }

  /** Sends a media frame to the peer `nodeHex` on its open channel; false when there is none. */
  sendMedia(nodeHex: string, frame: Uint8Array): boolean {
    // per packet: the channel found last time, else a scan (remembered)
    const cached = this.mediaRoute.get(nodeHex);
    if (cached !== undefined && cached.open && this.byId.get(cached.id) === cached && this.links.sendRaw?.(cached.id, frame) === true) return true;
    for (const ch of this.byId.values()) {
      if (ch.open && ch.nodeHex === nodeHex && this.links.sendRaw?.(ch.id, frame) === true) {
        this.mediaRoute.set(nodeHex, ch);
        return true;
      }
    }
    this.mediaRoute.delete(nodeHex);
    return false;
  }

  /** The Node-ID (hex) of the peer whose channel (open or opening) serves `to`. */
  nodeServing(to: TransportAddress): string | undefined {
    return (this.channelFor(to) ?? this.pendingFor(to))?.nodeHex;
  }

  /** True when the open channel with `nodeHex` runs host candidate to host candidate (one network). */
  hostToHost(nodeHex: string): boolean {
    for (const ch of this.byId.values()) if (ch.open && ch.nodeHex === nodeHex) return this.links.pairTypes?.(ch.id) === 'host→host';
    return false;
  }

  /** Told when a channel to a peer closes (the locator forgets the peer's address). */
  onClosed(fn: (nodeHex: string) => void): void {
    this.closedListeners.push(fn);
  }

  /** ICE parameters for an AppAttach request we send (we will be controlling). */
  prepare(): IceAttachParams | undefined {
    return this.links.prepare(true);
  }

  release(local: IceAttachParams): void {
    this.links.release(local);
  }

  accepts(candidates: readonly IceCandidate[]): boolean {
    return this.links.accepts(candidates);
  }

  /**
   * Our AppAttach to `nodeHex` is about to be sent: remembered for the tie-break until `endOutgoing`.
   * Returns the record (undefined when one is in flight already: only the first takes part).
   */
  beginOutgoing(nodeHex: string): Outgoing | undefined {
    if (this.selfHex === undefined || this.outgoing.has(nodeHex)) return undefined;
    const o: Outgoing = { state: 'awaiting', cancelled: false };
    this.outgoing.set(nodeHex, o);
    return o;
  }

  endOutgoing(nodeHex: string, o: Outgoing | undefined): void {
    if (o !== undefined && this.outgoing.get(nodeHex) === o) this.outgoing.delete(nodeHex);
  }

  /**
   * RFC 6940 §6.5.1.2 for an AppAttach from `nodeHex`: 'in-progress' when ours to it goes on (answered
   * and connecting, or still waiting and our Node-ID is the larger), else 'answer' — an AppAttach of
   * ours still waiting is then cancelled (its answer is ignored; the peer's channel serves).
   */
  glare(nodeHex: string): 'answer' | 'in-progress' {
    const o = this.outgoing.get(nodeHex);
    if (o === undefined || o.cancelled || this.selfHex === undefined) return 'answer';
    if (o.state === 'connecting' || this.selfHex > nodeHex) return 'in-progress';
    o.cancelled = true;
    this.stats.glareCancelled++;
    return 'answer';
  }

  /**
   * The channel to `nodeHex` that the peer opens (it won the tie-break): waits up to `openTimeoutMs`
   * for it to appear and open; its address, or undefined.
   */
  async awaitPeerChannel(nodeHex: string): Promise<TransportAddress | undefined> {
    const known = [...this.byId.values()].some((c) => c.nodeHex === nodeHex);
    if (!known) {
      const appeared = await new Promise<boolean>((resolve) => {
        const list = this.appearWaiters.get(nodeHex) ?? [];
        const timer = this.clock.setTimer(this.openTimeoutMs, () => {
          const l = this.appearWaiters.get(nodeHex);
          const i = l?.indexOf(wake) ?? -1;
          if (l !== undefined && i >= 0) l.splice(i, 1);
          if (l !== undefined && l.length === 0) this.appearWaiters.delete(nodeHex);
          resolve(false);
        });
        const wake = (): void => {
          timer.cancel();
          resolve(true);
        };
        list.push(wake);
        this.appearWaiters.set(nodeHex, list);
      });
      if (!appeared) return undefined;
    }
    return this.existing(nodeHex);
  }

  /**
   * The AppAttach answer came: runs ICE (controlling) and DTLS (server) to `nodeId`; resolves with the
   * address to send SIP to, or undefined when no channel opened.
   */
  async connect(local: IceAttachParams, answer: AppAttachReqAns, nodeId: Uint8Array, aliases: readonly TransportAddress[]): Promise<TransportAddress | undefined> {
    const nodeHex = Buffer.from(nodeId).toString('hex');
    const id = this.links.start(local, toAttach(answer), true, nodeId);
    if (id instanceof Error) {
      this.stats.failed++;
      return this.existing(nodeHex);
    }
    const ch = this.track(id, nodeId, aliases);
    const o = this.outgoing.get(nodeHex);
    if (o !== undefined) o.state = 'connecting';
    const ok = await this.opened(ch);
    if (!ok || ch.remote === undefined) {
      if (this.byId.has(id)) this.links.close(id);
      // both peers AppAttached to each other at once and ICE chose the same path twice: the other
      // direction's channel (one DTLS association per path) serves both
      return this.existing(nodeHex);
    }
    return addressOf(ch);
  }

  /** The address of an open channel to `nodeHex` (waiting for one being opened), if any. */
  async existing(nodeHex: string): Promise<TransportAddress | undefined> {
    let best: Channel | undefined;
    for (const c of this.byId.values()) if (c.nodeHex === nodeHex && (best === undefined || (c.open && !best.open))) best = c;
    if (best === undefined) return undefined;
    if (!(await this.opened(best)) || best.remote === undefined) return undefined;
    return addressOf(best);
  }

  /** Resolves true once `ch` is open, false when it fails or `openTimeoutMs` passes. */
  private opened(ch: Channel): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (ch.open) {
        resolve(true);
        return;
      }
      if (!this.byId.has(ch.id)) {
        resolve(false);
        return;
      }
      const timer = this.clock.setTimer(this.openTimeoutMs, () => resolve(false));
      ch.waiters.push((v) => {
        timer.cancel();
        resolve(v);
      });
    });
  }

  /** An AppAttach request with ICE candidates from `origin`: our answer's ICE parameters (controlled, DTLS client). */
  accept(request: AppAttachReqAns, origin: Uint8Array, aliases: readonly TransportAddress[]): IceAttachParams | undefined {
    const local = this.links.prepare(false);
    if (local === undefined) return undefined;
    const id = this.links.start(local, toAttach(request), false, origin);
    if (id instanceof Error) {
      this.stats.failed++;
      return undefined;
    }
    this.track(id, origin, aliases);
    return local;
  }

  /** Sends one SIP message to `to` when a channel serves that address (its remote address or an alias). */
  send(to: TransportAddress, data: Uint8Array): boolean {
    const ch = this.channelFor(to);
    if (ch === undefined) {
      // the peer's channel is being (re)opened: hold the message rather than send it in the clear to
      // an address that may be a private one behind a NAT (SIP retransmits what is not held)
      const pending = this.pendingFor(to);
      if (pending === undefined) {
        this.log?.debug({ to: `${to.host}:${to.port}` }, 'SIP channel: no channel serves this address');
        return false;
      }
      if (pending.queued.length < MAX_QUEUED) pending.queued.push(data);
      else this.log?.debug({ channel: pending.id, node: pending.nodeHex }, 'SIP channel: queue full while opening, message dropped');
      return true;
    }
    const ok = this.links.send(ch.id, data);
    if (ok) this.stats.messagesOut++;
    else this.log?.debug({ channel: ch.id, node: ch.nodeHex }, 'SIP channel refused a message');
    return ok;
  }

  /** True when `to` is served by a channel (open, or being opened for a peer that announced `to`). */
  serves(to: TransportAddress): boolean {
    return this.channelFor(to) !== undefined || this.pendingFor(to) !== undefined;
  }

  private pendingFor(to: TransportAddress): Channel | undefined {
    for (const ch of this.byId.values()) if (!ch.open && ch.aliases.some((a) => same(a, to))) return ch;
    return undefined;
  }

  /** The Node-ID (hex) of the authenticated peer behind the channel at `from`, if any. */
  peerAt(from: TransportAddress): string | undefined {
    for (const ch of this.byId.values()) if (ch.open && ch.remote !== undefined && same(ch.remote, from)) return ch.nodeHex;
    return undefined;
  }

  describe(): Array<{ id: string; node: string; remote: string | null; aliases: string[]; open: boolean }> {
    return [...this.byId.values()].map((c) => ({
      id: c.id,
      node: c.nodeHex,
      remote: c.remote === undefined ? null : `${c.remote.host}:${c.remote.port}`,
      aliases: c.aliases.map((a) => `${a.host}:${a.port}`),
      open: c.open,
    }));
  }

  private channelFor(to: TransportAddress): Channel | undefined {
    let alias: Channel | undefined;
    let conflict = false;
    for (const ch of this.byId.values()) {
      if (!ch.open) continue;
      if (ch.remote !== undefined && same(ch.remote, to)) return ch;
      if (ch.aliases.some((a) => same(a, to))) {
        // two peers announcing one address (two LANs with the same private plan): the newest wins
        if (alias !== undefined && alias.nodeHex !== ch.nodeHex) conflict = true;
        alias = ch;
      }
    }
    if (conflict) this.stats.aliasConflicts++;
    return alias;
  }

  private track(id: string, nodeId: Uint8Array, aliases: readonly TransportAddress[]): Channel {
    const existing = this.byId.get(id);
    if (existing !== undefined) return existing;
    const ch: Channel = { id, nodeHex: Buffer.from(nodeId).toString('hex'), remote: undefined, aliases: aliases.filter((a) => a.protocol === 'udp').slice(0, MAX_ALIASES), open: false, waiters: [], queued: [] };
    this.byId.set(id, ch);
    const waiting = this.appearWaiters.get(ch.nodeHex);
    if (waiting !== undefined) {
      this.appearWaiters.delete(ch.nodeHex);
      for (const w of waiting) w();
    }
    return ch;
  }

  private up(l: LinkInfo): void {
    const ch = this.byId.get(l.id);
    if (ch === undefined) {
      this.links.close(l.id);
      return;
    }
    ch.open = true;
    ch.remote = { protocol: 'udp', host: l.remote.host, port: l.remote.port };
    this.stats.opened++;
    this.log?.debug({ channel: ch.id, node: ch.nodeHex, remote: `${l.remote.host}:${l.remote.port}`, queued: ch.queued.length }, 'SIP channel open');
    for (const m of ch.queued.splice(0)) if (this.links.send(ch.id, m)) this.stats.messagesOut++;
    for (const w of ch.waiters.splice(0)) w(true);
  }

  private message(id: string, data: Uint8Array): void {
    const ch = this.byId.get(id);
    if (ch === undefined || !ch.open || ch.remote === undefined) return;
    this.stats.messagesIn++;
    this.onMessage?.(ch.remote, data);
  }

  private down(id: string, reason: LinkDownReason): void {
    const ch = this.byId.get(id);
    if (ch === undefined) return;
    this.byId.delete(id);
    if (this.mediaRoute.get(ch.nodeHex) === ch) this.mediaRoute.delete(ch.nodeHex);
    this.log?.debug({ channel: id, node: ch.nodeHex, wasOpen: ch.open, reason, queuedLost: ch.queued.length }, 'SIP channel closed');
    if (ch.open) this.stats.closed++;
    else this.stats.failed++;
    for (const w of ch.waiters.splice(0)) w(false);
    ch.queued.length = 0;
    for (const fn of this.closedListeners) fn(ch.nodeHex);
  }
}

/**
 * Where SIP for the channel's peer is sent: its own SIP front address when it announced one (its
 * Request-URIs and Record-Route name it; the channel serves it as an alias), else the channel's remote.
 */
function addressOf(ch: Channel): TransportAddress | undefined {
  return ch.aliases[0] ?? ch.remote;
}

function same(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && sameIp(a.host, b.host);
}

/** AppAttach and Attach share the ICE fields (ufrag, password, role, candidates). */
function toAttach(a: AppAttachReqAns): AttachReqAns {
  return { ufrag: a.ufrag, password: a.password, role: a.role, candidates: a.candidates, sendUpdate: false };
}
