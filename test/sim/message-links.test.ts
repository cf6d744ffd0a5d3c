/**
 * SimNetworkOptions.links 'message' against 'stream' on one scripted exchange: the same events at
 * the same virtual times with the same bytes, in fewer clock callbacks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import type { SimLinkMode } from '../../src/sim/sim-network-options.js';
import { recordEvents } from './support/recording-user.js';
import { simPair } from './support/sim-pair.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function script(links: SimLinkMode, jitter: boolean) {
  const { clock, net, a, b, da, db, ra, rb, ep } = await simPair({ links, seed: 4, ...(jitter ? { jitter: { kind: 'uniform', minMs: 0, maxMs: 3 } } : {}) });
  const id = da.connect(ep);
  clock.advance(100);
  const sid = rb.events.find((e) => e.kind === 'opened')!.kind === 'opened' ? (rb.events[0] as { link: { id: string } }).link.id : '';
  da.write(id, enc('req-1'));
  da.write(id, enc('req-2'));
  clock.advance(5);
  da.write(id, enc('req-3'));
  clock.advance(20);
  // two writes at one instant (as a link layer writes an ACK and then the answer): one callback on message links
  db.write(sid, enc('ack-1'));
  db.write(sid, enc('ans-1'));
  clock.advance(2);
  db.write(sid, enc('ack-2'));
  clock.advance(50);
  net.partition([[a], [b]]);
  da.write(id, enc('during-split'));
  clock.advance(100);
  net.heal();
  clock.advance(100);
  da.close(id);
  clock.advance(100);
  const strip = (e: (typeof ra.events)[number]) => (e.kind === 'data' ? [e.t, e.kind, e.id, Buffer.from(e.data).toString()] : [e.t, e.kind]);
  return { a: ra.events.map(strip), b: rb.events.map(strip), fired: clock.firedCount, inSync: ra.inSync() && rb.inSync() };
}

describe('simulated message links', () => {
  test('a write is not copied on message links (the link layer never reuses a buffer it wrote); streams copy', async () => {
    for (const links of ['stream', 'message'] as const) {
      const clock = new ManualClock();
      const net = new SimNetwork(clock, { pairLatency: { kind: 'constant', ms: 10 }, links });
      const da = net.driverFor(net.addHost());
      const b = net.addHost();
      const db = net.driverFor(b);
      const rb = recordEvents(db, clock);
      recordEvents(da, clock);
      const ep = await db.listen(b, 6084);
      const id = da.connect(ep);
      clock.advance(100);
      const buf = enc('abc');
      da.write(id, buf);
      buf.fill(0x21);
      clock.advance(100);
      assert.equal(rb.text((rb.events[0] as { link: { id: string } }).link.id), links === 'stream' ? 'abc' : '!!!');
    }
  });

  for (const jitter of [false, true]) {
    test(`same events, times and bytes as stream links, fewer callbacks${jitter ? ' (with jitter)' : ''}`, async () => {
      const s = await script('stream', jitter);
      const m = await script('message', jitter);
      assert.ok(s.inSync && m.inSync, 'no event from inside a driver method');
      assert.deepEqual(m.a, s.a);
      assert.deepEqual(m.b, s.b);
      const texts = s.b.filter((e) => e[1] === 'data').map((e) => e[3]);
      assert.deepEqual(texts, ['req-1', 'req-2', 'req-3', 'during-split']);
      assert.deepEqual(s.a.filter((e) => e[1] === 'data').map((e) => e[3]), ['ack-1', 'ans-1', 'ack-2']);
      if (!jitter) assert.ok(m.fired < s.fired, `callbacks: stream ${s.fired}, message ${m.fired}`);
    });
  }
});
