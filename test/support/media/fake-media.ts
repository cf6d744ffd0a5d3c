/**
 * Fakes of the media relay's I/O seams (src/media/media-relay.ts) for unit tests: a port pool that
 * records what each pair sends and lets a test inject packets into a pair from a given source (with
 * a capacity to exhaust it), a trunk that records frames, and a PeerDirectory (sdp-media-hook.ts).
 */
import type { Component, MediaPortPair, MediaPorts, MediaTrunk, UdpAddr } from '../../../src/media/media-relay.js';
import type { PeerDirectory } from '../../../src/media/sdp-media-hook.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';

export interface SentPacket {
  component: Component;
  data: Uint8Array;
  to: UdpAddr;
}

export class FakePortPair implements MediaPortPair {
  readonly sent: SentPacket[] = [];
  closed = false;

  constructor(
    readonly port: number,
    private readonly onPacket: (component: Component, data: Uint8Array, from: UdpAddr) => void,
    private readonly pool: FakeMediaPorts,
  ) {}

  send(component: Component, data: Uint8Array, to: UdpAddr): void {
    if (this.closed) throw new Error(`send on closed pair ${this.port}`);
    this.sent.push({ component, data: Uint8Array.from(data), to: { host: to.host, port: to.port } });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.returned(this);
  }

  /** A packet arriving at our port `port + component` from `from` (ignored once closed, like a closed socket). */
  inject(component: Component, data: Uint8Array, from: UdpAddr): void {
    if (this.closed) return;
    this.onPacket(component, data, from);
  }
}

export class FakeMediaPorts implements MediaPorts {
  /** Every pair handed out, in order (closed ones included). */
  readonly pairs: FakePortPair[] = [];
  private free: number[] = [];
  private open = new Set<FakePortPair>();
  takes = 0;

  constructor(
    /** Pairs at once; take() beyond it returns undefined. */
    readonly capacity = 100,
    readonly firstPort = 20000,
  ) {
    for (let i = 0; i < capacity; i++) this.free.push(firstPort + 2 * i);
  }

  take(onPacket: (component: Component, data: Uint8Array, from: UdpAddr) => void): MediaPortPair | undefined {
    this.takes++;
    const port = this.free.shift();
    if (port === undefined) return undefined;
    const p = new FakePortPair(port, onPacket, this);
    this.pairs.push(p);
    this.open.add(p);
    return p;
  }

  inUse(): number {
    return this.open.size;
  }

  /** The open pair bound to `port`. */
  pair(port: number): FakePortPair {
    const p = this.pairs.find((x) => x.port === port && !x.closed);
    if (p === undefined) throw new Error(`no open pair on port ${port}`);
    return p;
  }

  /** @internal */
  returned(p: FakePortPair): void {
    if (this.open.delete(p)) this.free.push(p.port);
  }
}

export interface NodeFrame {
  node: string;
  frame: Uint8Array;
}

export class FakeMediaTrunk implements MediaTrunk {
  readonly toNodes: NodeFrame[] = [];
  readonly toAddrs: Array<{ to: UdpAddr; frame: Uint8Array }> = [];
  /** Nodes with an open SIP channel; undefined: every node. */
  openNodes: Set<string> | undefined = undefined;

  constructor(private readonly addr: UdpAddr | undefined = undefined) {}

  sendToNode(nodeHex: string, frame: Uint8Array): boolean {
    if (this.openNodes !== undefined && !this.openNodes.has(nodeHex)) return false;
    this.toNodes.push({ node: nodeHex, frame: Uint8Array.from(frame) });
    return true;
  }

  sendTo(to: UdpAddr, frame: Uint8Array): void {
    this.toAddrs.push({ to: { host: to.host, port: to.port }, frame: Uint8Array.from(frame) });
  }

  address(): UdpAddr | undefined {
    return this.addr;
  }
}

export class FakePeerDirectory implements PeerDirectory {
  /** `host:port` → Node-ID (hex) of the peer whose SIP channel serves it. */
  readonly channels = new Map<string, string>();
  /** Nodes whose channel runs host to host. */
  readonly direct = new Set<string>();
  readonly directPathAsked: string[] = [];

  channelNode(addr: TransportAddress): string | undefined {
    return this.channels.get(`${addr.host}:${addr.port}`);
  }

  directPath(node: string): boolean {
    this.directPathAsked.push(node);
    return this.direct.has(node);
  }
}

/** Builds a media frame [0xD0 | component][tag u32 BE][payload]. */
export function frame(component: Component, tag: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(5 + payload.length);
  f[0] = 0xd0 | component;
  new DataView(f.buffer).setUint32(1, tag >>> 0);
  f.set(payload, 5);
  return f;
}

/** The tag of a frame. */
export function frameTag(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(1);
}

/** A recognisable RTP-ish packet of `n` bytes (version 2, the given sequence number). */
export function rtp(seq: number, n = 20): Uint8Array {
  const p = new Uint8Array(n);
  p[0] = 0x80;
  p[1] = 0;
  p[2] = (seq >> 8) & 0xff;
  p[3] = seq & 0xff;
  for (let i = 12; i < n; i++) p[i] = (seq + i) & 0xff;
  return p;
}
