/**
 * A TURN client (RFC 8656, UDP relays) on the peer's shared UDP socket, sans-I/O — or over a TCP
 * connection to the server (option `transport: 'tcp'`, driven by turn-tcp-client.ts; RFC 8656 §3.1).
 * Requests go through the shared {@link StunClient}: the owner hands STUN responses to `stun.receive()`
 * (matched by transaction ID) and the server's Data indications and ChannelData to {@link TurnClient.receive}.
 *
 * - Allocate with the long-term mechanism: an unauthenticated first try, 401 → REALM/NONCE → an
 *   authenticated retry; 438 → the new NONCE and again (bounded). Responses to authenticated requests
 *   count only with a valid MESSAGE-INTEGRITY (an unsigned error is accepted: it cannot grant anything).
 * - Refresh `refreshMarginS` before expiry (half the lifetime when that is short); a lost Refresh is
 *   retried until the allocation would expire; 437 means it is gone (→ failed).
 * - Permissions by peer IP (§9), installed on first use or by `createPermission`, refreshed every
 *   `permissionRefreshMs` while the peer is in use (sent to or heard from); datagrams sent before the
 *   permission is confirmed wait in a small queue.
 * - Channels (§12) for peers in use when `useChannels`: Send indications until the ChannelBind succeeds,
 *   ChannelData after; re-bound every `channelRefreshMs` while in use, kept (same number) until the
 *   server's binding would have expired.
 * - stop(): Refresh with LIFETIME 0 (deallocate), bounded; every timer and transaction ends.
 */
import type { TimerHandle } from '../../lib/clock.js';
import { EventHub } from '../../lib/event-hub.js';
import type { EventSource } from '../../lib/event-hub.js';
import { canonicalIp, sameIp } from '../../lib/ip.js';
import { StunAttr, StunMethod, attr, decodeStun, encodeStun, readU32Attr, readXorAddress, u32Attr, xorAddressAttr } from '../stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../stun/stun-message.js';
import { peerKey } from './turn-allocation.js';
import { CHANNEL_MAX, CHANNEL_MIN, channelNumberValue, decodeChannelData, encodeChannelData, isChannelData } from './turn-channel-data.js';
import { resolveTurnClientOptions } from './turn-client-options.js';
import type { ResolvedTurnClientOptions, TurnClientDeps, TurnClientEvents, TurnClientOptions, TurnClientState, TurnClientStats, TurnSendResult } from './turn-client-options.js';
import { TurnCredentialSession } from './turn-client-session.js';
import type { TurnExchange } from './turn-client-session.js';

export type { TurnClientDeps, TurnClientEvents, TurnClientOptions, TurnClientState, TurnClientStats, TurnSendResult } from './turn-client-options.js';

interface Permission {
  readonly ip: string;
  state: 'pending' | 'active';
  lastUsed: number;
  /** lastUsed when the permission was last (re)installed: used since then means "in use". */
  usedAtInstall: number;
  queue: { peer: StunAddress; data: Uint8Array }[];
  timer: TimerHandle | undefined;
  /** The CreatePermission in flight, if any. */
  installing: Promise<boolean> | undefined;
}

interface Channel {
  readonly number: number;
  readonly peer: StunAddress;
  state: 'binding' | 'bound' | 'idle';
  /** When the server's binding lapses (last successful bind + 600 s); until then the number stays the peer's. */
  boundUntil: number;
  /** After a failed ChannelBind: no new one before this time. */
  retryAt: number;
  lastUsed: number;
  usedAtBind: number;
  timer: TimerHandle | undefined;
}

const TRANSITIONS: Record<TurnClientState, readonly TurnClientState[]> = {
  idle: ['allocating', 'stopping'],
  allocating: ['allocated', 'failed', 'stopping'],
  allocated: ['failed', 'stopping'],
  failed: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};
const CHANNEL_LIFETIME_MS = 600_000;
/** ChannelData stops this long before the server's binding would lapse. */
const CHANNEL_MARGIN_MS = 60_000;
const REFRESH_RETRY_MS = 10_000;
const CHANNEL_RETRY_MS = 60_000;

export class TurnClient {
  private readonly hub = new EventHub<TurnClientEvents>();
  private st: TurnClientState = 'idle';
  private relayed: StunAddress | undefined;
  private mapped: StunAddress | undefined;
  private expiresAt = 0;
  private refreshTimer: TimerHandle | undefined;
  private readonly session: TurnCredentialSession;
  private readonly perms = new Map<string, Permission>();
  private readonly chans = new Map<string, Channel>();
  private readonly chanByNumber = new Map<number, Channel>();
  private nextChannel = CHANNEL_MIN;
  private stopping: Promise<boolean> | undefined;
  private allocating: Promise<void> | undefined;
  /** The server said the allocation is gone (437): nothing to delete. */
  private gone = false;
  private readonly counters: TurnClientStats = { sentIndications: 0, sentChannelData: 0, receivedIndications: 0, receivedChannelData: 0, droppedSends: 0, droppedReceived: 0 };
  private readonly o: ResolvedTurnClientOptions;

  constructor(
    private readonly deps: TurnClientDeps,
    options: TurnClientOptions,
  ) {
    this.o = resolveTurnClientOptions(options);
    this.session = new TurnCredentialSession(deps.stun, deps.random, this.o);
  }

  get events(): EventSource<TurnClientEvents> {
    return this.hub;
  }

  get state(): TurnClientState {
    return this.st;
  }

  /** The relayed transport address once allocated. */
  get relayedAddress(): StunAddress | undefined {
    return this.relayed;
  }

  /** The server-reflexive address the server saw (XOR-MAPPED-ADDRESS of the Allocate response). */
  get mappedAddress(): StunAddress | undefined {
    return this.mapped;
  }

  get server(): StunAddress {
    return this.o.server;
  }

  stats(): TurnClientStats {
    return { ...this.counters };
  }

  /** True when `from` is this client's TURN server (the owner routes its Data indications and ChannelData here). */
  isServer(from: StunAddress): boolean {
    return from.port === this.o.server.port && sameIp(from.host, this.o.server.host);
  }

  /** Sends the Allocate (RFC 8656 §7.1). Events tell the outcome. */
  start(): void {
    this.transition('allocating');
    this.allocating = this.allocate();
  }

  /** Installs (or refreshes) a permission for `peer`'s IP; resolves true once the server confirmed it. */
  createPermission(peer: StunAddress): Promise<boolean> {
    if (this.st !== 'allocated') return Promise.resolve(false);
    const p = this.permissionFor(peer);
    if (p === undefined) return Promise.resolve(false);
    p.lastUsed = this.deps.clock.now();
    if (p.installing === undefined) this.startInstall(p, peer);
    return p.installing!;
  }

  /**
   * Sends `data` to `peer` through the relay: ChannelData on a bound channel, a Send indication
   * otherwise; queued while the peer's permission is being installed.
   */
  send(peer: StunAddress, data: Uint8Array): TurnSendResult {
    if (this.st !== 'allocated') return this.drop();
    const p = this.permissionFor(peer);
    if (p === undefined) return this.drop();
    const now = this.deps.clock.now();
    p.lastUsed = now;
    if (p.state === 'pending') {
      if (p.queue.length >= this.o.maxQueuedPerPeer) return this.drop();
      p.queue.push({ peer, data });
      return 'queued';
    }
    this.transmit(peer, data, now);
    return 'sent';
  }

  /**
   * A datagram from the shared socket. True when it was this client's (ChannelData or a Data
   * indication from its server), false otherwise (the owner looks elsewhere).
   */
  receive(datagram: Uint8Array, from: StunAddress): boolean {
    if (!this.isServer(from)) return false;
    if (isChannelData(datagram)) {
      const cd = decodeChannelData(datagram);
      const c = cd === undefined ? undefined : this.chanByNumber.get(cd.channel);
      // any channel of ours: the server sends ChannelData only on a number it bound for us (a re-bind in flight included)
      if (cd === undefined || c === undefined) {
        this.counters.droppedReceived++;
        return true;
      }
      c.lastUsed = this.deps.clock.now();
      this.touch(c.peer.host);
      this.counters.receivedChannelData++;
      this.hub.emit('data', { peer: c.peer, data: cd.data, channel: c.number });
      return true;
    }
    const d = decodeStun(datagram);
    return d.ok ? this.receiveIndication(d.value, from) : false;
  }

  /** A decoded STUN message from the shared socket: true when it was a Data indication of this client's server. */
  receiveIndication(msg: DecodedStun, from: StunAddress): boolean {
    if (msg.method !== StunMethod.Data || msg.cls !== 'indication' || !this.isServer(from)) return false;
    const peer = readXorAddress(attr(msg, StunAttr.XOR_PEER_ADDRESS), msg.transactionId);
    const data = attr(msg, StunAttr.DATA);
    if (peer === undefined || data === undefined) {
      this.counters.droppedReceived++;
      return true;
    }
    this.touch(peer.host);
    this.counters.receivedIndications++;
    this.hub.emit('data', { peer, data });
    return true;
  }

  /**
   * The stream to the server closed (TURN over TCP): the allocation went with it (RFC 8656 §3.1), so
   * the client fails — and stop() sends nothing.
   */
  transportClosed(reason: string): void {
    this.gone = true;
    this.session.cancelAll();
    this.fail(`connection to the server closed: ${reason}`);
  }

  /** Deallocates (Refresh with LIFETIME 0) and ends every timer and transaction; true when the server confirmed. */
  stop(): Promise<boolean> {
    if (this.stopping !== undefined) return this.stopping;
    const before = this.st;
    this.transition('stopping');
    this.stopping = this.shutdown(before);
    return this.stopping;
  }

  // ---- allocation ----

  private async allocate(): Promise<void> {
    const r = await this.request(StunMethod.Allocate, () => {
      const a: StunAttribute[] = [{ type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(17, 0, 0, 0) }];
      if (this.o.family === 6) a.push({ type: StunAttr.REQUESTED_ADDRESS_FAMILY, value: Uint8Array.of(0x02, 0, 0, 0) });
      if (this.o.lifetimeS !== undefined) a.push(u32Attr(StunAttr.LIFETIME, this.o.lifetimeS));
      return a;
    });
    const relayed = r.ok ? readXorAddress(attr(r.response, StunAttr.XOR_RELAYED_ADDRESS), r.response.transactionId) : undefined;
    if (this.st === 'stopping') {
      this.relayed = relayed; // stop() deletes it
      return;
    }
    if (!r.ok) return this.fail(`Allocate failed: ${r.reason}`, r.code);
    if (relayed === undefined) return this.fail('Allocate success without XOR-RELAYED-ADDRESS');
    this.relayed = relayed;
    this.mapped = readXorAddress(attr(r.response, StunAttr.XOR_MAPPED_ADDRESS), r.response.transactionId);
    const lifetimeS = readU32Attr(attr(r.response, StunAttr.LIFETIME)) ?? 600;
    this.transition('allocated');
    this.armRefresh(lifetimeS);
    this.hub.emit('allocated', { relayed, mapped: this.mapped, lifetimeS });
  }

  private armRefresh(lifetimeS: number): void {
    const now = this.deps.clock.now();
    this.expiresAt = now + lifetimeS * 1000;
    const m = this.o.refreshMarginS;
    const delayS = lifetimeS > 2 * m ? lifetimeS - m : lifetimeS / 2;
    this.refreshTimer?.cancel();
    this.refreshTimer = this.deps.clock.setTimer(delayS * 1000, () => void this.refresh());
  }

  private async refresh(): Promise<void> {
    this.refreshTimer = undefined;
    if (this.st !== 'allocated') return;
    const r = await this.request(StunMethod.Refresh, () => (this.o.lifetimeS === undefined ? [] : [u32Attr(StunAttr.LIFETIME, this.o.lifetimeS)]));
    if (this.st !== 'allocated') return;
    if (r.ok) {
      const lifetimeS = readU32Attr(attr(r.response, StunAttr.LIFETIME)) ?? 600;
      this.armRefresh(lifetimeS);
      this.hub.emit('refreshed', { lifetimeS });
      return;
    }
    const now = this.deps.clock.now();
    if (r.code === undefined && now + REFRESH_RETRY_MS < this.expiresAt) {
      this.refreshTimer = this.deps.clock.setTimer(REFRESH_RETRY_MS, () => void this.refresh());
      return;
    }
    this.fail(`Refresh failed: ${r.reason}`, r.code);
  }

  private fail(reason: string, code?: number): void {
    if (this.st !== 'allocating' && this.st !== 'allocated') return;
    if (code === 437) this.gone = true;
    this.transition('failed');
    this.clearTimers();
    this.hub.emit('failed', code === undefined ? { reason } : { reason, code });
  }

  private async shutdown(before: TurnClientState): Promise<boolean> {
    // an Allocate in flight is let finish (its transaction is bounded): it may create an allocation
    if (before === 'allocating' && this.allocating !== undefined) await this.allocating;
    this.clearTimers();
    this.session.cancelAll();
    let ok = false;
    if (this.relayed !== undefined && !this.gone) {
      const r = await this.session.request(StunMethod.Refresh, () => [u32Attr(StunAttr.LIFETIME, 0)], { schedule: { maxTransmissions: 3, lastWaitFactor: 4 } });
      ok = r.ok || r.code === 437;
    }
    this.transition('stopped');
    return ok;
  }

  private clearTimers(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    for (const p of this.perms.values()) p.timer?.cancel();
    for (const c of this.chans.values()) c.timer?.cancel();
    this.perms.clear();
    this.chans.clear();
    this.chanByNumber.clear();
  }

  // ---- permissions ----

  private permissionFor(peer: StunAddress): Permission | undefined {
    const ip = canonicalIp(peer.host);
    if (ip === undefined) return undefined;
    const existing = this.perms.get(ip);
    if (existing !== undefined) return existing;
    if (this.perms.size >= this.o.maxPeers) return undefined;
    const now = this.deps.clock.now();
    const p: Permission = { ip, state: 'pending', lastUsed: now, usedAtInstall: now, queue: [], timer: undefined, installing: undefined };
    this.perms.set(ip, p);
    this.startInstall(p, peer);
    return p;
  }

  private startInstall(p: Permission, peer: StunAddress): void {
    const installing = this.installPermission(p, peer);
    p.installing = installing;
    void installing.finally(() => {
      if (p.installing === installing) p.installing = undefined;
    });
  }

  private async installPermission(p: Permission, peer: StunAddress): Promise<boolean> {
    const r = await this.request(StunMethod.CreatePermission, (tid) => [xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, peer, tid)]);
    if (this.st !== 'allocated' || this.perms.get(p.ip) !== p) return false;
    if (!r.ok) {
      this.perms.delete(p.ip);
      p.timer?.cancel();
      this.counters.droppedSends += p.queue.length;
      p.queue = [];
      this.hub.emit('permission', { peer: p.ip, ok: false, reason: r.reason });
      if (r.code === 437) this.fail('allocation lost (437 on CreatePermission)', 437);
      return false;
    }
    p.state = 'active';
    p.usedAtInstall = p.lastUsed;
    p.timer?.cancel();
    p.timer = this.deps.clock.setTimer(this.o.permissionRefreshMs, () => this.permissionDue(p, peer));
    const queued = p.queue;
    p.queue = [];
    const now = this.deps.clock.now();
    for (const q of queued) this.transmit(q.peer, q.data, now);
    this.hub.emit('permission', { peer: p.ip, ok: true });
    return true;
  }

  /** The refresh period has passed: refresh when used since the last install, else let it lapse (§9.1). */
  private permissionDue(p: Permission, peer: StunAddress): void {
    p.timer = undefined;
    if (this.perms.get(p.ip) !== p) return;
    if (p.lastUsed > p.usedAtInstall) this.startInstall(p, peer);
    else this.perms.delete(p.ip);
  }

  private touch(host: string): void {
    const ip = canonicalIp(host);
    const p = ip === undefined ? undefined : this.perms.get(ip);
    if (p !== undefined) p.lastUsed = this.deps.clock.now();
  }

  // ---- data ----

  private transmit(peer: StunAddress, data: Uint8Array, now: number): void {
    const c = this.o.useChannels ? this.channelFor(peer, now) : undefined;
    // a binding the server holds (a re-bind may be in flight) carries ChannelData until shortly before it lapses
    if (c !== undefined && now < c.boundUntil - CHANNEL_MARGIN_MS) {
      c.lastUsed = now;
      this.counters.sentChannelData++;
      this.deps.send(encodeChannelData(c.number, data), this.o.server);
      return;
    }
    if (c !== undefined) c.lastUsed = now;
    const transactionId = this.deps.random.bytes(12);
    const attributes: StunAttribute[] = [xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, peer, transactionId), { type: StunAttr.DATA, value: data }];
    this.counters.sentIndications++;
    this.deps.send(encodeStun({ method: StunMethod.Send, cls: 'indication', transactionId, attributes }, { fingerprint: this.o.fingerprint }), this.o.server);
  }

  private drop(): 'dropped' {
    this.counters.droppedSends++;
    return 'dropped';
  }

  // ---- channels ----

  /** The channel of `peer`, binding one (or re-binding a dormant one) as needed. */
  private channelFor(peer: StunAddress, now: number): Channel | undefined {
    const k = peerKey(peer);
    let c = this.chans.get(k);
    if (c !== undefined && c.state !== 'binding' && now >= c.boundUntil && now >= c.retryAt) {
      this.forgetChannel(c);
      c = undefined;
    }
    if (c === undefined) {
      const number = this.chans.size < this.o.maxChannels ? this.freeChannelNumber() : undefined;
      if (number === undefined) return undefined;
      c = { number, peer: { host: canonicalIp(peer.host) ?? peer.host, port: peer.port }, state: 'binding', boundUntil: 0, retryAt: 0, lastUsed: now, usedAtBind: now, timer: undefined };
      this.chans.set(k, c);
      this.chanByNumber.set(number, c);
      void this.bindChannel(c);
    } else if (c.state === 'idle' && now >= c.retryAt) {
      c.state = 'binding';
      void this.bindChannel(c);
    }
    return c;
  }

  private async bindChannel(c: Channel): Promise<void> {
    const r = await this.request(StunMethod.ChannelBind, (tid) => [
      { type: StunAttr.CHANNEL_NUMBER, value: channelNumberValue(c.number) },
      xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, c.peer, tid),
    ]);
    if (this.st !== 'allocated' || this.chanByNumber.get(c.number) !== c) return;
    const now = this.deps.clock.now();
    if (!r.ok) {
      // Send indications meanwhile; no new ChannelBind for this peer before CHANNEL_RETRY_MS (a server at its
      // channel limit would otherwise get one per datagram). The number stays the peer's while it may be bound.
      c.state = 'idle';
      c.retryAt = now + CHANNEL_RETRY_MS;
      this.hub.emit('channel', { peer: c.peer, number: c.number, ok: false, reason: r.reason });
      if (r.code === 437) this.fail('allocation lost (437 on ChannelBind)', 437);
      return;
    }
    const first = c.boundUntil === 0;
    c.state = 'bound';
    c.boundUntil = now + CHANNEL_LIFETIME_MS;
    c.usedAtBind = c.lastUsed;
    c.timer?.cancel();
    c.timer = this.deps.clock.setTimer(this.o.channelRefreshMs, () => this.channelDue(c));
    if (first) this.hub.emit('channel', { peer: c.peer, number: c.number, ok: true });
  }

  /** Re-bind while in use; otherwise the channel goes idle and is forgotten once the server's binding lapses. */
  private channelDue(c: Channel): void {
    c.timer = undefined;
    if (this.chanByNumber.get(c.number) !== c) return;
    if (c.lastUsed > c.usedAtBind) {
      c.state = 'binding';
      void this.bindChannel(c);
      return;
    }
    c.state = 'idle';
    // RFC 8656 §12: a number and a peer stay apart from others for 5 minutes after the binding lapses
    c.timer = this.deps.clock.setTimer(Math.max(0, c.boundUntil - this.deps.clock.now()) + 300_000, () => {
      if (c.state === 'idle') this.forgetChannel(c);
    });
  }

  private forgetChannel(c: Channel): void {
    c.timer?.cancel();
    c.timer = undefined;
    if (this.chanByNumber.get(c.number) === c) this.chanByNumber.delete(c.number);
    const k = peerKey(c.peer);
    if (this.chans.get(k) === c) this.chans.delete(k);
  }

  private freeChannelNumber(): number | undefined {
    const span = CHANNEL_MAX - CHANNEL_MIN + 1;
    for (let i = 0; i < span; i++) {
      const n = this.nextChannel;
      this.nextChannel = n === CHANNEL_MAX ? CHANNEL_MIN : n + 1;
      if (!this.chanByNumber.has(n)) return n;
    }
    return undefined;
  }

  /** A request of the running client: it ends ('stopped') once stop() began (an Allocate in flight finishes its round). */
  private request(method: number, build: (tid: Uint8Array) => StunAttribute[]): Promise<TurnExchange> {
    return this.session.request(method, build, { proceed: () => this.st === 'allocating' || this.st === 'allocated' });
  }

  private transition(to: TurnClientState): void {
    if (!TRANSITIONS[this.st].includes(to)) throw new Error(`TURN client: ${this.st} → ${to} is not a legal transition`);
    this.st = to;
  }
}
