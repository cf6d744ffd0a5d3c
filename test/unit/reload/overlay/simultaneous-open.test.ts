import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { LinkEndpoint } from '../../../../src/reload/link/link-driver.js';
import { keepsExistingLink } from '../../../../src/reload/overlay/connection-table.js';
import type { Connection } from '../../../../src/reload/overlay/connection-table.js';
import { OverlayNode, SIMULTANEOUS_OPEN_MS } from '../../../../src/reload/overlay/overlay-node.js';
import type { LinkLayerUser } from '../../../../src/reload/link/link-layer.js';
import type { OverlayLinks } from '../../../../src/reload/overlay/overlay-types.js';
import { UnsignedSecurity } from '../../../../src/reload/overlay/unsigned-security.js';

/** Links driven by hand: the test says which link comes up when; closes are recorded. */
class HandLinks implements OverlayLinks {
  readonly closed: string[] = [];
  setUser(_user: LinkLayerUser): void {}
  listen(host: string, port: number): Promise<LinkEndpoint> {
    return Promise.resolve({ host, port });
  }
  connect(_remote: LinkEndpoint): string {
    return 'unused';
  }
  send(): boolean {
    return true;
  }
  close(linkId: string): void {
    this.closed.push(linkId);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const SMALL = 0x1000n;
const LARGE = 0x9000n;
const idBytes = (x: bigint): Uint8Array => {
  const b = new Uint8Array(16);
  for (let i = 15, v = x; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  return b;
};

function end(id: bigint, clock: ManualClock): { node: OverlayNode; links: HandLinks } {
  const links = new HandLinks();
  const node = new OverlayNode({ clock, random: new SeededRandom(Number(id)), links, security: new UnsignedSecurity() }, idBytes(id), { overlayName: 'test.overlay' });
  return { node, links };
}

const up = (n: OverlayNode, id: string, outbound: boolean, peer: bigint): void => n.connections.onLinkUp({ id, remote: { host: '10.0.0.1', port: 6084 }, local: { host: '10.0.0.2', port: 6084 }, outbound, peerCertificate: idBytes(peer) });

describe('simultaneous open: two nodes that Attach to each other keep the same one of the two links', () => {
  // link "a" is opened by SMALL, link "b" by LARGE; each end sees them come up in either order
  for (const smallFirst of ['a', 'b'])
    for (const largeFirst of ['a', 'b'])
      test(`SMALL sees ${smallFirst} first, LARGE sees ${largeFirst} first`, () => {
        const clock = new ManualClock(1000);
        const s = end(SMALL, clock);
        const l = end(LARGE, clock);
        const order = (first: string): string[] => (first === 'a' ? ['a', 'b'] : ['b', 'a']);
        for (const x of order(smallFirst)) {
          up(s.node, `s-${x}`, x === 'a', LARGE);
          clock.advance(3);
        }
        for (const x of order(largeFirst)) {
          up(l.node, `l-${x}`, x === 'b', SMALL);
          clock.advance(3);
        }
        // both ends keep link a (opened by the smaller Node-ID) and close b
        assert.equal(s.node.conns.forNode(LARGE)?.linkId, 's-a');
        assert.equal(l.node.conns.forNode(SMALL)?.linkId, 'l-a');
        assert.deepEqual(s.links.closed, ['s-b']);
        assert.deepEqual(l.links.closed, ['l-b']);
        assert.equal(s.node.conns.size, 1);
        assert.equal(l.node.conns.size, 1);
      });

  test('outside the window, or from the same end, the newer link replaces the older one (a reconnection)', () => {
    const clock = new ManualClock(1000);
    const s = end(SMALL, clock);
    up(s.node, 'old', true, LARGE);
    clock.advance(SIMULTANEOUS_OPEN_MS);
    up(s.node, 'new', false, LARGE);
    assert.equal(s.node.conns.forNode(LARGE)?.linkId, 'new');
    assert.deepEqual(s.links.closed, ['old']);
    up(s.node, 'newer', false, LARGE);
    assert.equal(s.node.conns.forNode(LARGE)?.linkId, 'newer', 'same direction: newer wins at once');
    assert.deepEqual(s.links.closed, ['old', 'new']);
  });

  test('keepsExistingLink decides from the Node-IDs, the directions and the age of the existing link', () => {
    const c = (outbound: boolean, upAt: number): Connection => ({ linkId: 'x', remote: { host: '10.0.0.1', port: 1 }, outbound, nodeId: LARGE, routable: true, suspect: false, lastUsed: upAt, upAt });
    assert.equal(keepsExistingLink(c(true, 0), false, SMALL, LARGE, 10, 100), true);
    assert.equal(keepsExistingLink(c(false, 0), true, SMALL, LARGE, 10, 100), false);
    assert.equal(keepsExistingLink(c(false, 0), true, LARGE, SMALL, 10, 100), true);
    assert.equal(keepsExistingLink(c(true, 0), false, LARGE, SMALL, 10, 100), false);
    assert.equal(keepsExistingLink(c(true, 0), true, SMALL, LARGE, 10, 100), false);
    assert.equal(keepsExistingLink(c(true, 0), false, SMALL, LARGE, 100, 100), false);
    assert.equal(keepsExistingLink({ ...c(true, 0), suspect: true }, false, SMALL, LARGE, 10, 100), false);
  });
});
