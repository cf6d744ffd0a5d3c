import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode } from '../../../../src/reload/codec/index.js';
import type { WorldNode } from './support/overlay-world.js';
import { OverlayWorld, flush } from './support/overlay-world.js';

// A Fetch handler that answers with an empty body: enough for routing (the body is not decoded here)
function serveFetch(n: WorldNode): void {
  n.node.handle(MessageCode.fetch_req, () => ({ code: MessageCode.fetch_ans, body: new Uint8Array(0) }));
}

async function fetchFrom(w: OverlayWorld, from: WorldNode, k: bigint): Promise<{ ok: boolean; responder: bigint | undefined; hops: number }> {
  let result: { ok: boolean; responder: bigint | undefined; hops: number } | undefined;
  void from.node.requestResource(from.node.ring.toBytes(k), MessageCode.fetch_req, new Uint8Array(0)).then((a) => {
    result = { ok: a.ok, responder: a.responder === undefined ? undefined : from.node.ring.fromBytes(a.responder), hops: a.hops };
  });
  for (let t = 0; t < 30_000 && result === undefined; t += 5) {
    w.clock.advance(5);
    await flush();
  }
  return result ?? { ok: false, responder: undefined, hops: 0 };
}

describe('overlay: a Fetch goes straight to an owner that answered before (route cache)', () => {
  test('the second Fetch of a Resource-ID takes one hop when the owner is linked; other requests keep the ring path', async () => {
    const w = new OverlayWorld(31);
    for (let i = 0; i < 24; i++) serveFetch(await w.add());
    await w.run(5000);
    let shortcuts = 0;
    let tried = 0;
    for (let i = 0; i < 200 && tried < 40; i++) {
      const from = w.live()[i % 24]!;
      const k = w.random.bytes(16).reduce((a, b) => (a << 8n) | BigInt(b), 0n);
      const first = await fetchFrom(w, from, k);
      assert.equal(first.ok, true);
      const owner = w.responsible(k)!.node.id;
      assert.equal(first.responder, owner);
      if (first.hops < 2 || from.node.conns.usable(owner)?.routable !== true) continue;
      tried++;
      assert.equal(from.node.owners.ownerOf(k), owner, 'learned from the answer');
      const again = await fetchFrom(w, from, k);
      assert.equal(again.ok, true);
      assert.equal(again.responder, owner);
      assert.equal(again.hops, 1, 'one hop the second time');
      shortcuts++;
      const ping = await w.lookup(from, k);
      assert.equal(ping.responder, owner);
      assert.ok(ping.hops >= 2, 'a Ping (not a Fetch) keeps the ring path');
    }
    assert.ok(shortcuts >= 5, `shortcuts ${shortcuts}`);
  });
});
