/**
 * RFC 6940 §6.5.1.2: two peers that Attach to each other at the same moment make one connection. The
 * peer with the larger Node-ID answers the other's Attach with Error_In_Progress while its own waits;
 * the smaller cancels its own Attach and answers. Both end up linked by the one link the larger peer's
 * Attach opened. In-memory overlay (OverlayWorld, ManualClock) with a stand-in for the ICE links: the
 * controlling side of an Attach opens a memory link to the passive candidate, so each link opened is
 * one ICE negotiation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttachReqAns } from '../../../../src/reload/codec/index.js';
import { connectableEndpoint } from '../../../../src/reload/overlay/candidates.js';
import type { IceAttachParams, OverlayIce } from '../../../../src/reload/overlay/overlay-types.js';
import type { MemoryLinks } from './support/memory-links.js';
import { OverlayWorld, type WorldNode } from './support/overlay-world.js';

class StandInIce implements OverlayIce {
  private n = 0;
  /** ICE negotiations this node controlled (links it opened for its own Attaches). */
  readonly controlled: string[] = [];
  released = 0;
  constructor(private readonly links: MemoryLinks) {}
  prepare(): IceAttachParams {
    return { ufrag: `u${++this.n}`, password: 'p'.repeat(22), candidates: [] };
  }
  release(): void {
    this.released++;
  }
  accepts(): boolean {
    return true;
  }
  start(_local: IceAttachParams, remote: AttachReqAns, controlling: boolean, expected: Uint8Array | undefined): string | Error {
    if (!controlling) return `answered-${++this.n}`;
    const ep = connectableEndpoint(remote.candidates);
    if (ep === undefined) return new Error('no candidate');
    this.controlled.push(Buffer.from(expected ?? []).toString('hex'));
    return this.links.connect(ep);
  }
}

describe('Attach tie-break (RFC 6940 §6.5.1.2) with ICE', () => {
  test('two peers Attach to each other at once: one link, the larger Node-ID\'s Attach goes on', async () => {
    const w = new OverlayWorld(11);
    const ices = new Map<WorldNode, StandInIce>();
    for (let i = 0; i < 30; i++) {
      let ice: StandInIce | undefined;
      const n = await w.add({}, undefined, undefined, (links) => (ice = new StandInIce(links)));
      ices.set(n, ice!);
    }
    await w.run(5_000);
    // two joined peers with no link between them
    const live = w.live();
    let pair: [WorldNode, WorldNode] | undefined;
    for (const x of live) for (const y of live) if (pair === undefined && x !== y && x.node.conns.usable(y.node.id) === undefined && y.node.conns.usable(x.node.id) === undefined) pair = [x, y];
    assert.ok(pair !== undefined, 'a pair of peers without a link');
    const [x, y] = pair;
    const [small, large] = x.node.id < y.node.id ? [x, y] : [y, x];
    const before = { small: ices.get(small)!.controlled.length, large: ices.get(large)!.controlled.length, glares: large.node.counters.attachGlares, cancelled: small.node.counters.attachesCancelled };
    let rs: bigint | undefined | 'pending' = 'pending';
    let rl: bigint | undefined | 'pending' = 'pending';
    void small.node.attach([{ type: 'node', nodeId: large.node.idBytes }]).then((r) => (rs = r));
    void large.node.attach([{ type: 'node', nodeId: small.node.idBytes }]).then((r) => (rl = r));
    for (let t = 0; t < 15_000 && (rs === 'pending' || rl === 'pending'); t += 100) await w.run(100);
    assert.equal(rs, large.node.id, 'the smaller peer reached the larger');
    assert.equal(rl, small.node.id, 'the larger peer reached the smaller');
    assert.equal(large.node.counters.attachGlares - before.glares, 1, 'the larger answered Error_In_Progress');
    assert.equal(small.node.counters.attachesCancelled - before.cancelled, 1, 'the smaller cancelled its own Attach');
    assert.equal(ices.get(small)!.controlled.length - before.small, 0, 'the smaller opened no link');
    assert.equal(ices.get(large)!.controlled.length - before.large, 1, 'the larger opened one link');
    assert.ok(small.node.conns.usable(large.node.id) !== undefined && large.node.conns.usable(small.node.id) !== undefined);
    assert.ok(ices.get(small)!.released >= 1, 'the cancelled Attach\'s ICE session was given back');
  });
});
