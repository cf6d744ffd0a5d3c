import type { TimerHandle } from '../lib/clock.js';
import type { SimHost } from './sim-host.js';

/** What the stream transport needs of a link driver: the owner of link ends on one host. */
export interface LinkEndOwner {
  readonly host: OwnedHost;
  /** False after shutdown() or a crash of its host: it reports nothing any more. */
  readonly alive: boolean;
  /** This owner's link ends by id (connecting, open, or closing). */
  readonly links: Map<string, StreamLink>;
  emitOpened(link: StreamLink, side: 0 | 1): void;
  emitFailed(id: string, error: Error): void;
  emitClosed(id: string, error: Error | undefined): void;
  emitData(id: string, data: Uint8Array): void;
  /** Marks the owner dead (crash) without any event. */
  kill(): void;
}

/** A host whose sockets belong to link-end owners. */
export type OwnedHost = SimHost<LinkEndOwner>;

/** State of one end of a stream link. */
export const END_CONNECTING = 0;
export const END_OPEN = 1;
export const END_CLOSED = 2;

/**
 * The bytes in transit in one direction of a stream link, in order: each chunk is one write
 * (or `null`, the FIN of a graceful close) with the time it is due at the receiver. Only the
 * head has a timer, so the clock holds at most one timer per direction. The queue is a ring that
 * keeps its capacity (most flows hold one or two chunks at a time: no allocation per chunk).
 */
export class Flow {
  private chunks: (Uint8Array | null)[] = [null, null, null, null];
  private dues = new Float64Array(4);
  private head = 0;
  private count = 0;
  /** Due time of the last chunk queued (dues never decrease: in-order delivery). */
  lastDue = 0;
  /** After a stall, nothing is delivered before this time. */
  resumeAt = 0;
  timer: TimerHandle | undefined;
  /** The head timer's callback, made once per flow (no closure per packet). */
  onDue: (() => void) | undefined;
  stallTimer: TimerHandle | undefined;
  stalled = false;

  constructor(
    readonly link: StreamLink,
    readonly from: 0 | 1,
  ) {}

  get empty(): boolean {
    return this.count === 0;
  }

  get headDue(): number {
    return this.count === 0 ? 0 : this.dues[this.head]!;
  }

  push(chunk: Uint8Array | null, due: number): void {
    const cap = this.chunks.length;
    if (this.count === cap) this.grow(cap);
    const i = (this.head + this.count) & (this.chunks.length - 1);
    this.chunks[i] = chunk;
    this.dues[i] = due;
    this.count++;
  }

  shift(): Uint8Array | null {
    if (this.count === 0) return null;
    const c = this.chunks[this.head]!;
    this.chunks[this.head] = null;
    this.head = (this.head + 1) & (this.chunks.length - 1);
    this.count--;
    return c;
  }

  /** Drops everything queued and every timer. */
  clear(): void {
    this.timer?.cancel();
    this.stallTimer?.cancel();
    this.timer = undefined;
    this.stallTimer = undefined;
    this.stalled = false;
    this.chunks.fill(null);
    this.head = 0;
    this.count = 0;
  }

  // Doubles the ring (capacity stays a power of two), oldest chunk first.
  private grow(cap: number): void {
    const chunks: (Uint8Array | null)[] = new Array<Uint8Array | null>(cap * 2).fill(null);
    const dues = new Float64Array(cap * 2);
    for (let k = 0; k < cap; k++) {
      const j = (this.head + k) & (cap - 1);
      chunks[k] = this.chunks[j]!;
      dues[k] = this.dues[j]!;
    }
    this.chunks = chunks;
    this.dues = dues;
    this.head = 0;
  }
}

/** A TCP-like connection between two hosts; side 0 connected, side 1 accepted. */
export class StreamLink {
  readonly ids: [string, string | undefined];
  readonly hosts: [OwnedHost, OwnedHost | undefined];
  readonly ports: [number, number];
  readonly owners: [LinkEndOwner, LinkEndOwner | undefined] ;
  readonly state: [number, number] = [END_CONNECTING, END_CONNECTING];
  /** Flow from side 0 to side 1 and from side 1 to side 0, created on first write. */
  readonly flows: [Flow | undefined, Flow | undefined] = [undefined, undefined];
  /** The pair's base one-way latency (ms). */
  owMs = 0;

  constructor(id: string, owner: LinkEndOwner, localPort: number, remote: OwnedHost | undefined, remotePort: number) {
    this.ids = [id, undefined];
    this.owners = [owner, undefined];
    this.hosts = [owner.host, remote];
    this.ports = [localPort, remotePort];
  }

  /** Which side `id` names. */
  sideOf(id: string): 0 | 1 {
    return this.ids[0] === id ? 0 : 1;
  }

  flow(side: 0 | 1): Flow {
    let f = this.flows[side];
    if (f === undefined) {
      f = new Flow(this, side);
      this.flows[side] = f;
    }
    return f;
  }
}
