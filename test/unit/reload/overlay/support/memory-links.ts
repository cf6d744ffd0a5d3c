/**
 * An in-memory message-level link layer for overlay tests: links between endpoints with a fixed
 * one-way latency on a ManualClock, ordered delivery, the peer's Node-ID as its "certificate",
 * and crash/failure detection after `detectMs`.
 */
import type { ManualClock } from '../../../../../src/lib/manual-clock.js';
import type { LinkEndpoint } from '../../../../../src/reload/link/link-driver.js';
import type { LinkLayerUser } from '../../../../../src/reload/link/link-layer.js';
import type { OverlayLinks } from '../../../../../src/reload/overlay/overlay-types.js';

interface End {
  host: MemoryLinks;
  linkId: string;
  peer: End | undefined;
  open: boolean;
  /** The other end crashed silently: what is sent here is lost; the first send starts the detection. */
  silent?: { suspectMs: number; failMs: number; detecting: boolean };
}

/**
 * How a crash is noticed at the other ends. By default every end notices after the net's `detectMs`
 * (a TCP reset, or the link's own keepalive). The ends at the hosts `silentTo` picks notice only when
 * they send (a DTLS-UDP-SR link to a killed peer): `suspectMs` after their first send the link is
 * suspect, `failMs` after it, down (Simple Reliability giving up, RFC 6940 §6.6.3.1).
 */
export interface CrashOptions {
  silentTo?: (other: MemoryLinks) => boolean;
  suspectMs?: number;
  failMs?: number;
}

export class MemoryLinkNet {
  readonly listeners = new Map<string, MemoryLinks>();
  private seq = 0;
  messages = 0;
  bytes = 0;

  constructor(
    readonly clock: ManualClock,
    readonly latencyMs = 10,
    readonly detectMs = 1000,
  ) {}

  nextId(): string {
    return `m${++this.seq}`;
  }

  create(nodeId: Uint8Array, host: string): MemoryLinks {
    return new MemoryLinks(this, nodeId, host);
  }
}

export class MemoryLinks implements OverlayLinks {
  private user: LinkLayerUser | undefined;
  readonly ends = new Map<string, End>();
  private port = 0;
  crashed = false;

  constructor(
    private readonly net: MemoryLinkNet,
    readonly nodeId: Uint8Array,
    readonly host: string,
  ) {}

  setUser(user: LinkLayerUser): void {
    this.user = user;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    this.port = port === 0 ? 6084 : port;
    this.net.listeners.set(`${host}:${this.port}`, this);
    return Promise.resolve({ host, port: this.port });
  }

  connect(remote: LinkEndpoint): string {
    const id = this.net.nextId();
    const mine: End = { host: this, linkId: id, peer: undefined, open: false };
    this.ends.set(id, mine);
    const target = this.net.listeners.get(`${remote.host}:${remote.port}`);
    this.net.clock.setTimer(this.net.latencyMs * 2, () => {
      if (this.crashed || !this.ends.has(id)) return;
      if (target === undefined || target.crashed) {
        this.ends.delete(id);
        this.user?.onLinkDown(id, 'failed', new Error('connection refused'));
        return;
      }
      const theirs: End = { host: target, linkId: this.net.nextId(), peer: mine, open: true };
      mine.peer = theirs;
      mine.open = true;
      target.ends.set(theirs.linkId, theirs);
      target.user?.onLinkUp({ id: theirs.linkId, remote: { host: this.host, port: 40000 }, local: remote, outbound: false, peerCertificate: this.nodeId });
      this.user?.onLinkUp({ id, remote, local: { host: this.host, port: 40000 }, outbound: true, peerCertificate: target.nodeId });
    });
    return id;
  }

  send(linkId: string, message: Uint8Array): boolean {
    const e = this.ends.get(linkId);
    if (e === undefined || !e.open || e.peer === undefined || this.crashed) return false;
    if (e.silent !== undefined) {
      // accepted and lost; the link's reliability notices, after a while
      const s = e.silent;
      if (!s.detecting) {
        s.detecting = true;
        this.net.clock.setTimer(s.suspectMs, () => {
          if (e.open) this.user?.onLinkSuspect?.(linkId);
        });
        this.net.clock.setTimer(s.failMs, () => {
          if (!e.open) return;
          e.open = false;
          this.ends.delete(linkId);
          this.user?.onLinkDown(linkId, 'timeout', new Error('no ACK: peer gone'));
        });
      }
      return true;
    }
    const peer = e.peer;
    this.net.messages++;
    this.net.bytes += message.length;
    const copy = Uint8Array.from(message);
    this.net.clock.setTimer(this.net.latencyMs, () => {
      if (peer.open && !peer.host.crashed) peer.host.user?.onLinkMessage(peer.linkId, copy);
    });
    return true;
  }

  close(linkId: string): void {
    const e = this.ends.get(linkId);
    if (e === undefined) return;
    this.ends.delete(linkId);
    e.open = false;
    this.net.clock.setTimer(0, () => this.user?.onLinkDown(linkId, 'closed'));
    const peer = e.peer;
    if (peer !== undefined && peer.open) {
      this.net.clock.setTimer(this.net.latencyMs, () => {
        if (!peer.open) return;
        peer.open = false;
        peer.host.ends.delete(peer.linkId);
        peer.host.user?.onLinkDown(peer.linkId, 'closed');
      });
    }
  }

  /** kill -9: nothing more is sent; the other ends notice after detectMs, or as `opts` says. */
  crash(opts: CrashOptions = {}): void {
    this.crashed = true;
    for (const e of this.ends.values()) {
      e.open = false;
      const peer = e.peer;
      if (peer === undefined) continue;
      if (opts.silentTo?.(peer.host) === true) {
        peer.silent = { suspectMs: opts.suspectMs ?? 1500, failMs: opts.failMs ?? 6000, detecting: false };
        continue;
      }
      this.net.clock.setTimer(this.net.detectMs, () => {
        if (!peer.open) return;
        peer.open = false;
        peer.host.ends.delete(peer.linkId);
        peer.host.user?.onLinkDown(peer.linkId, 'failed', new Error('peer crashed'));
      });
    }
    this.ends.clear();
  }

  shutdown(): Promise<void> {
    for (const id of [...this.ends.keys()]) this.close(id);
    for (const [k, v] of this.net.listeners) if (v === this) this.net.listeners.delete(k);
    return Promise.resolve();
  }
}
