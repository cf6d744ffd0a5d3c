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
 * head has a timer, so the clock holds at most one timer per direction.
 */
export class Flow {
  private chunks: (Uint8Array | null)[] = [];
  private dues: number[] = [];
  private head = 0;
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
    return this.head >= this.chunks.length;
  }

  get headDue(): number {
    return this.dues[this.head] ?? 0;
  }

  push(chunk: Uint8Array | null, due: number): void {
    this.chunks.push(chunk);
    this.dues.push(due);
  }

  shift(): Uint8Array | null {
    const c = this.chunks[this.head] ?? null;
    this.chunks[this.head] = null;
    this.head++;
    if (this.head === this.chunks.length) this.reset();
    else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
    return c;
  }

  /** Drops everything queued and every timer. */
  clear(): void {
    this.timer?.cancel();
    this.stallTimer?.cancel();
    this.timer = undefined;
    this.stallTimer = undefined;
    this.stalled = false;
    this.reset();
  }

  private reset(): void {
    this.chunks.length = 0;
    this.dues.length = 0;
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
