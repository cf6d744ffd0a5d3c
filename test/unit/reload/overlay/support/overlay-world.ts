/** A world of OverlayNodes over MemoryLinks on one ManualClock, for routing and topology tests. */
import { ManualClock } from '../../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../../src/lib/random.js';
import { MessageCode, encodePingReq } from '../../../../../src/reload/codec/index.js';
import { OverlayNode } from '../../../../../src/reload/overlay/overlay-node.js';
import type { OverlayIce, OverlayOptions, OverlaySecurity } from '../../../../../src/reload/overlay/overlay-types.js';
import { UnsignedSecurity } from '../../../../../src/reload/overlay/unsigned-security.js';
import { MemoryLinkNet, type MemoryLinks } from './memory-links.js';

export interface WorldNode {
  node: OverlayNode;
  links: MemoryLinks;
  host: string;
}

export class OverlayWorld {
  readonly clock = new ManualClock(1_000_000);
  readonly random: SeededRandom;
  readonly net: MemoryLinkNet;
  readonly nodes: WorldNode[] = [];

  constructor(
    seed = 1,
    readonly options: Partial<OverlayOptions> = {},
    latencyMs = 10,
  ) {
    this.random = new SeededRandom(seed);
    this.net = new MemoryLinkNet(this.clock, latencyMs);
  }

  /** Advances virtual time in small steps, letting promise continuations run between steps. */
  async run(ms: number, step = 5): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(step, end - this.clock.now()));
      await flush();
    }
  }

  /** Adds a node and starts it (bootstrap: the first node, unless it is the first). */
  async add(opts: Partial<OverlayOptions> = {}, idBytes?: Uint8Array, security: OverlaySecurity = new UnsignedSecurity(), iceFor?: (links: MemoryLinks) => OverlayIce): Promise<WorldNode> {
    const i = this.nodes.length;
    const host = `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const id = idBytes ?? this.random.bytes(16);
    const links = this.net.create(id, host);
    const node = new OverlayNode({ clock: this.clock, random: new SeededRandom(this.random.u32()), links, security, ...(iceFor === undefined ? {} : { ice: iceFor(links) }) }, id, { overlayName: 'test.overlay', ...this.options, ...opts });
    const w = { node, links, host };
    this.nodes.push(w);
    const boot = this.live().filter((n) => n !== w && !n.node.options.client).slice(0, 1).map((n) => n.node.endpoint()).filter((e) => e !== undefined);
    let done = false;
    let failed: unknown;
    node.start({ host, port: 6084 }, boot).then(
      () => (done = true),
      (e: unknown) => {
        failed = e;
        done = true;
      },
    );
    for (let t = 0; t < 60_000 && !done; t += 5) {
      this.clock.advance(5);
      await flush();
    }
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error(String(failed));
    if (!done) throw new Error(`node ${i} did not join within 60 s`);
    return w;
  }

  live(): WorldNode[] {
    return this.nodes.filter((n) => !n.links.crashed && n.node.state === 'joined');
  }

  /** The oracle: the joined peer responsible for k (first Node-ID clockwise from k). */
  responsible(k: bigint): WorldNode | undefined {
    const peers = this.live().filter((n) => !n.node.options.client);
    let best: WorldNode | undefined;
    let bestD: bigint | undefined;
    for (const p of peers) {
      const d = p.node.ring.distance(k, p.node.id);
      if (bestD === undefined || d < bestD) {
        bestD = d;
        best = p;
      }
    }
    return best;
  }

  /** Sends a Ping to Resource-ID k from `from`; resolves with the answer. */
  async lookup(from: WorldNode, k: bigint): Promise<{ ok: boolean; responder: bigint | undefined; hops: number }> {
    let result: { ok: boolean; responder: bigint | undefined; hops: number } | undefined;
    void from.node.requestResource(from.node.ring.toBytes(k), MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) })).then((a) => {
      result = { ok: a.ok, responder: a.responder === undefined ? undefined : from.node.ring.fromBytes(a.responder), hops: a.hops };
    });
    for (let t = 0; t < 30_000 && result === undefined; t += 5) {
      this.clock.advance(5);
      await flush();
    }
    return result ?? { ok: false, responder: undefined, hops: 0 };
  }
}

export function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
