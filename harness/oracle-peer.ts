/**
 * A stand-in for the overlay peer, for the simulator's own tests and `npm run bench -- overlay
 * --stand-in`: it "joins" with one round trip to a bootstrap peer, answers lookups with the right
 * responsible peer from a shared directory (an oracle), but carries each lookup over the simulated
 * network along a random path of real links so latency, losses and byte counters are exercised.
 * Maintenance = a 64-byte ping to a random peer every `maintenanceIntervalMs`, answered by a pong.
 */
import type { TimerHandle } from '../src/lib/clock.js';
import type { DriverLink, LinkDriverUser, LinkEndpoint } from '../src/reload/link/link-driver.js';
import { RingOracle, toHex } from '../src/sim/ring-oracle.js';
import type { SimLookupResult, SimPeer, SimPeerContext, SimPeerFactory } from '../src/sim/sim-peer.js';

export interface OraclePeerOptions {
  maintenanceIntervalMs: number;
  lookupTimeoutMs: number;
  /** Fraction of lookups answered by a wrong peer (to test failure accounting). */
  wrongFraction: number;
}

type Msg =
  | { t: 'join'; from: LinkEndpoint }
  | { t: 'join-ack' }
  | { t: 'ping'; pad: string }
  | { t: 'pong'; pad: string }
  | { t: 'fwd'; id: number; origin: LinkEndpoint; path: LinkEndpoint[]; responder: string; hops: number }
  | { t: 'ans'; id: number; responder: string; hops: number };

interface Directory {
  ring: RingOracle;
  peers: Map<string, OraclePeer>;
  list: OraclePeer[];
}

export function createOraclePeerFactory(options: Partial<OraclePeerOptions> = {}): SimPeerFactory {
  const o: OraclePeerOptions = { maintenanceIntervalMs: 10_000, lookupTimeoutMs: 10_000, wrongFraction: 0, ...options };
  const dir: Directory = { ring: new RingOracle(), peers: new Map(), list: [] };
  return (ctx) => new OraclePeer(ctx, dir, o);
}

const key = (e: LinkEndpoint): string => `${e.host}:${e.port}`;
const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

class OraclePeer implements SimPeer, LinkDriverUser {
  readonly nodeId: Uint8Array;
  private readonly hex: string;
  private ep: LinkEndpoint | undefined;
  private alive = true;
  private joined = false;
  private bytesSent = 0;
  private maintSent = 0;
  private readonly out = new Map<string, { id: string; open: boolean; queue: Msg[] }>();
  private readonly outById = new Map<string, string>();
  private readonly buffers = new Map<string, Uint8Array>();
  private readonly lookups = new Map<number, { resolve: (r: SimLookupResult) => void; timer: TimerHandle }>();
  private nextLookup = 1;
  private maintTimer: TimerHandle | undefined;
  private joinWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly ctx: SimPeerContext,
    private readonly dir: Directory,
    private readonly o: OraclePeerOptions,
  ) {
    this.nodeId = ctx.random.bytes(16);
    this.hex = toHex(this.nodeId);
    ctx.driver.setUser(this);
  }

  async start(bootstrap: LinkEndpoint[]): Promise<void> {
    this.ep = await this.ctx.driver.listen(this.ctx.host, 6084);
    if (bootstrap.length > 0) {
      await new Promise<void>((resolve, reject) => {
        this.joinWaiter = { resolve, reject };
        this.send(bootstrap[0]!, { t: 'join', from: this.ep! }, true);
      });
    }
    this.joined = true;
    this.dir.ring.add(this.hex);
    this.dir.peers.set(this.hex, this);
    this.dir.list.push(this);
    this.scheduleMaintenance();
  }

  endpoint(): LinkEndpoint {
    return this.ep!;
  }

  async leave(): Promise<void> {
    this.stop();
    await this.ctx.driver.shutdown();
  }

  crash(): void {
    this.stop();
  }

  lookup(resourceId: Uint8Array): Promise<SimLookupResult> {
    const d = this.dir;
    let responder = d.ring.responsible(toHex(resourceId));
    if (responder === undefined) return Promise.resolve({ ok: false, reason: 'empty-ring' });
    if (this.o.wrongFraction > 0 && this.ctx.random.float() < this.o.wrongFraction) responder = d.list[this.ctx.random.u32() % d.list.length]!.hex;
    const target = d.peers.get(responder)!;
    const hopsWanted = 1 + (this.ctx.random.u32() % Math.max(1, Math.ceil(Math.log2(d.list.length + 1) / 2)));
    const path: LinkEndpoint[] = [];
    for (let i = 1; i < hopsWanted; i++) path.push(d.list[this.ctx.random.u32() % d.list.length]!.endpoint());
    path.push(target.endpoint());
    const id = this.nextLookup++;
    return new Promise((resolve) => {
      const timer = this.ctx.clock.setTimer(this.o.lookupTimeoutMs, () => {
        this.lookups.delete(id);
        resolve({ ok: false, reason: 'peer-timeout' });
      });
      this.lookups.set(id, { resolve, timer });
      const first = path.shift()!;
      this.send(first, { t: 'fwd', id, origin: this.ep!, path, responder, hops: 1 }, false);
    });
  }

  counters(): { bytesSent: number; maintenanceBytesSent: number } {
    return { bytesSent: this.bytesSent, maintenanceBytesSent: this.maintSent };
  }

  // LinkDriverUser
  onLinkOpened(link: DriverLink): void {
    const k = this.outById.get(link.id);
    const c = k === undefined ? undefined : this.out.get(k);
    if (c === undefined) return;
    c.open = true;
    for (const m of c.queue.splice(0)) this.write(c.id, m, m.t !== 'fwd' && m.t !== 'ans');
  }

  onLinkFailed(id: string): void {
    this.dropOut(id);
    if (this.joinWaiter !== undefined && !this.joined) {
      this.joinWaiter.reject(new Error('bootstrap unreachable'));
      this.joinWaiter = undefined;
    }
  }

  onLinkClosed(id: string): void {
    this.dropOut(id);
    this.buffers.delete(id);
  }

  onLinkData(id: string, data: Uint8Array): void {
    let buf = this.buffers.get(id);
    buf = buf === undefined ? data : concat(buf, data);
    while (buf.length >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
      if (len > 65536) return this.ctx.driver.close(id);
      if (buf.length < 4 + len) break;
      const msg = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + len))) as Msg;
      buf = buf.subarray(4 + len);
      if (this.alive) this.handle(id, msg);
    }
    this.buffers.set(id, buf);
  }

  private handle(linkId: string, m: Msg): void {
    switch (m.t) {
      case 'join':
        return this.write(linkId, { t: 'join-ack' }, true);
      case 'join-ack':
        this.joinWaiter?.resolve();
        this.joinWaiter = undefined;
        return;
      case 'ping':
        return this.write(linkId, { t: 'pong', pad: m.pad }, true);
      case 'pong':
        return;
      case 'fwd': {
        const next = m.path.shift();
        if (next === undefined) this.send(m.origin, { t: 'ans', id: m.id, responder: m.responder, hops: m.hops }, false);
        else this.send(next, { ...m, hops: m.hops + 1 }, false);
        return;
      }
      case 'ans': {
        const l = this.lookups.get(m.id);
        if (l === undefined) return;
        this.lookups.delete(m.id);
        l.timer.cancel();
        l.resolve({ ok: true, responder: fromHex(m.responder), hops: m.hops });
      }
    }
  }

  private scheduleMaintenance(): void {
    this.maintTimer = this.ctx.clock.setTimer(this.o.maintenanceIntervalMs * (0.5 + this.ctx.random.float()), () => {
      if (!this.alive) return;
      const l = this.dir.list;
      if (l.length > 1) {
        const p = l[this.ctx.random.u32() % l.length]!;
        if (p !== this) this.send(p.endpoint(), { t: 'ping', pad: 'x'.repeat(40) }, true);
      }
      this.scheduleMaintenance();
    });
  }

  private send(to: LinkEndpoint, m: Msg, maintenance: boolean): void {
    if (!this.alive) return;
    const k = key(to);
    let c = this.out.get(k);
    if (c === undefined) {
      const id = this.ctx.driver.connect(to);
      c = { id, open: false, queue: [] };
      this.out.set(k, c);
      this.outById.set(id, k);
    }
    if (c.open) this.write(c.id, m, maintenance);
    else c.queue.push(m);
  }

  private write(id: string, m: Msg, maintenance: boolean): void {
    const body = new TextEncoder().encode(JSON.stringify(m));
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    this.bytesSent += frame.length;
    if (maintenance) this.maintSent += frame.length;
    this.ctx.driver.write(id, frame);
  }

  private dropOut(id: string): void {
    const k = this.outById.get(id);
    if (k === undefined) return;
    this.outById.delete(id);
    this.out.delete(k);
  }

  private stop(): void {
    if (!this.alive) return;
    this.alive = false;
    this.maintTimer?.cancel();
    for (const l of this.lookups.values()) l.timer.cancel();
    this.lookups.clear();
    if (this.joined) {
      this.dir.ring.remove(this.hex);
      this.dir.peers.delete(this.hex);
      const i = this.dir.list.indexOf(this);
      if (i >= 0) this.dir.list.splice(i, 1);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
