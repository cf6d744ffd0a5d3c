/**
 * The media relay of a peer (the SATO "RTP port", issue 13), sans-I/O: sessions (one per call,
 * by Call-ID), their streams (one per m-line) and, for each stream, one leg per side of the call:
 *
 *   ua leg    a pair of our UDP ports facing a phone (RTP on an even port, RTCP on the next): the
 *             phone is sent to at the address its SDP named until its first packet comes, then at
 *             the address that packet came from (symmetric RTP, latching). Only a source whose IP is
 *             the phone's (its SIP source or its SDP address) can latch; once latched, packets from
 *             any other source are dropped — nobody else can inject into or take over a call.
 *   peer leg  the other peer's relay: frames go inside the SIP channel of the two peers (the ICE
 *             path they found, direct or through TURN) or, without ICE, to the peer's UDP trunk
 *             port. A frame is [0xD0 | component][tag: u32 BE][RTP or RTCP packet]; the tag is the
 *             receiver's (it picked it and sent it in its SDP), so it finds the stream at once.
 *
 * Bundles: frames for one peer that are ready in the same turn of the event loop go out together,
 * as one datagram [0xD2]([length: u16 BE][frame])…, at most `bundleBytes` (default 1,200: below any
 * path's MTU, TURN's ChannelData header included), sent at the turn's end (the host's `afterTurn`) —
 * no packet waits for a later one. Only to a relay that said it takes them (`a=p2psip-relay:bundle`).
 * Under load a turn holds many packets, so the datagrams between peers, and the kernel's work per
 * relayed packet, shrink just when they matter; alone in its turn, a frame goes out as it is.
 *
 * A packet from one leg goes out of the other leg of its stream, untouched (SRTP, RFC 4733 events
 * and RTCP pass as they are). A session ends at BYE, at a failed or cancelled INVITE, when
 * released, or after `timeoutMs` without a packet or a SIP message; its ports and tags go with it.
 *
 * Limits: `maxSessions` (default 5,000); ports come from the MediaPorts pool (a configurable range);
 * frames of unknown tags, packets of unlatched sources are dropped and counted.
 */
import type { Clock } from '../lib/clock.js';
import { PeriodicTask, type Lifecycle } from '../lib/lifecycle.js';
import type { Random } from '../lib/random.js';
import { MediaError } from './media-error.js';
import { detachString } from '../sip/message/index.js';

export interface UdpAddr {
  readonly host: string;
  readonly port: number;
}

/** 0: RTP, 1: RTCP. */
export type Component = 0 | 1;

/** Two bound UDP ports (RTP, RTCP = RTP + 1) facing a phone. */
export interface MediaPortPair {
  readonly port: number;
  send(component: Component, data: Uint8Array, to: UdpAddr): void;
  close(): void;
}

/** The platform's pool of port pairs (from the configured range). */
export interface MediaPorts {
  /** A bound pair now, or undefined when the range is exhausted. */
  take(onPacket: (component: Component, data: Uint8Array, from: UdpAddr) => void): MediaPortPair | undefined;
  /** Pairs in use. */
  inUse(): number;
  /**
   * Resolves once at least `n` pairs are bound and ready (or the range has no more): a burst of calls
   * waits for its ports here rather than finding the ready pool empty.
   */
  ensure?(n: number): Promise<void>;
}

/** How frames reach other peers' relays. */
export interface MediaTrunk {
  /** Into the SIP channel with the peer `nodeHex`; false when none is open. */
  sendToNode(nodeHex: string, frame: Uint8Array): boolean;
  /** To another peer's UDP trunk port (peers without ICE). */
  sendTo(to: UdpAddr, frame: Uint8Array): void;
  /** Our UDP trunk address, if we have one. */
  address(): UdpAddr | undefined;
}

/** IPs that may latch one phone-facing leg (its SIP sources and SDP addresses; forks add more). */
export const MAX_LATCH_SOURCES = 8;

export const FRAME_MARK = 0xd0;
export const FRAME_HEADER = 5;
/** First byte of a bundle of frames (outside RFC 7983's ranges too). */
export const BUNDLE_MARK = 0xd2;
/** Largest bundle, bytes (default). */
export const DEFAULT_BUNDLE_BYTES = 1200;
/** Before each frame in a bundle: its length (u16 BE). */
const BUNDLE_LENGTH_BYTES = 2;

/** A frame's first byte is ours (0xD0 RTP, 0xD1 RTCP): outside RFC 7983's ranges. */
export function isMediaFrame(d: Uint8Array): boolean {
  return d.length > FRAME_HEADER && (d[0]! & 0xfe) === FRAME_MARK;
}

export interface MediaRelayOptions {
  /** A session with no packet and no SIP message for this long is released (default 60,000 ms). */
  timeoutMs?: number;
  /** Sessions at once (default 5,000); more get 503. */
  maxSessions?: number;
  /**
   * Packets per second one phone may send into one leg (default 2,000: G.711 is 50, HD video a few
   * hundred), with bursts of twice that; the excess is dropped and counted (`rateLimited`).
   */
  maxPacketsPerSecond?: number;
  /** Largest bundle of frames to one peer, bytes (default 1,200; 0: every frame alone). */
  bundleBytes?: number;
}

export interface UaLeg {
  readonly kind: 'ua';
  readonly pair: MediaPortPair;
  /** Where the phone's SDP says to send (RTP, RTCP); undefined on hold or before its SDP. */
  dest: [UdpAddr | undefined, UdpAddr | undefined];
  latched: [UdpAddr | undefined, UdpAddr | undefined];
  /** IPs that may latch: the phone's SIP source and SDP address. */
  readonly allowed: Set<string>;
  rtcpMux: boolean;
  /** Token bucket of the phone's packets (maxPacketsPerSecond). */
  tokens: number;
  refilledAt: number;
}

export interface PeerLeg {
  readonly kind: 'peer';
  readonly localTag: number;
  remoteTag: number | undefined;
  /** The peer's UDP trunk (no channel), else frames go to `node`'s channel. */
  remoteTrunk: UdpAddr | undefined;
  /**
   * The peer frames go to when it is not the side's first (a call forked to phones at several peers:
   * the one whose SDP came last — its 18x or 2xx — is sent to).
   */
  remoteNode?: string;
  /** The other relay takes bundles of frames. */
  remoteBundles?: boolean;
}

export type Leg = UaLeg | PeerLeg;

export interface MediaStream {
  legs: [Leg | undefined, Leg | undefined];
}

export interface SideInfo {
  kind: 'ua' | 'peer';
  /** The peer's Node-ID (hex) when it is reached through a SIP channel. */
  node: string | undefined;
  /** Every peer of this side (a call forked to several peers), the first one included. */
  nodes?: Set<string>;
  /** SIP addresses seen for this side (`host:port`), at most 8: an array (a Set's table is ~200 B, per call). */
  readonly addrs: string[];
  /** A phone whose SIP and SDP addresses are one (no NAT between it and us). */
  onOurNetwork: boolean;
}

export class MediaSession {
  readonly streams: MediaStream[] = [];
  mode: 'pending' | 'relay' | 'direct' = 'pending';
  established = false;
  /** We sent this call's SDP to another peer with our relay attributes (we offered to relay). */
  exported = false;
  lastActivity: number;
  constructor(
    readonly callId: string,
    readonly sides: [SideInfo, SideInfo],
    now: number,
  ) {
    this.lastActivity = now;
  }
}

export interface MediaRelayStats {
  sessionsTotal: number;
  relayedSessionsTotal: number;
  directSessionsTotal: number;
  released: Record<string, number>;
  packets: {
    fromPhones: number;
    toPhones: number;
    fromPeers: number;
    toPeers: number;
    dropped: { unlatched: number; unknownTag: number; noDestination: number; wrongPeer: number; trunkRefused: number; rateLimited: number; malformedBundle: number };
  };
  /** Datagrams between peers that carried several frames, and the frames in them. */
  bundles: { out: number; framesOut: number; in: number; framesIn: number };
  refused: { sessions: number; ports: number };
}

/** Frames for one peer waiting for the end of the turn. */
interface Batch {
  readonly bytes: Uint8Array;
  length: number;
  frames: number;
  readonly node: string | undefined;
  readonly trunk: UdpAddr | undefined;
}

/** Writes the frame [0xD0 | c][tag][packet] at `at`. */
function writeFrame(into: Uint8Array, at: number, c: Component, tag: number, d: Uint8Array): void {
  into[at] = FRAME_MARK | c;
  into[at + 1] = tag >>> 24;
  into[at + 2] = (tag >>> 16) & 0xff;
  into[at + 3] = (tag >>> 8) & 0xff;
  into[at + 4] = tag & 0xff;
  into.set(d, at + FRAME_HEADER);
}

export class MediaRelay implements Lifecycle {
  private readonly sessions = new Map<string, MediaSession>();
  /** Our receive tags → session and stream. */
  private readonly tags = new Map<number, { session: MediaSession; stream: number; side: 0 | 1 }>();
  private readonly sweep: PeriodicTask;
  private readonly timeoutMs: number;
  private readonly maxSessions: number;
  private readonly maxPps: number;
  readonly stats: MediaRelayStats = {
    sessionsTotal: 0,
    relayedSessionsTotal: 0,
    directSessionsTotal: 0,
    released: {},
    packets: { fromPhones: 0, toPhones: 0, fromPeers: 0, toPeers: 0, dropped: { unlatched: 0, unknownTag: 0, noDestination: 0, wrongPeer: 0, trunkRefused: 0, rateLimited: 0, malformedBundle: 0 } },
    bundles: { out: 0, framesOut: 0, in: 0, framesIn: 0 },
    refused: { sessions: 0, ports: 0 },
  };
  private readonly bundleBytes: number;
  /** Frames waiting for the end of this turn, by destination (at most bundleBytes each). */
  private readonly batches = new Map<string, Batch>();
  private flushQueued = false;

  constructor(
    private readonly deps: {
      clock: Clock;
      random: Random;
      ports: MediaPorts;
      trunk: MediaTrunk;
      /** Runs `fn` once the I/O ready in this turn of the event loop is handled; without it, no bundles. */
      afterTurn?: (fn: () => void) => void;
    },
    options: MediaRelayOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxSessions = options.maxSessions ?? 5_000;
    this.maxPps = options.maxPacketsPerSecond ?? 2_000;
    const bundleBytes = options.bundleBytes ?? DEFAULT_BUNDLE_BYTES;
    if (!Number.isInteger(bundleBytes) || bundleBytes < 0 || bundleBytes > 65_507) throw new RangeError(`bundleBytes must be an integer in 0..65507: ${bundleBytes}`);
    this.bundleBytes = deps.afterTurn === undefined ? 0 : bundleBytes;
    this.sweep = new PeriodicTask(deps.clock, Math.max(1_000, Math.min(10_000, this.timeoutMs / 4)), () => this.expire());
  }

  start(): void {
    this.sweep.start();
  }

  stop(): void {
    this.flush();
    this.sweep.stop();
    for (const s of [...this.sessions.values()]) this.release(s.callId, 'shutdown');
  }

  /** Waits until `n` more port pairs can be taken at once (see MediaPorts.ensure). */
  async reservePorts(n: number): Promise<void> {
    if (n > 0) await this.deps.ports.ensure?.(n);
  }

  /** Our UDP trunk address (peers without ICE send frames there). */
  trunkAddress(): UdpAddr | undefined {
    return this.deps.trunk.address();
  }

  get(callId: string): MediaSession | undefined {
    return this.sessions.get(callId);
  }

  /** A new session; a MediaError (503) past maxSessions. */
  create(callId: string, sides: [SideInfo, SideInfo]): MediaSession {
    const old = this.sessions.get(callId);
    if (old !== undefined) return old;
    if (this.sessions.size >= this.maxSessions) {
      this.stats.refused.sessions++;
      throw new MediaError('MEDIA_SESSIONS_FULL', `${this.maxSessions} media sessions already`, 503, 'Service Unavailable', 5);
    }
    // the Call-ID is kept for the whole call: a copy, not a view that keeps the INVITE's text alive
    const id = detachString(callId);
    const s = new MediaSession(id, sides, this.deps.clock.now());
    this.sessions.set(id, s);
    this.stats.sessionsTotal++;
    return s;
  }

  /** Marks the session's mode once decided (counted once). */
  decide(s: MediaSession, mode: 'relay' | 'direct'): void {
    if (s.mode === mode) return;
    if (s.mode === 'pending') {
      if (mode === 'relay') this.stats.relayedSessionsTotal++;
      else this.stats.directSessionsTotal++;
    }
    s.mode = mode;
    if (mode === 'direct') this.dropLegs(s);
  }

  touch(s: MediaSession): void {
    s.lastActivity = this.deps.clock.now();
  }

  /** The phone-facing leg of stream `k` on `side`, made (ports taken) when missing. */
  uaLeg(s: MediaSession, k: number, side: 0 | 1): UaLeg {
    const stream = this.stream(s, k);
    const have = stream.legs[side];
    if (have?.kind === 'ua') return have;
    const leg: { value: UaLeg | undefined } = { value: undefined };
    const pair = this.deps.ports.take((c, d, from) => {
      if (leg.value !== undefined) this.fromPhone(s, k, side, leg.value, c, d, from);
    });
    if (pair === undefined) {
      this.stats.refused.ports++;
      throw new MediaError('MEDIA_PORTS_EXHAUSTED', 'the media port range is exhausted', 503, 'Service Unavailable', 5);
    }
    leg.value = { kind: 'ua', pair, dest: [undefined, undefined], latched: [undefined, undefined], allowed: new Set(), rtcpMux: false, tokens: 2 * this.maxPps, refilledAt: this.deps.clock.now() };
    if (have?.kind === 'peer') this.tags.delete(have.localTag);
    stream.legs[side] = leg.value;
    return leg.value;
  }

  /** The leg of stream `k` on `side` toward another peer, made (a tag drawn) when missing. */
  peerLeg(s: MediaSession, k: number, side: 0 | 1): PeerLeg {
    const stream = this.stream(s, k);
    const have = stream.legs[side];
    if (have?.kind === 'peer') return have;
    let tag = this.deps.random.u32();
    while (tag === 0 || this.tags.has(tag)) tag = this.deps.random.u32();
    const leg: PeerLeg = { kind: 'peer', localTag: tag, remoteTag: undefined, remoteTrunk: undefined };
    if (have?.kind === 'ua') have.pair.close();
    stream.legs[side] = leg;
    this.tags.set(tag, { session: s, stream: k, side });
    return leg;
  }

  /** Sets where a phone's SDP says to send; a changed address un-latches (a re-INVITE moved it). */
  setPhoneDestination(leg: UaLeg, rtp: UdpAddr | undefined, rtcp: UdpAddr | undefined, rtcpMux: boolean, allowedIps: readonly string[]): void {
    if (rtp !== undefined && leg.dest[0] !== undefined && leg.dest[0].host !== rtp.host) leg.latched = [undefined, undefined];
    leg.dest = [rtp, rtcp];
    leg.rtcpMux = rtcpMux;
    for (const ip of allowedIps) this.allowSource(leg, ip);
  }

  /** An IP that may latch the phone-facing leg (at most MAX_LATCH_SOURCES per leg). */
  allowSource(leg: UaLeg, ip: string): void {
    if (leg.allowed.size < MAX_LATCH_SOURCES) leg.allowed.add(ip);
  }

  /** A frame from another peer's relay (`node`: the channel it came through; `from`: its trunk source). */
  receiveFrame(frame: Uint8Array, source: { node: string } | { from: UdpAddr }): void {
    if (frame[0] === BUNDLE_MARK) {
      this.receiveBundle(frame, source);
      return;
    }
    if (!isMediaFrame(frame)) return;
    const tag = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
    const hit = this.tags.get(tag);
    if (hit === undefined) {
      this.stats.packets.dropped.unknownTag++;
      return;
    }
    const { session: s, stream: k, side } = hit;
    const info = s.sides[side];
    const leg = s.streams[k]?.legs[side];
    if (leg?.kind !== 'peer') return;
    const ok = 'node' in source ? info.node === source.node || info.nodes?.has(source.node) === true : info.node === undefined && leg.remoteTrunk !== undefined && leg.remoteTrunk.host === source.from.host;
    if (!ok) {
      this.stats.packets.dropped.wrongPeer++;
      return;
    }
    this.stats.packets.fromPeers++;
    s.lastActivity = this.deps.clock.now();
    this.deliver(s, k, side === 0 ? 1 : 0, (frame[0]! & 1) as Component, frame.subarray(FRAME_HEADER));
  }

  /** The frames of a bundle, one by one; a length that does not fit ends it (counted). */
  private receiveBundle(d: Uint8Array, source: { node: string } | { from: UdpAddr }): void {
    this.stats.bundles.in++;
    let i = 1;
    while (i < d.length) {
      const n = i + BUNDLE_LENGTH_BYTES <= d.length ? (d[i]! << 8) | d[i + 1]! : 0;
      i += BUNDLE_LENGTH_BYTES;
      const frame = d.subarray(i, i + n);
      // a frame, never a bundle inside a bundle
      if (i + n > d.length || !isMediaFrame(frame)) {
        this.stats.packets.dropped.malformedBundle++;
        return;
      }
      this.stats.bundles.framesIn++;
      this.receiveFrame(frame, source);
      i += n;
    }
  }

  private fromPhone(s: MediaSession, k: number, side: 0 | 1, leg: UaLeg, c: Component, d: Uint8Array, from: UdpAddr): void {
    const latched = leg.latched[c];
    if (latched === undefined) {
      if (!leg.allowed.has(from.host)) {
        this.stats.packets.dropped.unlatched++;
        return;
      }
      leg.latched[c] = { host: from.host, port: from.port };
    } else if (latched.port !== from.port || latched.host !== from.host) {
      this.stats.packets.dropped.unlatched++;
      return;
    }
    const now = this.deps.clock.now();
    leg.tokens = Math.min(2 * this.maxPps, leg.tokens + ((now - leg.refilledAt) * this.maxPps) / 1000);
    leg.refilledAt = now;
    if (leg.tokens < 1) {
      this.stats.packets.dropped.rateLimited++;
      return;
    }
    leg.tokens--;
    this.stats.packets.fromPhones++;
    s.lastActivity = now;
    this.deliver(s, k, side === 0 ? 1 : 0, c, d);
  }

  /** Sends a packet out of the leg of stream `k` on side `to`. */
  private deliver(s: MediaSession, k: number, to: 0 | 1, c: Component, d: Uint8Array): void {
    const leg = s.streams[k]?.legs[to];
    if (leg === undefined) {
      this.stats.packets.dropped.noDestination++;
      return;
    }
    if (leg.kind === 'ua') {
      // rtcp-mux (RFC 5761): RTCP goes to the RTP address, from our RTP port (the one the phone's NAT opened)
      const muxed = c === 1 && leg.rtcpMux && leg.latched[1] === undefined && leg.dest[1] === undefined;
      const dest = muxed ? (leg.latched[0] ?? leg.dest[0]) : (leg.latched[c] ?? leg.dest[c]);
      if (dest === undefined) {
        this.stats.packets.dropped.noDestination++;
        return;
      }
      leg.pair.send(muxed ? 0 : c, d, dest);
      this.stats.packets.toPhones++;
      return;
    }
    if (leg.remoteTag === undefined) {
      this.stats.packets.dropped.noDestination++;
      return;
    }
    const node = leg.remoteNode ?? s.sides[to].node;
    const trunk = node === undefined ? leg.remoteTrunk : undefined;
    if (node === undefined && trunk === undefined) {
      this.stats.packets.dropped.trunkRefused++;
      return;
    }
    const key = node ?? `${trunk!.host}|${trunk!.port}`;
    const size = BUNDLE_LENGTH_BYTES + FRAME_HEADER + d.length;
    let batch = this.batches.get(key);
    if (batch !== undefined && (leg.remoteBundles !== true || batch.length + size > this.bundleBytes)) {
      // full, or a frame for a relay without bundles: what waits goes first (a stream keeps its order)
      this.batches.delete(key);
      this.send(batch);
      batch = undefined;
    }
    if (leg.remoteBundles !== true || 1 + size > this.bundleBytes) {
      const frame = new Uint8Array(FRAME_HEADER + d.length);
      writeFrame(frame, 0, c, leg.remoteTag, d);
      this.sendFrames(frame, 1, node, trunk);
      return;
    }
    if (batch === undefined) {
      const bytes = new Uint8Array(this.bundleBytes);
      bytes[0] = BUNDLE_MARK;
      batch = { bytes, length: 1, frames: 0, node, trunk };
      this.batches.set(key, batch);
      if (!this.flushQueued) {
        this.flushQueued = true;
        this.deps.afterTurn!(this.flush);
      }
    }
    const at = batch.length;
    batch.bytes[at] = (size - BUNDLE_LENGTH_BYTES) >>> 8;
    batch.bytes[at + 1] = (size - BUNDLE_LENGTH_BYTES) & 0xff;
    writeFrame(batch.bytes, at + BUNDLE_LENGTH_BYTES, c, leg.remoteTag, d);
    batch.length += size;
    batch.frames++;
  }

  /** Sends every batch that waits (the end of a turn). */
  private readonly flush = (): void => {
    this.flushQueued = false;
    for (const b of this.batches.values()) this.send(b);
    this.batches.clear();
  };

  /** One batch: a bundle, or its one frame as it is. */
  private send(b: Batch): void {
    if (b.frames === 1) {
      this.sendFrames(b.bytes.subarray(1 + BUNDLE_LENGTH_BYTES, b.length), 1, b.node, b.trunk);
      return;
    }
    if (this.sendFrames(b.bytes.subarray(0, b.length), b.frames, b.node, b.trunk)) {
      this.stats.bundles.out++;
      this.stats.bundles.framesOut += b.frames;
    }
  }

  private sendFrames(datagram: Uint8Array, frames: number, node: string | undefined, trunk: UdpAddr | undefined): boolean {
    if (trunk !== undefined) this.deps.trunk.sendTo(trunk, datagram);
    else if (node === undefined || !this.deps.trunk.sendToNode(node, datagram)) {
      this.stats.packets.dropped.trunkRefused += frames;
      return false;
    }
    this.stats.packets.toPeers += frames;
    return true;
  }

  /** Ends a session: its ports and tags are released at once. */
  release(callId: string, reason: string): void {
    const s = this.sessions.get(callId);
    if (s === undefined) return;
    this.sessions.delete(callId);
    this.dropLegs(s);
    this.stats.released[reason] = (this.stats.released[reason] ?? 0) + 1;
  }

  private dropLegs(s: MediaSession): void {
    for (const st of s.streams) {
      for (const leg of st.legs) {
        if (leg === undefined) continue;
        if (leg.kind === 'ua') leg.pair.close();
        else if (this.tags.get(leg.localTag)?.session === s) this.tags.delete(leg.localTag);
      }
      st.legs = [undefined, undefined];
    }
    s.streams.length = 0;
  }

  private stream(s: MediaSession, k: number): MediaStream {
    while (s.streams.length <= k) s.streams.push({ legs: [undefined, undefined] });
    return s.streams[k]!;
  }

  private expire(): void {
    const now = this.deps.clock.now();
    for (const s of [...this.sessions.values()]) if (now - s.lastActivity >= this.timeoutMs) this.release(s.callId, 'timeout');
  }

  /** What /api/status shows. */
  status(): { activeSessions: number; relayedActive: number; portsInUse: number; tags: number } & MediaRelayStats {
    let relayed = 0;
    for (const s of this.sessions.values()) if (s.mode === 'relay') relayed++;
    return { activeSessions: this.sessions.size, relayedActive: relayed, portsInUse: this.deps.ports.inUse(), tags: this.tags.size, ...this.stats };
  }
}
