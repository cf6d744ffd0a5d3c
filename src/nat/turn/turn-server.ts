/**
 * A TURN server core (RFC 8656, UDP relaying only), sans-I/O: the owner feeds it the TURN datagrams
 * that reach its shared UDP socket (Allocate, Refresh, CreatePermission, ChannelBind requests, Send
 * indications, ChannelData) — and the messages framed off clients' TCP connections (RFC 8656 §3.1,
 * turn-stream-server.ts; `from.transport` 'tcp', the connection being the 5-tuple, released with it by
 * `connectionClosed`) — and the datagrams that reach the relay ports; it answers through
 * {@link TurnServerHost.sendToClient}, opens and closes relay ports through {@link RelayPorts}, and
 * keeps time on the injected clock.
 *
 * Guards against becoming an open relay, each explicit and configurable ({@link TurnServerOptions}):
 * - every request is authenticated with the long-term mechanism (turn-server-auth.ts); nothing is kept
 *   for a client before that (stateless nonces), so a flood of unauthenticated Allocates costs 401s only;
 * - allocations are bounded in all (508), per username (486) and per client IP (486); lifetimes are capped;
 * - permissions and channels per allocation are bounded (508); peers the policy forbids get 403
 *   (loopback, unspecified, multicast, the server's own address — turn-peer-policy.ts);
 * - each direction of each allocation has a token bucket, and each direction of the whole server one
 *   more (all allocations together); excess datagrams are dropped and counted;
 * - peer datagrams without a permission are dropped and counted (§10.3).
 * Every allocation is released on expiry (one timer each) and on stop(); a relay port that opens after
 * its allocation was given up is closed at once.
 */
import { EventHub } from '../../lib/event-hub.js';
import type { EventSource } from '../../lib/event-hub.js';
import { ipFamily, sourceNetwork } from '../../lib/ip.js';
import {
  StunAttr,
  StunMethod,
  attr,
  decodeStun,
  encodeStun,
  errorCodeAttr,
  readU32Attr,
  readXorAddress,
  responseTo,
  textAttr,
  transactionKey,
  u32Attr,
  unknownAttributesAttr,
  unknownRequired,
  xorAddressAttr,
} from '../stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../stun/stun-message.js';
import { TurnAllocation, clientKey, peerKey } from './turn-allocation.js';
import { TokenBucket } from './turn-token-bucket.js';
import type { RelayPort } from './turn-allocation.js';
import { decodeChannelData, encodeChannelData, isChannelData, isValidChannel, readChannelNumber } from './turn-channel-data.js';
import { TurnNonces } from './turn-nonce.js';
import { forbiddenPeerReason } from './turn-peer-policy.js';
import { authenticate } from './turn-server-auth.js';
import { SourceRateLimiter } from '../source-rate-limiter.js';
import { resolveTurnServerOptions } from './turn-server-options.js';
import type { AllocationInfo, ResolvedTurnServerOptions, TurnClientAddress, TurnServerDeps, TurnServerEvents, TurnServerOptions, TurnServerStats } from './turn-server-options.js';

export type { RelayPort } from './turn-allocation.js';
export type { TurnKeyLookup } from './turn-server-auth.js';
export type { AllocationInfo, RelayPortRequest, RelayPorts, TurnClientAddress, TurnClientTransport, TurnServerDeps, TurnServerEvents, TurnServerHost, TurnServerOptions, TurnServerStats } from './turn-server-options.js';

/** STUN methods a TURN server answers (Binding stays with binding-server.ts). */
const TURN_METHODS = new Set<number>([StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind, StunMethod.Send]);

/** True for a STUN message the TURN server should get: a TURN request, or a Send indication. */
export function isTurnServerMessage(msg: DecodedStun): boolean {
  if (!TURN_METHODS.has(msg.method)) return false;
  return msg.method === StunMethod.Send ? msg.cls === 'indication' : msg.cls === 'request';
}

/**
 * Comprehension-required attributes the server understands; anything else (BANDWIDTH, USERHASH, and
 * DONT-FRAGMENT — node's sockets cannot set the DF bit, so §7.2 step 4 has it treated as unknown) gets 420.
 */
const KNOWN = new Set<number>([
  StunAttr.USERNAME,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.MESSAGE_INTEGRITY_SHA256,
  StunAttr.PASSWORD_ALGORITHM,
  StunAttr.REALM,
  StunAttr.NONCE,
  StunAttr.LIFETIME,
  StunAttr.REQUESTED_TRANSPORT,
  StunAttr.REQUESTED_ADDRESS_FAMILY,
  StunAttr.EVEN_PORT,
  StunAttr.RESERVATION_TOKEN,
  StunAttr.XOR_PEER_ADDRESS,
  StunAttr.CHANNEL_NUMBER,
  StunAttr.DATA,
  StunAttr.PADDING,
]);
const UDP = 17;

interface Pending {
  readonly tid: string;
  readonly username: string;
  readonly ipKey: string;
}

type Answer = { code: number; reason: string; extra?: StunAttribute[] } | { attrs: StunAttribute[] };

export class TurnServer {
  private readonly hub = new EventHub<TurnServerEvents>();
  private readonly nonces: TurnNonces;
  private readonly allocs = new Map<string, TurnAllocation>();
  private readonly byPort = new Map<number, TurnAllocation>();
  private readonly pending = new Map<string, Pending>();
  private readonly opening = new Set<Promise<void>>();
  private readonly perUser = new Map<string, number>();
  private readonly perIp = new Map<string, number>();
  private readonly o: ResolvedTurnServerOptions;
  private readonly counters: Omit<TurnServerStats, 'allocations' | 'pendingAllocations' | 'errors'> = {
    allocationsCreated: 0,
    challenges: 0,
    authFailures: 0,
    staleNonces: 0,
    droppedNoPermission: 0,
    droppedBandwidth: 0,
    droppedTotalBandwidth: 0,
    droppedUnroutable: 0,
    droppedUnknownPort: 0,
    unauthenticatedDropped: 0,
    relayedToPeer: 0,
    relayedToClient: 0,
  };
  private readonly errors: Record<number, number> = {};
  private stopped = false;
  private readonly unauthenticated: SourceRateLimiter;
  /** The server-wide limits, each direction (all allocations together). */
  private readonly totalUp: TokenBucket;
  private readonly totalDown: TokenBucket;

  constructor(
    private readonly deps: TurnServerDeps,
    options: TurnServerOptions,
  ) {
    this.o = resolveTurnServerOptions(options);
    this.unauthenticated = new SourceRateLimiter({ ratePerS: this.o.unauthenticatedRatePerS, burst: this.o.unauthenticatedBurst, maxSources: 4096 });
    this.nonces = new TurnNonces(deps.clock, deps.random, this.o.nonceLifetimeMs);
    this.totalUp = new TokenBucket(this.o.totalBandwidthBytesPerS, this.o.totalBandwidthBurstBytes, deps.clock.now());
    this.totalDown = new TokenBucket(this.o.totalBandwidthBytesPerS, this.o.totalBandwidthBurstBytes, deps.clock.now());
  }

  /** The bandwidth limits in force, bytes per second each direction (for /api/status). */
  get bandwidth(): { perAllocationBytesPerS: number; totalBytesPerS: number } {
    return { perAllocationBytesPerS: this.o.bandwidthBytesPerS, totalBytesPerS: this.o.totalBandwidthBytesPerS };
  }

  get events(): EventSource<TurnServerEvents> {
    return this.hub;
  }

  /**
   * A datagram from the shared socket (or a message framed off a client's TCP connection, `from` with
   * transport 'tcp'): a TURN STUN message or ChannelData. False when it is neither (not ours: the owner
   * passes it on); true when consumed, answered or dropped.
   */
  receive(datagram: Uint8Array, from: TurnClientAddress): boolean {
    if (isChannelData(datagram, this.o.rfc5766ChannelNumbers)) return this.receiveChannelData(datagram, from);
    const d = decodeStun(datagram);
    return d.ok ? this.handleStun(d.value, from) : false;
  }

  /** A decoded STUN message from a client; false when it is not a TURN request or Send indication. */
  handleStun(msg: DecodedStun, from: TurnClientAddress): boolean {
    if (!isTurnServerMessage(msg)) return false;
    if (this.stopped) return true;
    if (msg.cls === 'indication') this.onSend(msg, from);
    else this.onRequest(msg, from);
    return true;
  }

  /** ChannelData from a client (RFC 8656 §12.6); false when the bytes are not ChannelData (of the accepted range). */
  receiveChannelData(datagram: Uint8Array, from: TurnClientAddress): boolean {
    const cd = decodeChannelData(datagram, this.o.rfc5766ChannelNumbers);
    if (cd === undefined) return false;
    const a = this.allocs.get(clientKey(from));
    const now = this.deps.clock.now();
    const b = a?.channel(cd.channel, now);
    if (a === undefined || b === undefined || !a.hasPermission(b.peer.host, now)) {
      this.counters.droppedUnroutable++;
      return true;
    }
    this.toPeer(a, b.peer, cd.data, now);
    return true;
  }

  /** A datagram that reached relay port `portId` from `from` (a peer). */
  relayReceived(portId: number, datagram: Uint8Array, from: StunAddress): void {
    const a = this.byPort.get(portId);
    if (a === undefined) {
      this.counters.droppedUnknownPort++;
      return;
    }
    const now = this.deps.clock.now();
    if (!a.hasPermission(from.host, now)) {
      a.counters.droppedNoPermission++;
      this.counters.droppedNoPermission++;
      return;
    }
    if (!this.withinBandwidth(a, a.down, this.totalDown, datagram.length, now)) return;
    const ch = a.channelFor(from, now);
    let out: Uint8Array;
    try {
      // over TCP ChannelData is always padded: the padding keeps the stream's messages 4-byte aligned (RFC 8656 §12.5)
      if (ch !== undefined) out = encodeChannelData(ch.number, datagram, this.o.padChannelData || a.client.transport === 'tcp');
      else {
        const transactionId = this.deps.random.bytes(12);
        const attributes = [xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, from, transactionId), { type: StunAttr.DATA, value: datagram }];
        out = encodeStun({ method: StunMethod.Data, cls: 'indication', transactionId, attributes });
      }
    } catch {
      this.counters.droppedUnroutable++;
      return;
    }
    a.counters.toClientPackets++;
    a.counters.toClientBytes += datagram.length;
    this.counters.relayedToClient++;
    this.deps.host.sendToClient(out, a.client);
  }

  stats(): TurnServerStats {
    return { ...this.counters, allocations: this.allocs.size, pendingAllocations: this.pending.size, errors: { ...this.errors } };
  }

  allocations(): AllocationInfo[] {
    const now = this.deps.clock.now();
    return [...this.allocs.values()].map((a) => ({
      client: { host: a.client.host, port: a.client.port },
      transport: a.client.transport ?? 'udp',
      relayed: a.relay.address,
      username: a.username,
      expiresInS: Math.max(0, Math.round((a.expiresAt - now) / 1000)),
      permissions: a.permissionCount(now),
      channels: a.channelCount(now),
      toPeerPackets: a.counters.toPeerPackets,
      toClientPackets: a.counters.toClientPackets,
      droppedNoPermission: a.counters.droppedNoPermission,
      droppedBandwidth: a.counters.droppedBandwidth,
    }));
  }

  /**
   * The client's TCP connection closed (or was closed): its allocation goes with it, and an Allocate
   * still waiting for its relay port is given up (RFC 8656 §2.2: over TCP the connection is the 5-tuple).
   */
  connectionClosed(client: TurnClientAddress): void {
    const k = clientKey(client);
    this.pending.delete(k); // onPortOpened then closes the port and gives the quota back
    const a = this.allocs.get(k);
    if (a !== undefined) this.release(a, 'closed');
  }

  /** Releases every allocation and closes every relay port, including those still opening. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    for (const a of [...this.allocs.values()]) this.release(a, 'stopped');
    await Promise.allSettled([...this.opening]);
  }

  // ---- requests ----

  private onRequest(req: DecodedStun, from: TurnClientAddress): void {
    const auth = authenticate(req, from, this.o.realm, this.nonces, this.deps.lookupKey);
    if (!auth.ok) {
      if (!this.unauthenticated.take(from.host, this.deps.clock.now())) {
        this.counters.unauthenticatedDropped++;
        return;
      }
      if (auth.kind === 'challenge') this.counters.challenges++;
      else if (auth.kind === 'bad-credentials') this.counters.authFailures++;
      else if (auth.kind === 'stale-nonce') this.counters.staleNonces++;
      const extra = auth.nonce === undefined ? [] : [textAttr(StunAttr.REALM, this.o.realm), textAttr(StunAttr.NONCE, auth.nonce)];
      this.reply(req, from, { code: auth.code, reason: auth.reason, extra }, undefined);
      return;
    }
    const unknown = unknownRequired(req, KNOWN);
    if (unknown.length > 0) {
      this.reply(req, from, { code: 420, reason: 'Unknown Attribute', extra: [unknownAttributesAttr(unknown)] }, auth.key);
      return;
    }
    if (req.method === StunMethod.Allocate) {
      this.onAllocate(req, from, auth.username, auth.key);
      return;
    }
    const a = this.allocs.get(clientKey(from));
    let answer: Answer;
    if (a === undefined) answer = { code: 437, reason: 'Allocation Mismatch' };
    else if (a.username !== auth.username) answer = { code: 441, reason: 'Wrong Credentials' };
    else if (req.method === StunMethod.Refresh) answer = this.onRefresh(req, a);
    else if (req.method === StunMethod.CreatePermission) answer = this.onCreatePermission(req, a);
    else answer = this.onChannelBind(req, a);
    this.reply(req, from, answer, auth.key);
  }

  /** RFC 8656 §7.2. */
  private onAllocate(req: DecodedStun, from: TurnClientAddress, username: string, key: Uint8Array): void {
    const k = clientKey(from);
    const tid = transactionKey(req.transactionId);
    const existing = this.allocs.get(k);
    if (existing !== undefined) {
      if (existing.allocateTid === tid) this.deps.host.sendToClient(existing.allocateResponse, from);
      else this.reply(req, from, { code: 437, reason: 'Allocation Mismatch' }, key);
      return;
    }
    const p = this.pending.get(k);
    if (p !== undefined) {
      if (p.tid !== tid) this.reply(req, from, { code: 437, reason: 'Allocation Mismatch' }, key);
      return; // a retransmission: the answer comes once the port is open
    }
    const fail = (code: number, reason: string, extra: StunAttribute[] = []): void => this.reply(req, from, { code, reason, extra }, key);
    const transport = attr(req, StunAttr.REQUESTED_TRANSPORT);
    if (transport === undefined || transport.length !== 4) return fail(400, 'Bad Request: REQUESTED-TRANSPORT is required');
    if (transport[0] !== UDP) return fail(442, 'Unsupported Transport Protocol');
    const even = attr(req, StunAttr.EVEN_PORT);
    const token = attr(req, StunAttr.RESERVATION_TOKEN);
    const fam = attr(req, StunAttr.REQUESTED_ADDRESS_FAMILY);
    if (token !== undefined && (even !== undefined || fam !== undefined)) return fail(400, 'Bad Request: RESERVATION-TOKEN with EVEN-PORT or REQUESTED-ADDRESS-FAMILY');
    if (token !== undefined) return fail(508, 'Insufficient Capacity: no reserved port'); // no reservations are made
    if (even !== undefined && (even.length < 1 || (even[0]! & 0x80) !== 0)) return fail(508, 'Insufficient Capacity: ports are not reserved');
    let family: 4 | 6 = 4;
    if (fam !== undefined) {
      if (fam.length !== 4 || (fam[0] !== 0x01 && fam[0] !== 0x02)) return fail(440, 'Address Family not Supported');
      family = fam[0] === 0x01 ? 4 : 6;
    }
    if (!this.deps.relayPorts.families.includes(family)) return fail(440, 'Address Family not Supported');
    const ipKey = sourceNetwork(from.host) ?? from.host;
    if ((this.perUser.get(username) ?? 0) >= this.o.maxAllocationsPerUser) return fail(486, 'Allocation Quota Reached');
    if ((this.perIp.get(ipKey) ?? 0) >= this.o.maxAllocationsPerClientIp) return fail(486, 'Allocation Quota Reached');
    if (this.allocs.size + this.pending.size >= this.o.maxAllocations) return fail(508, 'Insufficient Capacity');
    const lifetimeS = this.lifetime(readU32Attr(attr(req, StunAttr.LIFETIME)));
    const entry: Pending = { tid, username, ipKey };
    this.pending.set(k, entry);
    bump(this.perUser, username, 1);
    bump(this.perIp, ipKey, 1);
    const opened = this.deps.relayPorts
      .open({ family, evenPort: even !== undefined })
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
      .then((port) => this.onPortOpened(req, from, k, entry, key, lifetimeS, family, port));
    this.opening.add(opened);
    void opened.finally(() => this.opening.delete(opened));
  }

  private onPortOpened(req: DecodedStun, from: TurnClientAddress, k: string, entry: Pending, key: Uint8Array, lifetimeS: number, family: 4 | 6, port: RelayPort | Error): void {
    const stillWanted = !this.stopped && this.pending.get(k) === entry;
    if (stillWanted) this.pending.delete(k);
    if (!stillWanted || port instanceof Error || this.byPort.has(port.id)) {
      if (!(port instanceof Error)) port.close();
      bump(this.perUser, entry.username, -1);
      bump(this.perIp, entry.ipKey, -1);
      if (stillWanted) this.reply(req, from, { code: 508, reason: 'Insufficient Capacity: no relay port' }, key);
      return;
    }
    const now = this.deps.clock.now();
    const attrs = [
      xorAddressAttr(StunAttr.XOR_RELAYED_ADDRESS, port.address, req.transactionId),
      u32Attr(StunAttr.LIFETIME, lifetimeS),
      xorAddressAttr(StunAttr.XOR_MAPPED_ADDRESS, from, req.transactionId),
    ];
    const response = this.encodeAnswer(req, { attrs }, key);
    const a = new TurnAllocation(from, entry.username, port, family, now + lifetimeS * 1000, entry.tid, response, { rate: this.o.bandwidthBytesPerS, burst: this.o.bandwidthBurstBytes }, now);
    this.allocs.set(k, a);
    this.byPort.set(port.id, a);
    this.arm(a);
    this.counters.allocationsCreated++;
    this.deps.host.sendToClient(response, from);
    this.hub.emit('allocated', { client: from, relayed: port.address, username: entry.username, lifetimeS });
  }

  /** RFC 8656 §7.3. */
  private onRefresh(req: DecodedStun, a: TurnAllocation): Answer {
    const fam = attr(req, StunAttr.REQUESTED_ADDRESS_FAMILY);
    if (fam !== undefined && (fam.length !== 4 || (fam[0] === 0x01 ? 4 : 6) !== a.family)) return { code: 443, reason: 'Peer Address Family Mismatch' };
    const requested = readU32Attr(attr(req, StunAttr.LIFETIME));
    if (requested === 0) {
      this.release(a, 'deleted');
      return { attrs: [u32Attr(StunAttr.LIFETIME, 0)] };
    }
    const lifetimeS = this.lifetime(requested);
    a.expiresAt = this.deps.clock.now() + lifetimeS * 1000;
    this.arm(a);
    return { attrs: [u32Attr(StunAttr.LIFETIME, lifetimeS)] };
  }

  /** RFC 8656 §9.2: all permissions installed, or none. */
  private onCreatePermission(req: DecodedStun, a: TurnAllocation): Answer {
    const peers: StunAddress[] = [];
    for (const at of req.attributes) {
      if (at.type !== StunAttr.XOR_PEER_ADDRESS) continue;
      const p = readXorAddress(at.value, req.transactionId);
      if (p === undefined) return { code: 400, reason: 'Bad Request: malformed XOR-PEER-ADDRESS' };
      peers.push(p);
    }
    if (peers.length === 0) return { code: 400, reason: 'Bad Request: XOR-PEER-ADDRESS is required' };
    for (const p of peers) {
      const bad = this.checkPeer(p, a);
      if (bad !== undefined) return bad;
    }
    const now = this.deps.clock.now();
    const hosts = peers.map((p) => p.host);
    if (a.permissionCount(now) + a.newPermissions(hosts, now) > this.o.maxPermissionsPerAllocation) return { code: 508, reason: 'Insufficient Capacity: too many permissions' };
    for (const h of hosts) a.setPermission(h, now + this.o.permissionLifetimeS * 1000);
    return { attrs: [] };
  }

  /** RFC 8656 §12.2. */
  private onChannelBind(req: DecodedStun, a: TurnAllocation): Answer {
    const number = readChannelNumber(attr(req, StunAttr.CHANNEL_NUMBER));
    const peer = readXorAddress(attr(req, StunAttr.XOR_PEER_ADDRESS), req.transactionId);
    if (number === undefined || peer === undefined) return { code: 400, reason: 'Bad Request: CHANNEL-NUMBER and XOR-PEER-ADDRESS are required' };
    if (!isValidChannel(number, this.o.rfc5766ChannelNumbers)) return { code: 400, reason: 'Bad Request: channel number out of range' };
    const bad = this.checkPeer(peer, a);
    if (bad !== undefined) return bad;
    const now = this.deps.clock.now();
    const byNumber = a.channel(number, now);
    const byPeer = a.channelFor(peer, now);
    if (byNumber !== undefined && peerKey(byNumber.peer) !== peerKey(peer)) return { code: 400, reason: 'Bad Request: channel bound to another peer' };
    if (byPeer !== undefined && byPeer.number !== number) return { code: 400, reason: 'Bad Request: peer bound to another channel' };
    if (byNumber === undefined && a.channelCount(now) >= this.o.maxChannelsPerAllocation) return { code: 508, reason: 'Insufficient Capacity: too many channels' };
    if (!a.hasPermission(peer.host, now) && a.permissionCount(now) >= this.o.maxPermissionsPerAllocation) return { code: 508, reason: 'Insufficient Capacity: too many permissions' };
    a.bind(number, peer, now + this.o.channelLifetimeS * 1000);
    a.setPermission(peer.host, now + this.o.permissionLifetimeS * 1000);
    return { attrs: [] };
  }

  /** A Send indication (RFC 8656 §11.2): relayed when the peer has a permission, silently dropped otherwise. */
  private onSend(msg: DecodedStun, from: TurnClientAddress): void {
    const a = this.allocs.get(clientKey(from));
    const peer = readXorAddress(attr(msg, StunAttr.XOR_PEER_ADDRESS), msg.transactionId);
    const data = attr(msg, StunAttr.DATA);
    const now = this.deps.clock.now();
    if (a === undefined || peer === undefined || data === undefined || unknownRequired(msg, KNOWN_INDICATION).length > 0 || !a.hasPermission(peer.host, now) || this.checkPeer(peer, a) !== undefined) {
      this.counters.droppedUnroutable++;
      return;
    }
    this.toPeer(a, peer, data, now);
  }

  // ---- helpers ----

  private toPeer(a: TurnAllocation, peer: StunAddress, data: Uint8Array, now: number): void {
    if (!this.withinBandwidth(a, a.up, this.totalUp, data.length, now)) return;
    a.counters.toPeerPackets++;
    a.counters.toPeerBytes += data.length;
    this.counters.relayedToPeer++;
    a.relay.send(data, peer);
  }

  /**
   * The allocation's bucket first (a flooding client spends its own budget, not the server's), then
   * the server-wide one; a datagram refused by the latter gives its bytes back to the former.
   */
  private withinBandwidth(a: TurnAllocation, own: TokenBucket, total: TokenBucket, bytes: number, now: number): boolean {
    if (own.take(bytes, now)) {
      if (total.take(bytes, now)) return true;
      own.giveBack(bytes);
      this.counters.droppedTotalBandwidth++;
    }
    a.counters.droppedBandwidth++;
    this.counters.droppedBandwidth++;
    return false;
  }

  /** 443 for a peer of the other family, 403 for a forbidden one (§9.2, §12.2, turn-peer-policy.ts). */
  private checkPeer(peer: StunAddress, a: TurnAllocation): Answer | undefined {
    if (ipFamily(peer.host) !== a.family) return { code: 443, reason: 'Peer Address Family Mismatch' };
    const why = forbiddenPeerReason(peer, {
      allowLoopback: this.o.allowLoopbackPeers,
      forbidPrivate: this.o.forbidPrivatePeers,
      ...(this.o.serverAddresses === undefined ? {} : { serverAddresses: this.o.serverAddresses }),
      ...(this.o.allowPeer === undefined ? {} : { allow: this.o.allowPeer }),
    });
    return why === undefined ? undefined : { code: 403, reason: `Forbidden: ${why}` };
  }

  /** The lifetime granted for a requested one (§7.2 "desired lifetime"): at least the default, at most the cap. */
  private lifetime(requested: number | undefined): number {
    if (requested === undefined) return this.o.defaultLifetimeS;
    return Math.max(this.o.defaultLifetimeS, Math.min(requested, this.o.maxLifetimeS));
  }

  private arm(a: TurnAllocation): void {
    a.timer?.cancel();
    a.timer = this.deps.clock.setTimer(a.expiresAt - this.deps.clock.now(), () => this.release(a, 'expired'));
  }

  private release(a: TurnAllocation, reason: TurnServerEvents['released']['reason']): void {
    const k = clientKey(a.client);
    if (this.allocs.get(k) !== a) return;
    this.allocs.delete(k);
    this.byPort.delete(a.relay.id);
    a.timer?.cancel();
    a.timer = undefined;
    bump(this.perUser, a.username, -1);
    bump(this.perIp, sourceNetwork(a.client.host) ?? a.client.host, -1);
    a.relay.close();
    this.hub.emit('released', { client: a.client, relayed: a.relay.address, username: a.username, reason });
  }

  private encodeAnswer(req: DecodedStun, answer: Answer, key: Uint8Array | undefined): Uint8Array {
    const attrs = 'attrs' in answer ? [...answer.attrs] : [errorCodeAttr(answer.code, answer.reason), ...(answer.extra ?? [])];
    if (this.o.software !== undefined) attrs.push(textAttr(StunAttr.SOFTWARE, this.o.software));
    const cls = 'attrs' in answer ? 'success' : 'error';
    return encodeStun(responseTo(req, cls, attrs), { ...(key === undefined ? {} : { integrityKey: key }), fingerprint: req.fingerprinted });
  }

  private reply(req: DecodedStun, to: TurnClientAddress, answer: Answer, key: Uint8Array | undefined): void {
    if ('code' in answer) this.errors[answer.code] = (this.errors[answer.code] ?? 0) + 1;
    this.deps.host.sendToClient(this.encodeAnswer(req, answer, key), to);
  }
}

const KNOWN_INDICATION = new Set<number>([StunAttr.XOR_PEER_ADDRESS, StunAttr.DATA, StunAttr.DONT_FRAGMENT, StunAttr.PADDING]);
function bump(m: Map<string, number>, k: string, by: number): void {
  const v = (m.get(k) ?? 0) + by;
  if (v <= 0) m.delete(k);
  else m.set(k, v);
}
