/**
 * The media relay's UDP ports (issue 13), node:dgram: pairs of sockets (RTP on an even port, RTCP
 * on the next) from the configured range, and one trunk socket (the range's first port) where peers
 * without ICE send each other media frames.
 *
 * Binding is asynchronous and a call's SDP must name its ports at once, so a pool of bound pairs is
 * kept ready (`pool`, default 16) and refilled in the background; `take()` hands one out
 * synchronously, or nothing when the range is exhausted (the call then gets 503). A released pair's
 * sockets are closed at once and their ports go back to the range.
 */
import dgram from 'node:dgram';
import type { Component, MediaPortPair, MediaPorts, UdpAddr } from '../media/media-relay.js';

export interface UdpMediaPortsOptions {
  /** Address the sockets bind to (the SIP front's host; a wildcard binds every interface). */
  host: string;
  /** First and last port of the range (the first is the trunk; pairs start at the next even port). */
  range: [number, number];
  /** Bound pairs kept ready (default 16). */
  pool?: number;
  /** Told about a socket error (once per kind). */
  onError?: (err: Error) => void;
}

type Handler = (component: Component, data: Uint8Array, from: UdpAddr) => void;

interface Pair extends MediaPortPair {
  sockets: [dgram.Socket, dgram.Socket];
  handler: Handler | undefined;
}

/**
 * Runs `fn` once the I/O callbacks of this turn of the event loop have run (setImmediate: the check
 * phase comes right after the poll phase), so what they queued leaves together, and nothing waits for a
 * later turn. The media relay sends its bundles of frames then.
 */
export function afterIoTurn(fn: () => void): void {
  setImmediate(fn);
}

export class UdpMediaPorts implements MediaPorts {
  private readonly ready: Pair[] = [];
  private readonly used = new Set<number>();
  private inUseCount = 0;
  /** Pairs callers of ensure() are about to take. */
  private promised = 0;
  private cursor: number;
  private filling = false;
  private closed = false;
  private trunk: dgram.Socket | undefined;
  private trunkAddr: UdpAddr | undefined;
  private readonly poolSize: number;
  private readonly first: number;
  private readonly last: number;
  /** Pairs the range holds. */
  private readonly pairCount: number;
  private readonly type: 'udp4' | 'udp6';
  readonly counts = { bound: 0, bindFailures: 0, sendErrors: 0, trunkIn: 0 };

  constructor(private readonly options: UdpMediaPortsOptions) {
    const [lo, hi] = options.range;
    this.first = lo + 1 + ((lo + 1) % 2);
    this.last = hi;
    this.cursor = this.first;
    this.pairCount = Math.floor((this.last - this.first + 1) / 2);
    this.poolSize = options.pool ?? 16;
    this.type = options.host.includes(':') ? 'udp6' : 'udp4';
  }

  /** Binds the trunk and fills the pool; `onTrunkFrame` gets what other peers' relays send to the trunk. */
  async start(onTrunkFrame: (frame: Uint8Array, from: UdpAddr) => void): Promise<void> {
    // the range's first port, else a free one from the top of the range down (pairs grow from the
    // bottom; several peers on one machine share a range), else any port the system gives
    const [lo] = this.options.range;
    let s = await this.bindOne(lo);
    for (let port = this.last; s === undefined && port > this.last - 64 && port > lo; port--) s = await this.bindOne(port);
    s ??= await this.bindOne(0);
    if (s === undefined) throw new Error(`media: no UDP port for the relay trunk on ${this.options.host}`);
    // every relayed call's frames to and from peers without ICE share this socket: 4 MiB (capped by
    // the kernel's rmem_max / wmem_max), or bursts overflow it (seen: 0.4 % lost at 200 calls)
    try {
      s.setRecvBufferSize(4 * 1024 * 1024);
      s.setSendBufferSize(4 * 1024 * 1024);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    s.on('message', (msg, r) => {
      this.counts.trunkIn++;
      onTrunkFrame(msg, { host: r.address, port: r.port });
    });
    this.trunk = s;
    this.trunkAddr = { host: this.options.host, port: s.address().port };
    await this.fill();
  }

  trunkAddress(): UdpAddr | undefined {
    return this.trunkAddr;
  }

  sendTrunk(to: UdpAddr, frame: Uint8Array): void {
    this.trunk?.send(frame, to.port, to.host);
  }

  take(onPacket: Handler): MediaPortPair | undefined {
    const p = this.ready.shift();
    if (!this.filling && this.ready.length < this.poolSize / 2) void this.fill();
    if (p === undefined) return undefined;
    p.handler = onPacket;
    this.inUseCount++;
    return p;
  }

  inUse(): number {
    return this.inUseCount;
  }

  /** Binds pairs until `n` more than those already promised are ready, or the range has no more. */
  async ensure(n: number): Promise<void> {
    this.promised += n;
    try {
      await this.bindUntil(() => this.promised);
    } finally {
      // the caller takes its pairs right after this resolves; the promise holds for a second, then
      // what is ready beyond the pool's size is closed again
      setTimeout(() => {
        this.promised -= n;
        this.trim();
      }, 1_000).unref();
    }
  }

  /** Closes ready pairs beyond the pool size and what is still promised. */
  private trim(): void {
    while (this.ready.length > this.poolSize + this.promised) {
      const p = this.ready.pop()!;
      this.used.delete(p.port);
      closePair(p);
    }
  }

  /** Pairs bound and waiting in the pool. */
  readyCount(): number {
    return this.ready.length;
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const p of this.ready.splice(0)) closePair(p);
    this.trunk?.close();
    this.trunk = undefined;
  }

  private errorCounted = false;

  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      await this.bindUntil(() => this.poolSize);
    } finally {
      this.filling = false;
    }
  }

  /** Binds pairs into the ready pool until it holds `target()`, the range has no free pair, or we stop. */
  private async bindUntil(target: () => number): Promise<void> {
    for (let tried = 0; !this.closed && this.ready.length < target() && tried < this.pairCount; tried++) {
      const port = this.nextFree();
      if (port === undefined) return;
      const pair = await this.bindPair(port);
      if (pair === undefined) continue;
      // stopped while binding: nothing may stay open behind stop()
      if (this.closed) {
        this.used.delete(port);
        closePair(pair);
        return;
      }
      this.ready.push(pair);
    }
  }

  private nextFree(): number | undefined {
    for (let i = 0; i < this.pairCount; i++) {
      const p = this.cursor;
      this.cursor += 2;
      if (this.cursor + 1 > this.last) this.cursor = this.first;
      if (!this.used.has(p)) return p;
    }
    return undefined;
  }

  private async bindPair(port: number): Promise<Pair | undefined> {
    const a = await this.bindOne(port);
    if (a === undefined) return undefined;
    const b = await this.bindOne(port + 1);
    if (b === undefined) {
      a.close();
      return undefined;
    }
    this.used.add(port);
    this.counts.bound++;
    const pair: Pair = {
      port,
      sockets: [a, b],
      handler: undefined,
      send: (c, data, to) => {
        pair.sockets[c].send(data, to.port, to.host);
      },
      close: () => {
        if (!this.used.delete(port)) return;
        this.inUseCount--;
        pair.handler = undefined;
        closePair(pair);
        if (!this.filling && this.ready.length < this.poolSize) void this.fill();
      },
    };
    a.on('message', (msg, r) => pair.handler?.(0, msg, { host: r.address, port: r.port }));
    b.on('message', (msg, r) => pair.handler?.(1, msg, { host: r.address, port: r.port }));
    return pair;
  }

  private bindOne(port: number): Promise<dgram.Socket | undefined> {
    return new Promise((resolve) => {
      const s = dgram.createSocket({ type: this.type });
      const fail = (): void => {
        this.counts.bindFailures++;
        try {
          s.close();
        } catch {
          // never bound
        }
        resolve(undefined);
      };
      s.once('error', fail);
      s.bind(port, this.options.host, () => {
        s.off('error', fail);
        // the relay's sockets never keep a process alive on their own (the SIP front's do)
        s.unref();
        s.on('error', (err) => {
          this.counts.sendErrors++;
          if (!this.errorCounted) this.options.onError?.(err);
          this.errorCounted = true;
        });
        resolve(s);
      });
    });
  }
}

function closePair(p: Pair): void {
  for (const s of p.sockets) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}
