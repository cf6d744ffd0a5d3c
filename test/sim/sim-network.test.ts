import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import type { SimNetworkOptions } from '../../src/sim/sim-network-options.js';
import type { RecordedEvent } from './support/recording-user.js';
import { simPair } from './support/sim-pair.js';

function serverId(events: RecordedEvent[]): string {
  const e = events[0];
  return e !== undefined && e.kind === 'opened' ? e.link.id : '';
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const pair = (options: Partial<SimNetworkOptions> = {}): ReturnType<typeof simPair> => simPair(options);

describe('SimNetwork stream links', () => {
  test('open after two RTTs (client) and half an RTT later (server); data in order right after', async () => {
    const { clock, da, ra, rb, ep, a, b } = await pair();
    const id = da.connect(ep);
    assert.equal(ra.events.length, 0, 'nothing synchronous');
    clock.advance(39.9);
    assert.equal(ra.events.length, 0);
    clock.advance(0.1);
    assert.deepEqual(ra.events.map((e) => [e.t, e.kind]), [[40, 'opened']]);
    const opened = ra.events[0]!;
    assert.ok(opened.kind === 'opened' && opened.link.id === id && opened.link.outbound && opened.link.remote.host === b && opened.link.local.host === a);
    da.write(id, enc('hello '));
    da.write(id, enc('world'));
    clock.advance(100);
    assert.deepEqual(rb.events.map((e) => [e.t, e.kind]), [[50, 'opened'], [50, 'data'], [50, 'data']]);
    const sid = serverId(rb.events);
    assert.notEqual(sid, id, 'ids are unique across the network');
    assert.equal(rb.text(sid), 'hello world');
    assert.ok(ra.inSync() && rb.inSync());
  });

  test('connect to a closed port fails after one RTT; to a host that does not exist after the connect timeout', async () => {
    const { clock, da, ra, b } = await pair({ connectTimeoutMs: 5000 });
    const refused = da.connect({ host: b, port: 9 });
    const nowhere = da.connect({ host: '10.9.9.9', port: 9 });
    clock.advance(10_000);
    assert.deepEqual(ra.events.map((e) => (e.kind === 'failed' ? [e.t, e.id, e.code] : e.kind)), [
      [20, refused, 'ECONNREFUSED'],
      [5000, nowhere, 'ETIMEDOUT'],
    ]);
  });

  test('graceful close: pending data flushed, then closed on both ends; nothing after shutdown', async () => {
    const { clock, da, db, ra, rb, ep } = await pair();
    const id = da.connect(ep);
    clock.advance(40);
    da.write(id, enc('bye'));
    da.close(id);
    da.write(id, enc('ignored'));
    clock.advance(100);
    const sid = serverId(rb.events);
    assert.equal(rb.text(sid), 'bye');
    assert.deepEqual(rb.events.at(-1), { t: 50, kind: 'closed', id: sid, code: undefined });
    assert.deepEqual(ra.events.at(-1), { t: 40, kind: 'closed', id, code: undefined });
    // Shutdown: remotes see a clean close, the driver itself reports nothing more.
    const id2 = da.connect(ep);
    clock.advance(50);
    const before = rb.events.length;
    await db.shutdown();
    const after = ra.events.length;
    clock.advance(100);
    assert.equal(rb.events.length, before, 'nothing after shutdown');
    assert.deepEqual(ra.events.slice(after).map((e) => [e.kind, e.kind === 'closed' ? e.code : '']), [['closed', undefined]]);
    assert.equal((ra.events.at(-1) as { id: string }).id, id2);
    const refused = da.connect(ep);
    clock.advance(100);
    assert.deepEqual(ra.events.at(-1), { t: clock.now() - 100 + 20, kind: 'failed', id: refused, code: 'ECONNREFUSED' });
  });

  test('jitter never reorders a stream; loss becomes delay (RTO) and retransmitted packets are counted', async () => {
    const { clock, net, da, ra, rb, ep, a } = await pair({
      jitter: { kind: 'uniform', minMs: 0, maxMs: 50 },
      conditions: { loss: 0.2, duplicate: 0.1, reorder: 0.2 },
      seed: 7,
    });
    const id = da.connect(ep);
    clock.advance(100);
    assert.equal(ra.events[0]!.kind, 'opened');
    let expected = '';
    const sent: number[] = [];
    for (let i = 0; i < 500; i++) {
      const s = `<${i}>`;
      expected += s;
      sent.push(clock.now());
      da.write(id, enc(s));
      clock.advance(1);
    }
    clock.advance(60_000);
    const sid = serverId(rb.events);
    assert.equal(rb.text(sid), expected);
    const data = rb.events.filter((e) => e.kind === 'data');
    const delays = data.map((e, i) => e.t - sent[i]!);
    assert.ok(Math.max(...delays) >= 2 * 10 + 200, 'some write waited at least one RTO');
    assert.ok(delays.every((d) => d >= 10));
    const c = net.counters(a);
    assert.ok(c.packetsSent > 500 * 1.15, `retransmissions counted: ${c.packetsSent}`);
    assert.equal(net.counters(net.oneWayLatency(a, a) > 0 ? ep.host : a).bytesReceived, expected.length);
    assert.ok(net.stats().duplicatesDropped > 20);
  });

  test('partition: a link stalls and resumes on heal; a longer partition breaks the sending end; connects across time out', async () => {
    const { clock, net, da, db, ra, rb, ep, a, b } = await pair({ stallTimeoutMs: 1000, connectTimeoutMs: 3000 });
    const id = da.connect(ep);
    clock.advance(50);
    const sid = serverId(rb.events);
    net.partition([[a], [b]]);
    da.write(id, enc('x'));
    clock.advance(500);
    assert.equal(rb.text(sid), '');
    net.heal();
    clock.advance(9.9);
    assert.equal(rb.text(sid), '');
    clock.advance(0.1);
    assert.equal(rb.text(sid), 'x', 'delivered one one-way latency after the heal');
    net.partition([[a]]); // b is in the implicit rest group
    db.write(sid, enc('y'));
    const t = clock.now();
    clock.advance(2000);
    assert.deepEqual(rb.events.at(-1), { t: t + 10 + 1000, kind: 'closed', id: sid, code: 'ETIMEDOUT' });
    assert.ok(!ra.events.some((e) => e.kind === 'closed'), 'the silent end learns nothing');
    const across = da.connect(ep);
    clock.advance(5000);
    assert.deepEqual(ra.events.at(-1), { t: t + 2000 + 3000, kind: 'failed', id: across, code: 'ETIMEDOUT' });
    // After the heal, a write of the old end reaches a closed end: reset after one RTT.
    net.heal();
    da.write(id, enc('z'));
    const t2 = clock.now();
    clock.advance(100);
    assert.deepEqual(ra.events.at(-1), { t: t2 + 20, kind: 'closed', id, code: 'ECONNRESET' });
  });

  test('crash, silent: the survivor learns by a stall timeout when it writes; reset: at once, and connects are refused', async () => {
    for (const mode of ['silent', 'reset'] as const) {
      const { clock, net, da, ra, rb, ep, b } = await pair({ stallTimeoutMs: 1000, connectTimeoutMs: 3000 });
      const id = da.connect(ep);
      clock.advance(50);
      const nb = rb.events.length;
      net.crashHost(b, mode);
      clock.advance(100);
      if (mode === 'silent') {
        assert.equal(ra.events.length, 1, 'nothing yet');
        da.write(id, enc('anyone?'));
        const t = clock.now();
        clock.advance(2000);
        assert.deepEqual(ra.events.at(-1), { t: t + 10 + 1000, kind: 'closed', id, code: 'ETIMEDOUT' });
      } else {
        assert.deepEqual(ra.events.at(-1), { t: 60, kind: 'closed', id, code: 'ECONNRESET' });
      }
      const again = da.connect(ep);
      const t = clock.now();
      clock.advance(5000);
      assert.deepEqual(ra.events.at(-1), { t: t + (mode === 'silent' ? 3000 : 20), kind: 'failed', id: again, code: mode === 'silent' ? 'ETIMEDOUT' : 'ECONNREFUSED' });
      assert.equal(rb.events.length, nb, 'a crashed host reports nothing');
    }
  });

  test('close while connecting fails the connect; the server never sees it', async () => {
    const { clock, da, ra, rb, ep } = await pair();
    const id = da.connect(ep);
    da.close(id);
    clock.advance(100);
    assert.deepEqual(ra.events, [{ t: 0, kind: 'failed', id, code: 'ECONNABORTED' }]);
    assert.equal(rb.events.length, 0);
  });

  test('listen: port in use, foreign address, port 0', async () => {
    const { net, da, a, b } = await pair();
    await assert.rejects(net.driverFor(b).listen(b, 6084), { code: 'EADDRINUSE' });
    await assert.rejects(da.listen(b, 1), { code: 'EADDRNOTAVAIL' });
    const ep = await da.listen('0.0.0.0', 0);
    assert.equal(ep.host, a);
    assert.ok(ep.port >= 49152);
  });
});

describe('SimNetwork latency and datagrams', () => {
  test('the default pair latency is lognormal with a median of 40 ms, symmetric and stable', () => {
    const net = new SimNetwork(new ManualClock(), { seed: 3 });
    const hosts = Array.from({ length: 200 }, () => net.addHost());
    const v: number[] = [];
    for (let i = 0; i < hosts.length; i++) for (let j = i + 1; j < hosts.length; j += 7) v.push(net.oneWayLatency(hosts[i]!, hosts[j]!));
    v.sort((x, y) => x - y);
    const median = v[v.length >> 1]!;
    assert.ok(Math.abs(median - 40) < 3, `median ${median}`);
    const p95 = v[Math.floor(v.length * 0.95)]!;
    assert.ok(p95 > 75 && p95 < 110, `p95 ${p95}`);
    assert.equal(net.oneWayLatency(hosts[3]!, hosts[9]!), net.oneWayLatency(hosts[9]!, hosts[3]!));
  });

  test('datagrams: loss, duplication and reordering apply directly', () => {
    const clock = new ManualClock();
    const net = new SimNetwork(clock, { pairLatency: { kind: 'constant', ms: 10 }, conditions: { loss: 0.1, duplicate: 0.1, reorder: 0.2 }, seed: 11 });
    const a = net.addHost();
    const b = net.addHost();
    const got: number[] = [];
    const sock = net.bindDatagram(b, 5060, (d, from) => {
      assert.equal(from.host, a);
      got.push(d[0]! | (d[1]! << 8));
    });
    const tx = net.bindDatagram(a, 0, () => {});
    for (let i = 0; i < 2000; i++) {
      tx.send(sock.local, new Uint8Array([i & 0xff, i >> 8]));
      clock.advance(1);
    }
    clock.advance(100);
    const distinct = new Set(got);
    assert.ok(distinct.size > 2000 * 0.85 && distinct.size < 2000 * 0.95, `lost ~10 %: ${distinct.size}`);
    assert.ok(got.length - distinct.size > 100, 'duplicates delivered');
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if (got[i]! < got[i - 1]!) inversions++;
    assert.ok(inversions > 100, `reordered: ${inversions}`);
    const s = net.stats();
    assert.equal(s.datagramsSent, 2000);
    assert.equal(s.datagramsDelivered, got.length);
    // Partitioned and crashed hosts drop datagrams.
    net.partition([[a]]);
    tx.send(sock.local, new Uint8Array([1, 0]));
    clock.advance(100);
    assert.equal(net.stats().datagramsDelivered, got.length);
  });
});
